"""One DATABASE_URL, every form people paste, for both tools."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.database_url import InvalidDatabaseUrl, for_libpq, for_sqlalchemy
from conftest import Database

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
def test_every_form_is_normalised_to_psycopg2_for_sqlalchemy(form: str) -> None:
    url = for_sqlalchemy(form.format(user="u", password="p%40ss", host="h", port=5432, db="d"))

    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port, url.database) == ("u", "p@ss", "h", 5432, "d")


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_given_to_node_and_libpq_as_postgresql(form: str) -> None:
    libpq = for_libpq(for_sqlalchemy(form.format(user="u", password="p%40ss", host="h", port=5432, db="d")))

    assert libpq.startswith("postgresql://u:p%40ss@")


def test_an_error_never_contains_the_password() -> None:
    with pytest.raises(InvalidDatabaseUrl) as error:
        for_sqlalchemy("postgresql://u:hunter2@h:99999999/d")

    assert "hunter2" not in str(error.value)


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
    assert {"public.user", "api.note"} <= database.tables()
    assert database.query("SELECT tableowner FROM pg_tables WHERE tablename = 'note'") == [(user,)]
    assert password not in result.output and quote(password, safe="") not in result.output
