"""Pre-flight: each failure class has its exit code, one clear message, and never a password."""

from __future__ import annotations

import socket

import pytest

from conftest import Clone
from scripts.database.session_settings import requested_settings
from testing.browser import free_port
from testing.database import SERVER, Database, Result, run

SECRET = "s3cret-Pa55word"


def preflight(database_url: str | None, **env: str) -> Result:
    return run(["uv", "run", "--frozen", "python", "-m", "scripts", "preflight"], database_url=database_url, **env)


def assert_clean(result: Result) -> None:
    assert "Traceback" not in result.output
    assert SECRET not in result.output


def test_a_ready_database_passes(database: Database) -> None:
    result = preflight(database.url_string())

    assert result.code == 0, result.output
    assert "pre-flight" in result.output and "is ready" in result.output


def test_missing_database_url_exits_10_and_says_how_to_create_env() -> None:
    result = preflight(None)

    assert result.code == 10
    assert "DATABASE_URL is not set" in result.output
    assert "cp .env.example .env" in result.output


def test_a_missing_env_file_exits_10_and_names_it() -> None:
    result = preflight(None, ENV_FILE="no-such.env")

    assert result.code == 10
    assert "ENV_FILE=no-such.env does not exist" in result.output


@pytest.mark.parametrize(
    ("url", "named_part"),
    [
        (f"mysql://app:{SECRET}@127.0.0.1/app", "scheme 'mysql' is not supported"),
        (f"postgresql://app:{SECRET}@127.0.0.1:5432", "names no database"),
        (f"postgresql://app:{SECRET}@127.0.0.1:port/app", "port is not a number"),
        (f"postgresql://app:{SECRET}@/app", "names no host"),
        ("just some words", "not a URL"),
        (
            f"postgresql://app:{SECRET}@127.0.0.1:5432/app?schema=public",
            "'schema' is not a PostgreSQL connection parameter",
        ),
        (f"postgresql://app:{SECRET}@127.0.0.1:{SERVER.port}/app%00", "libpq cannot read it"),
    ],
)
def test_a_malformed_url_exits_11_and_names_the_bad_part(url: str, named_part: str) -> None:
    result = preflight(url)

    assert result.code == 11, result.output
    assert named_part in result.output
    assert_clean(result)


def test_nothing_listening_on_a_configured_local_url_exits_12_saying_whose_server_to_start() -> None:
    result = preflight(f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/app")

    assert result.code == 12
    assert "connection refused" in result.output
    assert "start the PostgreSQL server DATABASE_URL points to" in result.output
    assert "start the template's local database" not in result.output
    assert_clean(result)


def test_an_unknown_host_exits_12_naming_the_dns_failure() -> None:
    result = preflight(f"postgresql://app:{SECRET}@no-such-host.invalid:5432/app")

    assert result.code == 12
    assert "cannot resolve the database host 'no-such-host.invalid'" in result.output
    assert_clean(result)


def test_a_configured_database_that_is_down_is_never_started() -> None:
    port = free_port()

    result = preflight(f"postgresql://app:{SECRET}@127.0.0.1:{port}/app")

    assert result.code == 12
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_waiting_for_the_database_is_said_once_then_fails(database: Database) -> None:
    result = preflight(f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/app", DB_WAIT_SECONDS="1")

    assert result.code == 12
    assert result.output.count("waiting up to 1 s") == 1


def test_a_wrong_password_exits_13_and_is_not_shown(database: Database) -> None:
    result = preflight(database.url_string(password=SECRET))

    assert result.code == 13
    assert "refused the password of user 'postgres'" in result.output
    assert_clean(result)


def test_a_failure_of_the_direct_url_names_direct_database_url(database: Database) -> None:
    result = preflight(database.url_string(), DIRECT_DATABASE_URL=database.url_string(password=SECRET))

    assert result.code == 13
    assert "check the user name and password in DIRECT_DATABASE_URL" in result.output
    assert_clean(result)


@pytest.mark.full  # in a copy of the repository
def test_a_direct_url_alone_is_the_configuration_and_no_local_database_is_started(
    clone: Clone, database: Database
) -> None:
    # A fresh clone: no .env and no ENV_FILE, where nothing configured means .env.example's defaults.
    result = clone.run_script("preflight", DIRECT_DATABASE_URL=database.url_string())

    assert result.code == 0, result.output
    assert "No DATABASE_URL configured" not in result.output
    assert f"/{database.name} is ready" in result.output


def test_a_password_given_as_a_query_parameter_is_never_shown(database: Database) -> None:
    password = database.url.password
    in_query = database.url_string(password=None) + f"?password={password}"

    result = preflight(in_query)

    assert result.code == 0, result.output
    assert password not in result.output and "password=***" in result.output


def test_a_missing_database_exits_14_with_the_command_that_creates_it(database: Database) -> None:
    result = preflight(database.url_string(database="no_such_db"))

    assert result.code == 14
    assert "'no_such_db' does not exist" in result.output
    assert "createdb" in result.output and "no_such_db" in result.output


def test_a_role_that_may_not_create_tables_exits_15_with_the_grant(database: Database) -> None:
    database.query("DROP ROLE IF EXISTS reader")
    database.query(f"CREATE ROLE reader LOGIN PASSWORD '{SECRET}'")
    try:
        result = preflight(database.url_string(username="reader", password=SECRET))
    finally:
        database.query("DROP ROLE reader")

    assert result.code == 15
    assert 'the role "reader" may not create tables in the schema "public"' in result.output
    assert "GRANT CREATE ON SCHEMA public" in result.output
    assert_clean(result)


def test_make_reports_the_failure_class_in_its_error_line() -> None:
    result = run(["make", "migrate-backend"], database_url=f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/app")

    assert result.code != 0
    assert "Error 12" in result.output
    assert_clean(result)


def test_a_lock_timeout_the_server_refuses_exits_17_naming_the_variable(database: Database) -> None:
    result = preflight(database.url_string(), DB_LOCK_TIMEOUT="99999999999s")

    assert result.code == 17, result.output
    assert "DB_LOCK_TIMEOUT=99999999999s: the server refuses it" in result.output
    assert_clean(result)


def test_startup_options_that_reach_the_server_pass(database: Database) -> None:
    result = preflight(database.url_string() + "?options=-c%20lock_timeout%3D2s%20--search-path%3Dpublic")

    assert result.code == 0, result.output


def test_the_settings_an_options_string_asks_for_are_read_as_the_server_reads_them() -> None:
    options = r"-c lock_timeout=1s -cwork_mem=8MB --statement-timeout=5min -c search_path=a\ b -B 5"

    assert requested_settings(options) == {
        "lock_timeout": "1s",
        "work_mem": "8MB",
        "statement_timeout": "5min",
        "search_path": "a b",
    }
