"""Every session the tooling opens is bounded and named; the retry settings are checked."""

from __future__ import annotations

import psycopg
import pytest
from psycopg2 import errors

from scripts.core import config
from scripts.core.database_url import parse
from scripts.core.errors import InvalidSetting
from scripts.database.preflight import connect
from scripts.database.session_settings import open_session
from testing.database import Database


def test_a_tooling_session_carries_the_lock_and_statement_timeouts_and_the_runs_name(database: Database) -> None:
    session = connect(parse(database.url_string()), bounds={"lock_timeout": "2s", "statement_timeout": "15min"})
    try:
        with session.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
            assert cursor.fetchone() == ("2s", "15min")
            cursor.execute("SELECT current_setting('application_name')")
            assert cursor.fetchone()[0].startswith("migrate:tooling:")
    finally:
        session.close()


def test_a_tooling_query_behind_an_access_exclusive_lock_gives_way_instead_of_hanging(database: Database) -> None:
    database.query("CREATE TABLE held (id int PRIMARY KEY)")
    with psycopg.connect(database.url_string(drivername="postgresql")) as holder:
        holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        session = open_session(
            database.url_string(drivername="postgresql"), connect_timeout=5, bounds={"lock_timeout": "200ms"}
        )
        try:
            with session.cursor() as cursor, pytest.raises(errors.LockNotAvailable):
                # What the fast path reads: an index's definition needs a lock on its table.
                cursor.execute("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'held'::regclass")
        finally:
            session.close()
        holder.rollback()


@pytest.mark.parametrize("value", ["many", "-1", "1.5", "101"])
def test_a_wrong_number_of_lock_retries_is_refused(value: str) -> None:
    settings = config.settings({"DATABASE_URL": "postgresql://u:p@localhost/db", "DB_LOCK_RETRIES": value})
    with pytest.raises(InvalidSetting, match="DB_LOCK_RETRIES"):
        config.lock_retries(settings)


def test_the_lock_retries_default_to_a_short_lock_timeout_and_a_bounded_backoff() -> None:
    settings = config.settings({"DATABASE_URL": "postgresql://u:p@localhost/db", "ENV_FILE": "/dev/null"})
    assert config.migration_bounds(settings)["lock_timeout"] == "50ms"
    assert config.lock_retries(settings) == {"retries": "20", "first_wait": "0.5", "max_wait": "2"}
