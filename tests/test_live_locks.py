"""On a live database: a migration run behind a session that holds a table's lock ends bounded,
says which session holds it, gives way and retries, and stops at once on SIGTERM.

Each holder is a real session (its own application_name), holding a real lock: ACCESS EXCLUSIVE
(an ALTER, a LOCK in a console), or ACCESS SHARE left idle in a transaction (a reader that
forgot to commit). The runs are real `make migrate` runs on a copy of the repository.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from conftest import Clone, alembic_head, append_drizzle_migration, backend_tables, drizzle_tags
from scripts.database.lock import LOCK_KEY
from testing.database import Database
from testing.systems import SYSTEMS

# Copies of the repository and many make runs: the full tier (make test-all).
pytestmark = pytest.mark.full

HOLDER = "holder-app"
FRONTEND_TABLE = '"user"'  # Better Auth's, created by the frontend's first migration
# Short attempts and waits: a test of the retries, not of their defaults.
QUICK = {"DB_LOCK_TIMEOUT": "1s", "DB_LOCK_RETRIES": "2", "DB_LOCK_RETRY_MAX_WAIT": "1"}


def env_for(database: Database, **more: str) -> dict[str, str]:
    return {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null", **more}


def backend_table() -> str:
    """A table of the user's models (whichever comes first), which the clone's migrations create."""
    tables = sorted(backend_tables())
    if not tables:
        pytest.skip("the models declare no backend table")
    return tables[0]


@contextmanager
def holding(database: Database, statement: str) -> Iterator[int]:
    """A session of another application that ran ``statement`` in a transaction and sits idle in
    it (holding whatever lock the statement took) until the block ends; yields its pid."""
    connection = psycopg.connect(database.url_string(drivername="postgresql"), application_name=HOLDER)
    try:
        connection.execute(statement)
        yield connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    finally:
        connection.rollback()
        connection.close()


def released_after_waits(database: Database, statement: str, waiter: str) -> threading.Thread:
    """As :func:`holding`, in a thread: a holder that goes away by itself, a few seconds after a
    session named ``waiter`` (a LIKE pattern) started waiting for its lock."""
    started = threading.Event()

    def hold() -> None:
        with holding(database, statement):
            started.set()
            deadline = time.monotonic() + 300
            query = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s AND wait_event_type = 'Lock'"
            while database.query(query, waiter) == [(0,)] and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2.5)  # longer than DB_LOCK_TIMEOUT=1s: at least one attempt gives way

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(30)
    return thread


def versions(database: Database) -> tuple[list, list]:
    backend = database.query(
        f"SELECT version_num FROM {SYSTEMS['BACKEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['BACKEND_BOOKKEEPING_TABLE']}"
    )
    frontend = database.query(
        f"SELECT hash FROM {SYSTEMS['FRONTEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['FRONTEND_BOOKKEEPING_TABLE']}"
    )
    return sorted(backend), sorted(frontend)


def run_sessions(database: Database) -> list[tuple]:
    return database.query(
        "SELECT pid, application_name, state, query FROM pg_stat_activity "
        "WHERE application_name LIKE 'migrate:%%' AND datname = current_database()"
    )


def migrated_clone(clone: Clone, database: Database) -> None:
    result = clone.make("migrate", **env_for(database))
    assert result.code == 0, result.output


def add_locking_revision(clone: Clone, table: str) -> str:
    """A backend revision that needs ACCESS EXCLUSIVE on ``table`` (as an ALTER TABLE does) and
    changes nothing the models describe; its revision id."""
    revision = "10c4a0000001"
    clone.add_alembic_revision(
        revision, alembic_head(clone.root), f'    op.execute("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")'
    )
    return revision


def add_locking_frontend_migration(clone: Clone) -> str:
    return append_drizzle_migration(clone, "lock_user", f"LOCK TABLE {FRONTEND_TABLE} IN ACCESS EXCLUSIVE MODE;")


# ---- a no-op run -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE",  # an ALTER, VACUUM FULL or REINDEX in progress
        "SELECT count(*) FROM {table}",  # a reader idle in its transaction: ACCESS SHARE
    ],
    ids=["access-exclusive", "access-share-idle-in-transaction"],
)
def test_a_no_op_run_behind_a_held_lock_ends_bounded_and_names_the_holder(
    clone: Clone, database: Database, statement: str
) -> None:
    migrated_clone(clone, database)
    before = versions(database)
    table = backend_table()

    with holding(database, statement.format(table=table)) as pid:
        result = clone.make("migrate", **env_for(database, **QUICK))

    if "ACCESS EXCLUSIVE" in statement:
        # Its checks read the table's definition: they wait, give way, and fail naming the holder.
        assert result.code != 0, result.output
        assert f"for a lock on {table} held by pid {pid} ({HOLDER}, idle in transaction" in result.output
        assert "lock timeout" in result.output
    else:
        assert result.code == 0, result.output  # a reader does not stop a run with nothing to apply
    assert "Traceback" not in result.output
    assert versions(database) == before
    assert run_sessions(database) == []


# ---- a pending backend migration ---------------------------------------------------------------


def test_a_backend_migration_behind_a_lock_that_stays_fails_after_its_retries_naming_the_holder(
    clone: Clone, database: Database
) -> None:
    migrated_clone(clone, database)
    table = backend_table()
    revision = add_locking_revision(clone, table)
    before = versions(database)

    with holding(database, f"SELECT count(*) FROM {table}") as pid:
        result = clone.make("migrate", **env_for(database, **QUICK))

    assert result.code != 0, result.output
    assert "attempt 2 of 3" in result.output and "attempt 3 of 3" in result.output
    assert f"lock on {table} held by pid {pid} ({HOLDER}, idle in transaction" in result.output
    assert "retry when traffic is low" not in result.output
    assert "Traceback" not in result.output
    assert versions(database) == before  # the revision rolled back, each time
    assert revision not in str(versions(database))
    assert run_sessions(database) == []


def test_a_backend_migration_with_attempts_shorter_than_a_poll_still_names_the_holder_when_it_gives_up(
    clone: Clone, database: Database
) -> None:
    # 50 ms attempts (the shipped DB_LOCK_TIMEOUT): the watcher must look more often than every
    # 250 ms, or the two attempts come and go unseen and the failure names no one.
    migrated_clone(clone, database)
    table = backend_table()
    add_locking_revision(clone, table)
    before = versions(database)

    with holding(database, f"SELECT count(*) FROM {table}") as pid:
        result = clone.make(
            "migrate", **env_for(database, DB_LOCK_TIMEOUT="50ms", DB_LOCK_RETRIES="1", DB_LOCK_RETRY_MAX_WAIT="1")
        )

    assert result.code != 0, result.output
    assert "attempt 2 of 2" in result.output
    assert f"lock on {table} held by pid {pid} ({HOLDER}, idle in transaction" in result.output
    assert versions(database) == before
    assert run_sessions(database) == []


def test_with_the_shipped_lock_settings_a_migration_behind_a_lock_that_stays_gives_up_bounded_naming_the_holder(
    clone: Clone, database: Database
) -> None:
    migrated_clone(clone, database)
    table = backend_table()
    add_locking_revision(clone, table)
    before = versions(database)

    with holding(database, f"SELECT count(*) FROM {table}") as pid:
        result = clone.make("migrate", **env_for(database))  # no DB_LOCK_*: the shipped defaults

    # 21 attempts of 50 ms, at most 37.5 s of waits between them: then it gives up, naming the holder.
    assert result.code != 0, result.output
    assert "attempt 21 of 21" in result.output
    assert f"lock on {table} held by pid {pid} ({HOLDER}, idle in transaction" in result.output
    assert versions(database) == before


def test_a_backend_migration_behind_a_lock_that_goes_away_is_applied_on_a_later_attempt(
    clone: Clone, database: Database
) -> None:
    migrated_clone(clone, database)
    table = backend_table()
    revision = add_locking_revision(clone, table)

    holder = released_after_waits(database, f"SELECT count(*) FROM {table}", "migrate:backend:%")
    try:
        result = clone.make("migrate", **env_for(database, DB_LOCK_TIMEOUT="1s", DB_LOCK_RETRIES="8"))
    finally:
        holder.join()

    assert result.code == 0, result.output
    assert "attempt 2 of 9" in result.output
    assert (revision,) in versions(database)[0]


# ---- a pending frontend migration --------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [f"LOCK TABLE {FRONTEND_TABLE} IN ACCESS EXCLUSIVE MODE", f"SELECT count(*) FROM {FRONTEND_TABLE}"],
    ids=["access-exclusive", "access-share-idle-in-transaction"],
)
def test_a_frontend_migration_behind_a_lock_that_stays_fails_bounded_naming_the_holder(
    clone: Clone, database: Database, statement: str
) -> None:
    migrated_clone(clone, database)
    tag = add_locking_frontend_migration(clone)
    before = versions(database)

    with holding(database, statement) as pid:
        result = clone.make("migrate", **env_for(database, **QUICK))

    assert result.code != 0, result.output
    assert f"held by pid {pid} ({HOLDER}, idle in transaction" in result.output
    if "SELECT" in statement:  # the checks pass a reader by: the migration itself waits, and retries
        assert f"lock timeout on {SYSTEMS['FRONTEND_DIR']}/" in result.output
        assert f"{tag}.sql" in result.output and "attempt 3 of 3" in result.output
    assert "Traceback" not in result.output
    assert versions(database) == before
    assert run_sessions(database) == []


def test_a_frontend_migration_behind_a_lock_that_goes_away_is_applied_on_a_later_attempt(
    clone: Clone, database: Database
) -> None:
    migrated_clone(clone, database)
    tag = add_locking_frontend_migration(clone)

    holder = released_after_waits(database, f"SELECT count(*) FROM {FRONTEND_TABLE}", "migrate:frontend:%")
    try:
        result = clone.make("migrate", **env_for(database, DB_LOCK_TIMEOUT="1s", DB_LOCK_RETRIES="8"))
    finally:
        holder.join()

    assert result.code == 0, result.output
    assert "attempt 2 of 9" in result.output
    assert len(versions(database)[1]) == len(drizzle_tags(clone.root))
    assert f"✓ applied {SYSTEMS['FRONTEND_DIR']}/" in result.output and tag in result.output


# ---- SIGTERM ends the run at once --------------------------------------------------------------


def wait_for(database: Database, query: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while database.query(query) == [(0,)]:
        assert time.monotonic() < deadline, f"never true: {query}"
        time.sleep(0.1)


def terminated(clone: Clone, run: object) -> tuple[int, str]:
    os.killpg(run.pid, signal.SIGTERM)  # as `timeout`, a CI runner or a container stop sends it
    output, _ = run.communicate(timeout=60)
    return run.returncode, output


def migrate_script(clone: Clone, database: Database, **env: str) -> object:
    """`make migrate`'s own command (without make and uv, whose exit codes would hide its own)."""
    command = [sys.executable, "-m", "scripts", "migrate"]
    steps = [
        "--step",
        SYSTEMS["FRONTEND_DIR"],
        f"node {clone.root}/scripts/drizzle_migrate.mjs",
        "--step",
        SYSTEMS["BACKEND_DIR"],
        "alembic upgrade head",
    ]
    return clone.popen(command=[*command, *steps], **env_for(database, **env))


