"""Failures in the middle of a run leave each system at its last good state; the rerun completes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import Clone, Database

# Only in `make test-all`: migrations killed mid-run and databases stopped under them.
pytestmark = pytest.mark.full

HEAD = "96c9745930f4"
# A migration that creates a table, then sleeps inside its transaction.
SLOW_MIGRATION = """\
    op.create_table("slow", sa.Column("id", sa.Integer, primary_key=True), schema="api")
    op.execute(f"SELECT pg_sleep({float(os.environ.get('SLOW_MIGRATION_SECONDS', '0'))})")"""


def add_slow_migration(clone: Clone) -> None:
    path = clone.add_alembic_revision("5104aaaa0001", HEAD, SLOW_MIGRATION)
    path.write_text(
        path.read_text().replace("from alembic import op", "import sqlalchemy as sa\nfrom alembic import op")
    )


def wait_until_sleeping(database: Database, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'") != [(0,)]:
            return
        time.sleep(0.1)
    raise AssertionError("the slow migration never started")


def test_a_migration_killed_with_sigkill_leaves_nothing_and_the_rerun_completes(
    clone: Clone, migrated: Database
) -> None:
    add_slow_migration(clone)
    database, env = migrated, {"DATABASE_URL": migrated.url_string(), "ENV_FILE": "/dev/null"}

    run = clone.popen("migrate", SLOW_MIGRATION_SECONDS="5", **env)
    wait_until_sleeping(database)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    # The server notices the dead client when the sleep ends, and rolls the transaction back.
    deadline = time.monotonic() + 60
    while database.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'") != [(0,)]:
        assert time.monotonic() < deadline, "the killed migration's transaction never ended"
        time.sleep(0.2)

    assert "api.slow" not in database.tables()
    assert database.query("SELECT version_num FROM api.alembic_version") == [(HEAD,)]

    rerun = clone.make("migrate", SLOW_MIGRATION_SECONDS="0", **env)

    assert rerun.code == 0, rerun.output
    assert "api.slow" in database.tables()
    assert database.query("SELECT version_num FROM api.alembic_version") == [("5104aaaa0001",)]


def test_the_database_stopping_mid_run_gives_a_clear_error_and_the_rerun_completes(clone: Clone) -> None:
    add_slow_migration(clone)
    assert clone.make("db-up").code == 0
    database = Database(clone.example_database_url)

    run = clone.popen("migrate", SLOW_MIGRATION_SECONDS="30")
    wait_until_sleeping(database)
    assert clone.make("db-down").code == 0
    output, _ = run.communicate(timeout=120)

    assert run.returncode != 0
    assert "✗ backend: alembic upgrade head failed" in output
    assert "Traceback" not in output
    assert "app-local-password" not in output

    rerun = clone.make("migrate", SLOW_MIGRATION_SECONDS="0")

    assert rerun.code == 0, rerun.output
    assert {"api.slow", "api.note", "public.user"} <= database.tables()
