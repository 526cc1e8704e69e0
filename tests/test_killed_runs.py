"""A killed run cannot race its own leftovers: what it left running on the server is ended before
the next run takes the lock; a runner whose session is ended names the file it was applying.

Real SIGKILLs of `make migrate`'s process group in the middle of a slow migration (a CI job
cancelled, a pod evicted), and a real pg_terminate_backend of the runner's session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import psycopg
import pytest
from test_faults import SLOW_REVISION, add_slow_migration, wait_until_sleeping

from conftest import Clone, add_backend_table, append_drizzle_migration
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, SYSTEMS

# Copies of the repository and many make runs: the full tier (make test-all).
pytestmark = pytest.mark.full

SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep%%' AND pid <> pg_backend_pid()"
# A frontend migration that sleeps as long as the database's setting says (new sessions read it):
# the rerun, after the test resets it, applies the same file at once.
SLEEP_SETTING = "migration_test.sleep"
SLOW_FRONTEND_SQL = f"SELECT pg_sleep(coalesce(nullif(current_setting('{SLEEP_SETTING}', true), ''), '0')::float);"


def env_for(database: Database, **more: str) -> dict[str, str]:
    return {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null", **more}


def sleeping(run: subprocess.Popen[str], database: Database) -> None:
    """Until the run's slow statement sleeps (or the run ended: then its output says why)."""
    deadline = time.monotonic() + 120
    while database.query(SLEEPING) == [(0,)]:
        if run.poll() is not None:
            raise AssertionError(f"the run ended before its slow migration: {run.communicate()[0]}")
        assert time.monotonic() < deadline, "the slow migration never started"
        time.sleep(0.1)


def killed_mid_migration(clone: Clone, database: Database, **env: str) -> None:
    run = clone.popen("migrate", **env_for(database, **env))
    sleeping(run, database)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()


def add_slow_frontend_migration(clone: Clone, database: Database) -> str:
    database.query(f'ALTER DATABASE "{database.name}" SET {SLEEP_SETTING} = 30')
    return append_drizzle_migration(clone, "slow", SLOW_FRONTEND_SQL)


def test_after_a_sigkill_mid_backend_migration_the_next_run_succeeds_and_the_statement_is_gone(
    clone: Clone, database: Database
) -> None:
    add_backend_table(clone, "fixture_item", "f1x7a0000001")
    assert clone.make("migrate", **env_for(database)).code == 0
    add_slow_migration(clone)

    killed_mid_migration(clone, database, SLOW_MIGRATION_SECONDS="30")
    rerun = clone.make("migrate", SLOW_MIGRATION_SECONDS="0", **env_for(database))

    assert rerun.code == 0, rerun.output
    assert database.query(SLEEPING) == [(0,)]
    assert f"{BACKEND_SCHEMA}.slow" in database.tables()
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [(SLOW_REVISION,)]
    assert "a table it changes is busy" not in rerun.output


def test_after_a_sigkill_mid_frontend_migration_the_next_run_succeeds_and_the_statement_is_gone(
    clone: Clone, database: Database
) -> None:
    assert clone.make("migrate", **env_for(database)).code == 0
    tag = add_slow_frontend_migration(clone, database)

    killed_mid_migration(clone, database)
    database.query(f'ALTER DATABASE "{database.name}" RESET {SLEEP_SETTING}')
    rerun = clone.make("migrate", **env_for(database))

    assert rerun.code == 0, rerun.output
    assert f"✓ applied {SYSTEMS['FRONTEND_DIR']}/{SYSTEMS['FRONTEND_MIGRATIONS_DIR']}/{tag}.sql" in rerun.output
    assert database.query(SLEEPING) == [(0,)]


def test_a_left_over_session_of_a_dead_run_on_this_host_is_named_and_ended_before_the_lock(
    clone: Clone, database: Database
) -> None:
    assert clone.make("migrate", **env_for(database)).code == 0
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that no longer runs: the killed run's
    name = f"migrate:backend:{socket.gethostname()[:30]}:{dead.pid}"
    leftover = psycopg.connect(database.url_string(drivername="postgresql"), application_name=name)
    statement = threading.Thread(target=_run_quietly, args=(leftover, "SELECT pg_sleep(60)"))
    statement.start()
    try:
        wait_until_sleeping(database)
        pid = database.query("SELECT pid FROM pg_stat_activity WHERE application_name = %s", name)[0][0]

        result = clone.make("migrate", **env_for(database))
    finally:
        statement.join(timeout=60)
        leftover.close()

    assert result.code == 0, result.output
    assert f"a session of an earlier migration run is still there: pid {pid} ({name}, active" in result.output
    assert f"its process {dead.pid} no longer runs on this host" in result.output
    assert "✓ ended 1 left-over session(s) of an earlier run" in result.output
    assert database.query(SLEEPING) == [(0,)]


def _run_quietly(connection: psycopg.Connection, statement: str) -> None:
    try:
        connection.execute(statement)
    except psycopg.Error:
        pass  # ended by the run under test


def test_a_runner_whose_session_is_terminated_names_the_migration_it_was_applying(
    clone: Clone, database: Database
) -> None:
    assert clone.make("migrate", **env_for(database)).code == 0
    tag = add_slow_frontend_migration(clone, database)
    shown = f"{SYSTEMS['FRONTEND_DIR']}/{SYSTEMS['FRONTEND_MIGRATIONS_DIR']}/{tag}.sql"

    run = clone.popen("migrate", **env_for(database))
    sleeping(run, database)
    database.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'migrate:frontend:%%'"
    )
    output, _ = run.communicate(timeout=120)

    assert run.returncode != 0, output
    # node-postgres's words for it, or the server's (57P01), by which comes first.
    assert f"✗ {shown}: Connection terminated" in output or f"✗ {shown}: terminating connection" in output
    assert f"failed in {shown}" in output
    assert "Traceback" not in output and "Unhandled 'error' event" not in output
    deadline = time.monotonic() + 30
    while database.query(SLEEPING) != [(0,)]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
