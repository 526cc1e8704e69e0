"""Migrations and connection poolers: through one in session mode, the bounds reach the server;
beside one in transaction mode, a direct URL; and a refusal of what would lose them.

A real PgBouncer (Debian's package) in front of the test server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from conftest import (
    Clone,
    add_backend_table,
    alembic_head,
    append_drizzle_migration,
    backend_tables,
    concurrent_make,
    drizzle_tags,
    frontend_tables,
)
from scripts.core.database_url import parse
from scripts.core.errors import SessionSettingsLost
from scripts.database.preflight import connect
from scripts.database.session_settings import check_bounds_last
from scripts.database.tools import NODE_BIN
from testing.browser import free_port
from testing.database import SERVER, Database, run
from testing.systems import BACKEND_BOOKKEEPING, FRONTEND_BOOKKEEPING, REPO_ROOT, SYSTEMS

# Only in `make test-all`: a real PgBouncer in front of the test server.
pytestmark = pytest.mark.full

RUNS = 8
HEAD = alembic_head()


@dataclass(frozen=True)
class Pooler:
    port: int
    log: Path

    def logins(self, database: str) -> int:
        return self.log.read_text().count(f"login attempt: db={database} ")


@contextmanager
def running_pgbouncer(pool_mode: str, pool_size: int, settings: str = "") -> Iterator[Pooler]:
    """A PgBouncer in front of the test server; ``settings``: more lines of its [pgbouncer] section."""
    pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(pgbouncer).is_file():
        if os.environ.get("CI"):
            pytest.fail("PgBouncer is missing: .ci/run installs Debian's pgbouncer package")
        pytest.skip("no PgBouncer on this machine: apt-get install pgbouncer")
    port = free_port()
    # Readable by the postgres user, which runs PgBouncer when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir="/tmp"))
    folder.chmod(0o755)
    (folder / "userlist.txt").write_text(f'"{SERVER.username}" "{SERVER.password}"\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={SERVER.host} port={SERVER.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = scram-sha-256\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        f"pool_mode = {pool_mode}\nmax_client_conn = 200\ndefault_pool_size = {pool_size}\n"
        # A client waiting for a busy server connection fails in seconds, not the default 2 minutes.
        "query_wait_timeout = 15\n"
        f"{settings}"
    )
    for file in folder.iterdir():
        file.chmod(0o644)
    command = [pgbouncer, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    log = (folder / "pgbouncer.log").open("w")  # written through the inherited descriptor
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    through_pooler = SERVER.set(drivername="postgresql", port=port).render_as_string(hide_password=False)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(through_pooler, connect_timeout=2):
                break
        except psycopg.OperationalError:
            assert server.poll() is None and time.monotonic() < deadline, (folder / "pgbouncer.log").read_text()
            time.sleep(0.2)
    try:
        yield Pooler(port=port, log=folder / "pgbouncer.log")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=[20, 1], ids=lambda size: f"pool-size-{size}")
def pooler(request: pytest.FixtureRequest) -> Iterator[Pooler]:
    """PgBouncer in transaction mode, with twenty server connections or one."""
    with running_pgbouncer("transaction", request.param) as running:
        yield running


# PgBouncer's stock setting, and the usual workaround for "unsupported startup parameter: options",
# which then drops that parameter without a word.
STOCK = "ignore_startup_parameters = extra_float_digits\n"
IGNORING_OPTIONS = "ignore_startup_parameters = extra_float_digits, options\n"


@pytest.fixture(params=[STOCK, IGNORING_OPTIONS], ids=["stock", "ignoring-options"])
def session_pooler(request: pytest.FixtureRequest) -> Iterator[Pooler]:
    """PgBouncer in session mode: a client keeps its server session until it disconnects."""
    with running_pgbouncer("session", 20, request.param) as running:
        yield running


def test_migrating_through_a_transaction_pooler_is_refused_and_changes_nothing(
    database: Database, pooler: Pooler
) -> None:
    result = database.make("migrate", url=database.url_string(port=pooler.port))

    assert "Error 19" in result.output
    assert "goes through a connection pooler in transaction mode" in result.output
    assert "DIRECT_DATABASE_URL" in result.output
    assert database.tables() == set()
    assert pooler.logins(database.name) > 0  # pre-flight's probe: what the other tests count


def test_with_a_direct_url_eight_concurrent_runs_beside_the_pooler_apply_each_migration_once(
    database: Database, pooler: Pooler
) -> None:
    runs = concurrent_make(
        "migrate", RUNS, DATABASE_URL=database.url_string(port=pooler.port), DIRECT_DATABASE_URL=database.url_string()
    )

    outputs = [output for _, output in runs]
    assert [code for code, _ in runs] == [0] * RUNS, "\n\n".join(outputs)
    # Alembic logs "Running upgrade" once per revision it applies: one run applied them all.
    assert sum("Running upgrade " in output for output in outputs) == (1 if HEAD else 0), "\n\n".join(outputs)
    assert database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}") == [(len(drizzle_tags()),)]
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == ([(HEAD,)] if HEAD else [])
    # Not one connection went through the pooler: every run used the direct URL.
    assert pooler.logins(database.name) == 0


@pytest.mark.parametrize("pooler", [20], indirect=True, ids=["pool-size-20"])
def test_the_raw_tools_migrate_through_direct_database_url_too(database: Database, pooler: Pooler) -> None:
    env = {"DIRECT_DATABASE_URL": database.url_string(), "PATH": f"{NODE_BIN}:{os.environ['PATH']}"}
    through_pooler = database.url_string(port=pooler.port)

    drizzle = run(
        ["drizzle-kit", "migrate"], database_url=through_pooler, cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"], **env
    )
    alembic = run(
        ["uv", "run", "--frozen", "alembic", "upgrade", "head"],
        database_url=through_pooler,
        cwd=REPO_ROOT / SYSTEMS["BACKEND_DIR"],
        **env,
    )

    assert drizzle.code == 0 and alembic.code == 0, drizzle.output + alembic.output
    assert frontend_tables() | backend_tables() <= database.tables()
    assert pooler.logins(database.name) == 0


# ---- Session mode: migrations go through the pooler, with their bounds ----------------------


def test_make_migrate_through_a_session_pooler_applies_both_systems(database: Database, session_pooler: Pooler) -> None:
    result = database.make("migrate", url=database.url_string(port=session_pooler.port))

    assert result.code == 0, result.output
    assert frontend_tables() | backend_tables() <= database.tables()
    assert database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}") == [(len(drizzle_tags()),)]
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == ([(HEAD,)] if HEAD else [])
    assert session_pooler.logins(database.name) > 0  # it did go through the pooler


@contextmanager
def live_traffic_on_user(database: Database) -> Iterator[None]:
    """An open write transaction on Better Auth's "user": whatever alters or refers to it must wait.

    Ended by the server after a minute, so that a migration that waits instead of failing
    makes the test fail rather than hang.
    """
    with psycopg.connect(database.url_string(drivername="postgresql")) as traffic:
        traffic.execute("SET idle_in_transaction_session_timeout = '60s'")
        traffic.execute('LOCK TABLE "user" IN ROW EXCLUSIVE MODE')
        yield
        traffic.rollback()


def test_through_a_session_pooler_a_frontend_migration_behind_a_held_lock_fails_on_the_lock_timeout(
    clone: Clone, database: Database, session_pooler: Pooler
) -> None:
    through_pooler = {"DATABASE_URL": database.url_string(port=session_pooler.port), "ENV_FILE": "/dev/null"}
    assert clone.make("migrate-frontend", **through_pooler).code == 0
    append_drizzle_migration(clone, "user_nickname", 'ALTER TABLE "user" ADD COLUMN "nickname" text;')

    with live_traffic_on_user(database):
        result = clone.make("migrate-frontend", DB_LOCK_TIMEOUT="1s", **through_pooler)

    assert "Error 20" in result.output
    assert "canceling statement due to lock timeout" in result.output
    assert database.query("SELECT 1 FROM information_schema.columns WHERE column_name = 'nickname'") == []


def test_through_a_session_pooler_a_backend_migration_behind_a_held_lock_fails_on_the_lock_timeout(
    clone: Clone, database: Database, session_pooler: Pooler
) -> None:
    through_pooler = {"DATABASE_URL": database.url_string(port=session_pooler.port), "ENV_FILE": "/dev/null"}
    table = add_backend_table(clone)  # a new backend table with a foreign key to "user"
    assert clone.make("migrate-frontend", **through_pooler).code == 0

    with live_traffic_on_user(database):
        result = clone.make("migrate-backend", DB_LOCK_TIMEOUT="1s", **through_pooler)

    assert "Error 20" in result.output
    assert "canceling statement due to lock timeout" in result.output
    assert table not in database.tables()


# ---- What would lose the settings is refused before anything changes -------------------------

WITH_OPTIONS = "?options=-c%20lock_timeout%3D2s"


@pytest.mark.parametrize("session_pooler", [STOCK], indirect=True, ids=["stock"])
def test_a_pooler_refusing_the_urls_startup_options_is_named_by_preflight_with_the_fix(
    database: Database, session_pooler: Pooler
) -> None:
    result = database.make("migrate", url=database.url_string(port=session_pooler.port) + WITH_OPTIONS)

    assert "Error 26" in result.output
    assert "refuses the startup parameter 'options'" in result.output
    assert "remove options from the URL" in result.output and "DIRECT_DATABASE_URL" in result.output
    assert "→ nextjs" not in result.output
    assert database.tables() == set()


@pytest.mark.parametrize("session_pooler", [IGNORING_OPTIONS], indirect=True, ids=["ignoring-options"])
def test_a_pooler_dropping_the_urls_startup_options_silently_is_refused_by_preflight(
    database: Database, session_pooler: Pooler
) -> None:
    result = database.make("migrate", url=database.url_string(port=session_pooler.port) + WITH_OPTIONS)

    assert "Error 26" in result.output
    assert "startup options do not reach the server: they ask for lock_timeout=2s" in result.output
    assert "ignore_startup_parameters" in result.output
    assert database.tables() == set()


def test_a_pooler_resetting_sessions_between_transactions_fails_the_settings_check(database: Database) -> None:
    # Transaction mode, resetting every server session after each transaction (DISCARD ALL).
    with running_pgbouncer("transaction", 1, "server_reset_query_always = 1\n") as resetting:
        through_pooler = parse(database.url_string(port=resetting.port))
        session = connect(through_pooler)
        try:
            with pytest.raises(SessionSettingsLost, match="a SET does not last to the session's next transaction"):
                check_bounds_last(session, {"lock_timeout": "1s"}, "DATABASE_URL")
        finally:
            session.close()
