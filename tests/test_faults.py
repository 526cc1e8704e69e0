"""Failures in the middle of a run leave each system at its last good state; the rerun completes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import Clone, add_backend_table, backend_tables, frontend_tables
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, SYSTEMS

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# A migration that creates a table (with its model, so the models match), then sleeps inside its transaction.
SLOW_REVISION = "5104aaaa0001"
SLEEP = """
    op.execute(f"SELECT pg_sleep({float(__import__('os').environ.get('SLOW_MIGRATION_SECONDS', '0'))})")
"""
SLOW_REVISION_FILE = f"{SYSTEMS['BACKEND_DIR']}/{SYSTEMS['BACKEND_MIGRATIONS_DIR']}/{SLOW_REVISION}_slow.py"


def add_slow_migration(clone: Clone) -> None:
    """The slow migration, on top of the clone's head."""
    add_backend_table(clone, "slow", SLOW_REVISION)
    path = clone.root / SLOW_REVISION_FILE
    text = path.read_text()
    end_of_create = text.index("    )\n", text.index("op.create_table(")) + len("    )\n")
    path.write_text(text[:end_of_create] + SLEEP + text[end_of_create:])


def wait_until_sleeping(database: Database, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'") != [(0,)]:
            return
        time.sleep(0.1)
    raise AssertionError("the slow migration never started")


def test_a_migration_killed_with_sigkill_leaves_nothing_and_the_rerun_completes(
    clone: Clone, database: Database
) -> None:
    env = {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null"}
    add_backend_table(clone, "fixture_item", "f1x7a0000001")  # the last good state: a revision applied
    assert clone.make("migrate", **env).code == 0
    add_slow_migration(clone)

    run = clone.popen("migrate", SLOW_MIGRATION_SECONDS="5", **env)
    wait_until_sleeping(database)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    # The server notices the dead client when the sleep ends, and rolls the transaction back.
    deadline = time.monotonic() + 60
    while database.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'") != [(0,)]:
        assert time.monotonic() < deadline, "the killed migration's transaction never ended"
        time.sleep(0.2)

    assert f"{BACKEND_SCHEMA}.slow" not in database.tables()
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [("f1x7a0000001",)]

    rerun = clone.make("migrate", SLOW_MIGRATION_SECONDS="0", **env)

    assert rerun.code == 0, rerun.output
    assert f"{BACKEND_SCHEMA}.slow" in database.tables()
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [(SLOW_REVISION,)]


def test_the_database_stopping_mid_run_gives_a_clear_error_and_the_rerun_completes(clone: Clone) -> None:
    add_slow_migration(clone)
    assert clone.make("db-up").code == 0
    database = Database(clone.example_database_url)

    run = clone.popen("migrate", SLOW_MIGRATION_SECONDS="30")
    wait_until_sleeping(database)
    assert clone.make("db-down").code == 0
    output, _ = run.communicate(timeout=120)

    assert run.returncode != 0
    # The database cannot say what was applied, but the tool's own output names the migration.
    assert f"✗ backend: alembic upgrade {SLOW_REVISION} failed in {SLOW_REVISION_FILE}" in output
    assert "Traceback" not in output
    assert "app-local-password" not in output

    rerun = clone.make("migrate", SLOW_MIGRATION_SECONDS="0")

    assert rerun.code == 0, rerun.output
    assert {f"{BACKEND_SCHEMA}.slow"} | backend_tables() | frontend_tables() <= database.tables()
