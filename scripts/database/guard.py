"""Which databases ``make seed`` and ``make db-reset`` may change: development ones the template started.

Both write freely (a user with a known password; a dropped database), so both refuse
``ENV=production`` outright, and a database the template did not start unless the user
confirms with ``yes=1``. The template starts two kinds of server: the project-local
cluster (scripts/database/localcluster.py, also the test suite's) and docker-compose.yml's ``db``.
"""

from __future__ import annotations

import shutil
import subprocess

from psycopg2.extensions import connection

from scripts.core.config import REPO_ROOT, Settings
from scripts.core.database_url import DatabaseUrl, redacted
from scripts.core.errors import DevelopmentOnly
from scripts.database import dbserver
from scripts.database.localcluster import LocalCluster

DEFAULT_PORT = 5432
# postmaster.pid records the server's start in whole seconds, a moment before the server
# itself notes it (pg_postmaster_start_time): the same server is within this many seconds.
SAME_START_SECONDS = 10


def refuse_production(settings: Settings, action: str) -> None:
    if settings.get("ENV", "development") == "production":
        raise DevelopmentOnly(
            f"make {action} is for development databases, and ENV=production: nothing was changed",
            "run it against a development database (ENV=development)",
        )


def refuse_unless_started_here(
    url: DatabaseUrl, settings: Settings, session: connection, action: str, what_happens: str, *, confirmed: bool
) -> None:
    """Go on for the template's own servers; for any other, only with ``yes=1``, saying what will happen."""
    if started_by_template(url, settings, session):
        return
    where = redacted(url)
    if not confirmed:
        raise DevelopmentOnly(
            f"make {action}: {where} is not a database the template started (make db-up, or docker compose's db); "
            "nothing was changed",
            f"if it is a development database you may change, confirm: make {action} yes=1 (it {what_happens})",
        )
    print(f"yes=1: {where} is not a database the template started; make {action} {what_happens}")


def started_by_template(url: DatabaseUrl, settings: Settings, session: connection) -> bool:
    """Whether ``session``'s server is the project-local cluster of this checkout, or the compose ``db``."""
    host = url.query.get("host") or url.host or "localhost"
    if not dbserver.is_local_host(host):
        return False
    port = int(url.query.get("port") or url.port or DEFAULT_PORT)
    return _is_local_cluster(LocalCluster.for_url(url.set(port=port), settings), session) or _is_compose_db(port)


def _is_local_cluster(cluster: LocalCluster, session: connection) -> bool:
    # The cluster of this port may be stopped, and something else listening there: the server
    # answering must be the one whose postmaster.pid is in the cluster's folder.
    if not cluster.is_running():
        return False
    try:
        pid_file = (cluster.data_dir / "postmaster.pid").read_text().splitlines()
        started, port = int(pid_file[2]), int(pid_file[3])
    except (OSError, IndexError, ValueError):
        return False
    with session.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM pg_postmaster_start_time())::float8, inet_server_port()")
        server_started, server_port = cursor.fetchone()
    return server_port == port and 0 <= server_started - started < SAME_START_SECONDS


def _is_compose_db(port: int) -> bool:
    """docker-compose.yml's ``db`` publishes the port (only asked where Docker is installed)."""
    if shutil.which("docker") is None:
        return False
    try:
        published = subprocess.run(
            ["docker", "compose", "port", "db", "5432"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired:
        return False
    return published.returncode == 0 and published.stdout.strip().rpartition(":")[2] == str(port)
