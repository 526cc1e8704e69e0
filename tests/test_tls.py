"""TLS with one meaning: sslmode and sslrootcert mean libpq's semantics to both tools.

A PostgreSQL cluster that accepts TLS connections only (hostssl), with a certificate
authority and a server certificate for "localhost" made by the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from conftest import backend_tables, backup_path, drizzle_tags, frontend_tables
from scripts.core.config import load_settings
from scripts.core.database_url import DatabaseUrl, parse
from scripts.database.localcluster import LocalCluster
from scripts.database.tools import NODE_BIN
from testing.browser import free_port
from testing.database import Result, run
from testing.systems import BACKEND_SCHEMA, FRONTEND_BOOKKEEPING, REPO_ROOT, SYSTEMS

# Only in `make test-all`: a TLS-only cluster of its own, with a test-made CA.
pytestmark = pytest.mark.full

PASSWORD = "tls-test-password"


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca: Path
    wrong_ca: Path

    def url(self, host: str, database: str, **query: str) -> str:
        parameters = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://postgres:{PASSWORD}@{host}:{self.port}/{database}" + (
            f"?{parameters}" if parameters else ""
        )


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> None:
    for name in ("ca", "wrong-ca"):
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=test {name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.crt",
            cwd=folder,
        )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=folder,
    )
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.crt",
        cwd=folder,
    )


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    folder = Path(tempfile.mkdtemp(prefix="tls-", dir="/tmp"))
    folder.chmod(0o755)
    make_certificates(folder)
    port = free_port()
    admin: DatabaseUrl = parse(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres")
    cluster = LocalCluster(home=folder / "cluster", port=port, pg_bin=load_settings().get("PG_BIN", "") or None)
    cluster.ensure_running(admin)
    cluster.stop()
    for name in ("server.crt", "server.key"):
        shutil.copy(folder / name, cluster.data_dir / name)
        if os.geteuid() == 0:  # the server runs as postgres and must own its key
            shutil.chown(cluster.data_dir / name, "postgres", "postgres")
        (cluster.data_dir / name).chmod(0o600)
    with (cluster.data_dir / "postgresql.conf").open("a") as conf:
        conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
    hba = cluster.data_dir / "pg_hba.conf"
    hba.write_text("local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
    cluster.ensure_running(admin.set(query={"sslmode": "require"}))
    yield TlsServer(port=port, ca=folder / "ca.crt", wrong_ca=folder / "wrong-ca.crt")
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_name(tls_server: TlsServer, request: pytest.FixtureRequest) -> str:
    name = f"tls_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')[:40]}"
    with psycopg.connect(tls_server.url("127.0.0.1", "postgres", sslmode="require"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def migrate(url: str, **env: str) -> Result:
    return run(["make", "--no-print-directory", "migrate"], database_url=url, **env)


def offline_step(url: str, folder: str, *command: str) -> Result:
    """One tool, run by the wrapper without pre-flight: what that tool itself says."""
    return run(
        ["uv", "run", "--frozen", "python", "-m", "scripts", "generate", "--offline", "--in", folder, "--", *command],
        database_url=url,
    )


def test_sslmode_require_works_for_both_tools_without_a_security_warning(
    tls_server: TlsServer, database_name: str
) -> None:
    result = migrate(tls_server.url("127.0.0.1", database_name, sslmode="require"))

    assert result.code == 0, result.output
    assert "SECURITY WARNING" not in result.output
    assert "✓ nextjs: node scripts/drizzle_migrate.mjs" in result.output
    assert "✓ backend: alembic upgrade" in result.output


def test_verify_full_with_the_right_authority_works_for_both_tools(tls_server: TlsServer, database_name: str) -> None:
    url = tls_server.url("localhost", database_name, sslmode="verify-full", sslrootcert=str(tls_server.ca))

    result = migrate(url)

    assert result.code == 0, result.output
    assert "SECURITY WARNING" not in result.output
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            f"SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('public', '{BACKEND_SCHEMA}')"
        )
        tables = {name for (name,) in rows}
    assert frontend_tables() | backend_tables() <= tables


@pytest.mark.usefixtures("new_backups")
def test_the_production_backup_verifies_the_certificate_as_the_tools_do(
    tls_server: TlsServer, database_name: str
) -> None:
    url = tls_server.url("localhost", database_name, sslmode="verify-full", sslrootcert=str(tls_server.ca))

    result = migrate(url, ENV="production")

    assert result.code == 0, result.output
    assert backup_path(result.output).read_bytes().startswith(b"PGDMP")


def node(*command: str, database_url: str) -> Result:
    """A Node command in the frontend's folder as a user runs it there: the raw tool, no wrapper, no make."""
    path = f"{NODE_BIN}:{os.environ['PATH']}"
    return run(list(command), database_url=database_url, cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"], PATH=path)


def test_the_next_js_apps_pool_reads_sslmode_require_as_libpq_does(tls_server: TlsServer, database_name: str) -> None:
    url = tls_server.url("127.0.0.1", database_name, sslmode="require")

    result = node("tsx", str(REPO_ROOT / "tests" / "support" / "query-database.mts"), database_url=url)

    assert result.code == 0, result.output
    assert '{"ssl":true}' in result.output
    assert "SECURITY WARNING" not in result.output


def test_raw_drizzle_kit_reads_sslmode_require_as_libpq_does(tls_server: TlsServer, database_name: str) -> None:
    url = tls_server.url("127.0.0.1", database_name, sslmode="require")

    result = node("drizzle-kit", "migrate", database_url=url)

    assert result.code == 0, result.output
    assert "SECURITY WARNING" not in result.output
    with psycopg.connect(url) as connection:
        migrations = connection.execute(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}").fetchone()
    assert migrations == (len(drizzle_tags()),)


@pytest.mark.parametrize(
    ("host", "authority", "pre_flight_says", "node_says"),
    [
        ("localhost", "wrong_ca", "not signed by the certificate authority", "certificate"),
        ("127.0.0.1", "ca", "for another host name", "is not in the cert's list"),
    ],
    ids=["wrong-authority", "wrong-host-name"],
)
def test_verify_full_with_a_wrong_authority_or_host_fails_clearly_in_both_tools(
    tls_server: TlsServer, database_name: str, host: str, authority: str, pre_flight_says: str, node_says: str
) -> None:
    url = tls_server.url(host, database_name, sslmode="verify-full", sslrootcert=str(getattr(tls_server, authority)))

    wrapped = migrate(url)
    drizzle = offline_step(url, "nextjs", "drizzle-kit", "migrate")
    alembic = offline_step(url, "backend", "alembic", "upgrade", "head")

    assert "Error 25" in wrapped.output and f"TLS: the server's certificate is {pre_flight_says}" in wrapped.output
    drizzle_line = [line for line in drizzle.output.splitlines() if line.startswith("✗")]
    alembic_line = [line for line in alembic.output.splitlines() if line.startswith("✗")]
    assert len(drizzle_line) == 1 and node_says in drizzle_line[0], drizzle.output
    assert len(alembic_line) == 1 and "certificate" in alembic_line[0], alembic.output
    for result in (wrapped, drizzle, alembic):
        assert "Traceback" not in result.output and PASSWORD not in result.output
