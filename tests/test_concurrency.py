"""One migration run at a time: concurrent runs, a held lock, bounded waits on live tables."""

from __future__ import annotations

import time

import psycopg
import pytest

from conftest import Clone, add_backend_table, alembic_head, append_drizzle_migration, concurrent_make, drizzle_tags
from scripts.database.lock import LOCK_KEY
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, FRONTEND_BOOKKEEPING

# Only in `make test-all`: concurrent make migrate runs and held locks.
pytestmark = pytest.mark.full

RUNS = 32


def test_thirty_two_concurrent_migrate_runs_apply_every_migration_exactly_once(
    database: Database, reference: Database
) -> None:
    started = time.monotonic()
    runs = concurrent_make("migrate", RUNS, DATABASE_URL=database.url_string())
    print(f"{RUNS} concurrent make migrate on an empty database: {time.monotonic() - started:.1f} s")
    outputs = [output for _, output in runs]

    assert [code for code, _ in runs] == [0] * RUNS, "\n\n".join(outputs)
    assert database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}") == [(len(drizzle_tags()),)]
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == (
        [(alembic_head(),)] if alembic_head() else []
    )
    assert reference.make("migrate").code == 0
    assert database.schema_dump().replace(database.name, "DB") == reference.schema_dump().replace(reference.name, "DB")


def test_runs_that_waited_for_the_lock_find_nothing_left_and_run_no_tool(database: Database) -> None:
    runs = concurrent_make("migrate", 4, DATABASE_URL=database.url_string())
    outputs = [output for _, output in runs]

    assert [code for code, _ in runs] == [0] * 4, "\n\n".join(outputs)
    ran_the_tools = [output for output in outputs if "→ nextjs: " in output or "→ backend: " in output]
    assert len(ran_the_tools) == 1, "\n\n".join(outputs)
    waited = [output for output in outputs if "another migration is running" in output]
    assert waited, "\n\n".join(outputs)
    # One run checks in full what the one that applied left (frontend tables need drizzle-kit pull),
    # and records it; every run after that answers from the record.
    checked_in_full = [output for output in waited if "the run before this one left nothing to do" not in output]
    assert len(checked_in_full) <= 1, "\n\n".join(checked_in_full)


def test_a_run_that_cannot_get_the_lock_in_time_fails_naming_the_holder(database: Database) -> None:
    with psycopg.connect(database.url_string(drivername="postgresql"), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        holder_pid = holder.info.backend_pid

        result = database.make("migrate", MIGRATE_LOCK_TIMEOUT="1")

    assert "Error 21" in result.output
    assert "another migration still holds the lock after 1 s" in result.output
    assert f"pid {holder_pid}" in result.output
    assert database.tables() == set()


def test_the_lock_is_released_when_a_run_ends(migrated: Database) -> None:
    with psycopg.connect(migrated.url_string(drivername="postgresql"), autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone() == (True,)


# The bounds are SET in each tool's session, whatever startup options the URL has: both kinds of URL are tried.
URL_QUERIES = pytest.mark.parametrize(
    "query", ["", "?options=-c%20timezone%3DUTC"], ids=["plain-url", "url-with-its-own-options"]
)


@URL_QUERIES
def test_an_alembic_migration_waiting_behind_live_traffic_fails_on_the_lock_timeout(
    clone: Clone, database: Database, query: str
) -> None:
    url = database.url_string() + query
    table = add_backend_table(clone)  # a new backend table with a foreign key to "user"
    assert clone.make("migrate-frontend", DATABASE_URL=url, ENV_FILE="/dev/null").code == 0
    with psycopg.connect(database.url_string(drivername="postgresql")) as live_traffic:
        # An open write transaction on "user": the backend's foreign key to it must wait.
        live_traffic.execute('LOCK TABLE "user" IN ROW EXCLUSIVE MODE')

        result = clone.make("migrate-backend", DATABASE_URL=url, ENV_FILE="/dev/null", DB_LOCK_TIMEOUT="1s")

        live_traffic.rollback()

    assert "Error 20" in result.output
    assert "canceling statement due to lock timeout" in result.output
    assert "DB_LOCK_TIMEOUT" in result.output
    assert table not in database.tables()


@URL_QUERIES
def test_a_drizzle_migration_waiting_behind_live_traffic_fails_on_the_lock_timeout(
    clone: Clone, database: Database, query: str
) -> None:
    url = database.url_string() + query
    assert clone.make("migrate-frontend", DATABASE_URL=url).code == 0
    add_column = 'ALTER TABLE "user" ADD COLUMN "nickname" text;'
    append_drizzle_migration(clone, "user_nickname", add_column)
    with psycopg.connect(database.url_string(drivername="postgresql")) as live_traffic:
        live_traffic.execute('LOCK TABLE "user" IN ROW EXCLUSIVE MODE')

        result = clone.make("migrate-frontend", DATABASE_URL=url, DB_LOCK_TIMEOUT="1s")

        live_traffic.rollback()

    assert "Error 20" in result.output
    assert "canceling statement due to lock timeout" in result.output
    assert database.query("SELECT 1 FROM information_schema.columns WHERE column_name = 'nickname'") == []
