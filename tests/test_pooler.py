"""Migrations beside a connection pooler: a direct URL for migrations, and a refusal without one.

A real PgBouncer (Debian's package) in transaction mode, in front of the test server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from conftest import (
    REPO_ROOT,
    SERVER,
    SYSTEMS,
    Database,
    alembic_head,
    backend_tables,
    concurrent_make,
    drizzle_tags,
    free_port,
    frontend_tables,
    run,
)
from scripts.tools import NODE_BIN

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


@pytest.fixture(params=[20, 1], ids=lambda size: f"pool-size-{size}")
def pooler(request: pytest.FixtureRequest) -> Iterator[Pooler]:
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
        f"pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = {request.param}\n"
        # A client waiting for a busy server connection fails in seconds, not the default 2 minutes.
        "query_wait_timeout = 15\n"
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
    yield Pooler(port=port, log=folder / "pgbouncer.log")
    server.terminate()
    server.wait(timeout=30)
    log.close()
    shutil.rmtree(folder, ignore_errors=True)


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
    assert database.query("SELECT count(*) FROM drizzle.__drizzle_migrations") == [(len(drizzle_tags()),)]
    assert database.query("SELECT version_num FROM api.alembic_version") == ([(HEAD,)] if HEAD else [])
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
