"""One DATABASE_URL, every form people paste, for both tools, read as libpq reads it."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg2.extensions import parse_dsn

from conftest import backend_tables, frontend_tables
from scripts.core.database_url import DatabaseUrl, InvalidDatabaseUrl, for_libpq, for_node, parse, redacted
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING

FORMS = [
    "postgresql://{user}:{password}@{host}:{port}/{db}",
    "postgres://{user}:{password}@{host}:{port}/{db}",
    "postgresql+psycopg2://{user}:{password}@{host}:{port}/{db}",
    "postgresql://{user}:{password}@{host}:{port}/{db}?sslmode=disable",
    "postgres://{user}:{password}@{host}:{port}/{db}?sslmode=disable&connect_timeout=5",
    # A space must reach libpq as %20: it reads "+" as a plus sign.
    "postgresql://{user}:{password}@{host}:{port}/{db}?options=-c%20timezone%3DUTC",
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_read_into_the_same_parts(form: str) -> None:
    url = parse(form.format(user="u", password="p%40ss", host="h", port=5432, db="d"))

    assert (url.username, url.password, url.host, url.port, url.database) == ("u", "p@ss", "h", 5432, "d")


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_given_to_node_and_libpq_as_postgresql(form: str) -> None:
    libpq = for_libpq(parse(form.format(user="u", password="p%40ss", host="h", port=5432, db="d")))

    assert libpq.startswith("postgresql://u:p%40ss@h:5432/d")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("just some words", "it is not a URL"),
        ("mysql://u:hunter2@h/d", "the scheme 'mysql' is not supported"),
        ("postgresql://u:hunter2@h:5432", "it names no database"),
        ("postgresql://u:hunter2@h:5432/", "it names no database"),
        ("postgresql://u:hunter2@/d", "it names no host"),
        ("postgresql://u:hunter2@h:99999999/d", "its port is not a number between 1 and 65535"),
        ("postgresql://u:hunter2@h:0/d", "its port is not a number between 1 and 65535"),
        ("postgresql://u:hunter2@h:port/d", "its port is not a number between 1 and 65535"),
        ("postgresql://u:hunter2@h/d?port=x", "its port is not a number between 1 and 65535"),
        ("postgresql://u:hun@ter2@h/d", "its host has characters no host name has"),
        ("postgresql://u:hunter2@h1,h2/d", "its host has characters no host name has"),
        ("postgresql://u:hunter2@h/d?schema=public", "'schema' is not a PostgreSQL connection parameter"),
        ("postgresql://u:hunter2@h/d?sslmode", "'sslmode' is not of the form NAME=VALUE"),
        ("postgresql://u:hunter2@h/d%00", "libpq cannot read it"),
        ("postgresql://u:hunter2%2@h/d", "percent-encode '%' itself as %25"),
        ("postgresql://u:hunter2%aa@h/d", "a percent-encoded part is not UTF-8 text"),
        ("postgresql://u:hunter2@[::1/d", "it cannot be parsed"),
    ],
)
def test_a_bad_url_is_refused_with_what_is_wrong_and_never_the_password(raw: str, message: str) -> None:
    with pytest.raises(InvalidDatabaseUrl) as error:
        parse(raw)

    assert message in str(error.value)
    assert "hunter2" not in str(error.value)


def test_a_password_with_a_query_like_part_is_never_quoted_as_a_parameter_name() -> None:
    # No '@' before the '/': libpq reads "s?x#1@h/d" as the database and a query, "x#1@h/d" a parameter.
    with pytest.raises(InvalidDatabaseUrl) as error:
        parse("postgresql://u@h/s?x#1@h/d")

    assert "x#1" not in str(error.value)


def test_a_space_reaches_libpq_as_percent_20_and_a_plus_as_a_plus() -> None:
    url = parse("postgresql://u:p%20w+x@h/d?options=-c%20lock_timeout%3D5s&application_name=a+b")

    assert url.password == "p w+x"
    assert dict(url.query) == {"options": "-c lock_timeout=5s", "application_name": "a+b"}
    assert for_libpq(url) == "postgresql://u:p%20w%2Bx@h/d?options=-c%20lock_timeout%3D5s&application_name=a%2Bb"


def test_node_gets_uselibpqcompat_only_when_sslmode_is_set() -> None:
    plain = parse("postgresql://u:p@h/d?connect_timeout=5")
    with_tls = parse("postgresql://u:p@h/d?sslmode=require")

    assert for_node(plain) == for_libpq(plain) == "postgresql://u:p@h/d?connect_timeout=5"
    assert for_node(with_tls) == "postgresql://u:p@h/d?sslmode=require&uselibpqcompat=true"
    assert "uselibpqcompat" not in for_libpq(with_tls)


def test_a_port_without_a_host_is_moved_to_the_query() -> None:
    url = parse("postgresql://u@:5433/d?host=/run/pg")

    assert (url.host, url.port, dict(url.query)) == (None, 5433, {"host": "/run/pg"})
    assert for_libpq(url) == "postgresql://u@/d?host=%2Frun%2Fpg&port=5433"


@pytest.mark.parametrize(
    ("raw", "host", "rendered"),
    [
        ("postgresql://u:p@[::1]:5432/d", "::1", "postgresql://u:p@[::1]:5432/d"),
        ("postgresql://u:p@[fe80::1%25eth0]:5432/d", "fe80::1%eth0", "postgresql://u:p@[fe80::1%25eth0]:5432/d"),
        (
            "postgresql://u@%2Fvar%2Frun%2Fpostgresql/d",
            "/var/run/postgresql",
            "postgresql://u@%2Fvar%2Frun%2Fpostgresql/d",
        ),
        ("postgresql://u@/d?host=/var/run/postgresql", None, "postgresql://u@/d?host=%2Fvar%2Frun%2Fpostgresql"),
    ],
)
def test_ipv6_hosts_and_socket_folders_are_kept(raw: str, host: str | None, rendered: str) -> None:
    url = parse(raw)

    assert url.host == host
    assert for_libpq(url) == rendered


def test_redacted_masks_the_password_in_its_place_and_in_the_query() -> None:
    url = parse("postgresql://u:hunter2@h:5/d?password=hunter3&sslpassword=hunter4&sslmode=require")

    shown = redacted(url)

    assert shown == "postgresql://u:***@h:5/d?password=***&sslpassword=***&sslmode=require"


def test_a_url_is_frozen_and_changed_only_into_a_copy() -> None:
    url = parse("postgresql://u:p@h/d?sslmode=require")

    other = url.set(database="postgres").update_query_dict({"options": "-c x=y"})

    assert (url.database, dict(url.query)) == ("d", {"sslmode": "require"})
    assert (other.database, dict(other.query)) == ("postgres", {"sslmode": "require", "options": "-c x=y"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        url.host = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        url.query["sslmode"] = "disable"  # type: ignore[index]
    assert isinstance(other, DatabaseUrl)


# Parts with every character a password or a name can have, '%' and '+' included.
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
QUERY = st.dictionaries(
    st.sampled_from(["sslmode", "options", "application_name", "connect_timeout", "password", "target_session_attrs"]),
    text,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["postgresql", "postgres", "postgresql+psycopg2", "PostgreSQL"]),
    user=text,
    password=text,
    host=st.sampled_from(["h", "127.0.0.1", "[::1]", "db.example.com"]),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    database=text,
    query=QUERY,
)
def test_what_the_tools_get_means_to_libpq_exactly_what_was_written(
    scheme: str, user: str, password: str, host: str, port: int | None, database: str, query: dict[str, str]
) -> None:
    written = "postgresql://{}:{}@{}{}/{}{}".format(
        quote(user, safe=""),
        quote(password, safe=""),
        host,
        f":{port}" if port else "",
        quote(database, safe=""),
        "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items()) if query else "",
    )

    url = parse(scheme + written.removeprefix("postgresql"))

    assert parse_dsn(for_libpq(url)) == parse_dsn(written)
    node_query = {**query, "uselibpqcompat": "true"} if "sslmode" in query else query
    assert for_node(url).endswith("&".join(f"{k}={quote(v, safe='')}" for k, v in node_query.items()))
    shown = redacted(url)
    assert ":***@" in shown and f":{quote(password, safe='')}@" not in shown
    assert all(value == "***" for value in re.findall(r"[?&]password=([^&]*)", shown))


@pytest.mark.full  # one make migrate per form
@pytest.mark.parametrize("form", FORMS)
def test_make_migrate_works_with_every_form_and_a_percent_encoded_password(
    database: Database, role: tuple[str, str], form: str
) -> None:
    user, password = role
    url = form.format(
        user=user, password=quote(password, safe=""), host="127.0.0.1", port=database.url.port, db=database.name
    )

    result = database.make("migrate", url=url)

    assert result.code == 0, result.output
    assert frontend_tables() | backend_tables() | {BACKEND_BOOKKEEPING} <= database.tables()
    owners = "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    assert database.query(owners) == [(user,)]
    assert password not in result.output and quote(password, safe="") not in result.output