def test_sigterm_ends_a_run_waiting_for_a_table_lock_at_once_and_leaves_no_session(
    clone: Clone, database: Database
) -> None:
    migrated_clone(clone, database)
    table = backend_table()
    add_locking_revision(clone, table)

    with holding(database, f"SELECT count(*) FROM {table}"):
        run = migrate_script(clone, database, DB_LOCK_TIMEOUT="10min")  # a wait no retry would end soon
        wait_for(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate:backend:%%' "
            "AND wait_event_type = 'Lock'",
        )
        code, output = terminated(clone, run)
        sessions = run_sessions(database)

    assert code == 130, output
    assert "✗ interrupted" in output
    assert sessions == []  # the tool's statement did not outlive the run


def test_sigterm_ends_a_run_waiting_for_the_migration_lock_at_once(clone: Clone, database: Database) -> None:
    migrated_clone(clone, database)
    add_locking_revision(clone, backend_table())

    with holding(database, f"SELECT pg_advisory_lock({LOCK_KEY})"):
        run = migrate_script(clone, database)
        wait_for(database, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate:lock:%%'")
        time.sleep(1)  # in its wait
        code, output = terminated(clone, run)

    assert code == 130, output
    assert "another migration is running" in output
    assert run_sessions(database) == []


def test_sigterm_ends_a_tooling_query_behind_an_access_exclusive_lock_at_once(clone: Clone, database: Database) -> None:
    migrated_clone(clone, database)
    table = backend_table()

    with holding(database, f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"):
        run = migrate_script(clone, database, DB_LOCK_TIMEOUT="10min")  # the fast path's own query waits
        wait_for(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate:%%' "
            "AND wait_event_type = 'Lock'",
        )
        code, output = terminated(clone, run)
        sessions = run_sessions(database)

    assert code == 130, output
    assert sessions == []
