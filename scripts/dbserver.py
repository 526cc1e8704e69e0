"""``make db-up`` / ``db-down`` / ``db-status``: the local database, in Docker or not.

With a running Docker engine, the ``db`` service of docker-compose.yml; without
one, the project-local cluster of scripts/localcluster.py. ``DB_BACKEND=docker``
or ``DB_BACKEND=local`` chooses explicitly.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

from scripts import config
from scripts.database_url import DatabaseUrl
from scripts.errors import LocalDatabaseError, UsageError, entry_point
from scripts.localcluster import LocalCluster
from scripts.settings import REPO_ROOT, Settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
BACKENDS = ("auto", "docker", "local")


def is_local_host(host: str | None) -> bool:
    return host in LOCAL_HOSTS


# Seconds `make db-up` waits for the container's health check to pass.
HEALTHY_WITHIN = 120


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose_command() -> list[str] | None:
    """Compose v2 (`docker compose`) where it is installed, else v1 (`docker-compose`, as Debian packages it)."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) and _succeeds([*command, "version"]):
            return command
    return None


def docker_engine_available() -> bool:
    return shutil.which("docker") is not None and _succeeds(["docker", "info"]) and compose_command() is not None


def choose_backend(settings: Settings) -> str:
    backend = settings.get("DB_BACKEND", "auto")
    if backend not in BACKENDS:
        raise UsageError(f"DB_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "docker" if docker_engine_available() else "local"
    return backend


def up(url: DatabaseUrl, settings: Settings) -> None:
    _require_local(url)
    if choose_backend(settings) == "docker":
        _compose(url, settings, "up", "--detach", "db")
        _wait_until_healthy(url, settings)
        print(f"✓ database container up on 127.0.0.1:{url.port or 5432}")
    else:
        LocalCluster.for_url(url, settings).ensure_running(url)


def down(url: DatabaseUrl, settings: Settings) -> None:
    _require_local(url)
    if choose_backend(settings) == "docker":
        _compose(url, settings, "stop", "db")
        print("✓ database container stopped (its volume keeps the data)")
    elif LocalCluster.for_url(url, settings).stop():
        print(f"✓ local database on 127.0.0.1:{url.port or 5432} stopped (.localdb/ keeps the data)")
    else:
        print(f"local database on 127.0.0.1:{url.port or 5432} is not running")


def status(url: DatabaseUrl, settings: Settings) -> int:
    cluster = LocalCluster.for_url(url, settings)
    if cluster.is_running():
        print(f"local database running on 127.0.0.1:{cluster.port}")
        return 0
    print(f"local database on 127.0.0.1:{cluster.port} is not running")
    return 1


def _require_local(url: DatabaseUrl) -> None:
    if not is_local_host(url.host):
        raise LocalDatabaseError(
            f"DATABASE_URL points to {url.host!r}, not to this machine: db-up/db-down only manage a local database",
            "start that server where it runs, or point DATABASE_URL to 127.0.0.1",
        )


def _compose_env(url: DatabaseUrl, settings: Settings) -> dict[str, str]:
    return {
        **settings.values,
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_DB": url.database or "postgres",
        "POSTGRES_PORT": str(url.port or 5432),
    }


def _compose_or_fail() -> list[str]:
    command = compose_command()
    if command is None:
        raise LocalDatabaseError(
            "Docker Compose is not installed (neither `docker compose` nor `docker-compose` answers)",
            "install the Compose plugin, or DB_BACKEND=local uses the machine's own PostgreSQL instead",
        )
    return command


def _compose(url: DatabaseUrl, settings: Settings, *args: str) -> None:
    command = _compose_or_fail()
    result = subprocess.run([*command, *args], cwd=REPO_ROOT, env=_compose_env(url, settings))
    if result.returncode != 0:
        raise LocalDatabaseError(
            f"{' '.join(command)} {' '.join(args)} failed (exit {result.returncode})",
            "see the output above; DB_BACKEND=local uses the machine's own PostgreSQL instead",
        )


def _wait_until_healthy(url: DatabaseUrl, settings: Settings) -> None:
    """Until the db container's health check passes: Compose v1 has no `up --wait`."""
    command = _compose_or_fail()
    env = _compose_env(url, settings)
    deadline = time.monotonic() + HEALTHY_WITHIN
    health = "unknown"
    while time.monotonic() < deadline:
        ids = subprocess.run([*command, "ps", "-q", "db"], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        container = ids.stdout.strip()
        if container:
            inspected = subprocess.run(
                ["docker", "inspect", "--format", "{{.State.Health.Status}}", container],
                capture_output=True,
                text=True,
            )
            health = inspected.stdout.strip() or "unknown"
            if health == "healthy":
                return
        time.sleep(1)
    raise LocalDatabaseError(
        f"the database container is not healthy after {HEALTHY_WITHIN} s (its health: {health})",
        f"see `{' '.join(command)} logs db`; DB_BACKEND=local uses the machine's own PostgreSQL instead",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args()
    settings = config.settings()
    url = config.database_url(settings)
    if args.action == "up":
        up(url, settings)
    elif args.action == "down":
        down(url, settings)
    else:
        return status(url, settings)
    return 0


if __name__ == "__main__":
    entry_point(main)
