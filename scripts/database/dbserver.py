"""``make db-up`` / ``db-down`` / ``db-status``: the local database, in Docker or not.

With a running Docker engine that has (or can pull) the ``db`` service's image, the ``db``
service of docker-compose.yml; otherwise the project-local cluster of scripts/database/localcluster.py.
``DB_BACKEND=docker`` or ``DB_BACKEND=local`` chooses explicitly. ``db-down`` and ``db-status``
act on what runs: the local cluster, the container, or both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

from scripts.core.config import REPO_ROOT, Settings
from scripts.core.database_url import DatabaseUrl
from scripts.core.errors import LocalDatabaseError, UsageError
from scripts.database.localcluster import LocalCluster

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


# Seconds `make db-up` gives `docker pull` of the db image before it uses the local binaries instead.
PULL_WITHIN = 300


def configured_backend(settings: Settings) -> str:
    backend = settings.get("DB_BACKEND", "auto")
    if backend not in BACKENDS:
        raise UsageError(f"DB_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    return backend


def choose_backend(settings: Settings) -> str:
    """Docker when chosen, or (auto) when its engine runs and has the db image or can pull it."""
    backend = configured_backend(settings)
    if backend != "auto":
        return backend
    if not docker_engine_available():
        return "local"
    image = db_image()
    if image and not image_obtainable(image):
        print(f"! Docker's engine runs, but it has no {image} and cannot pull it: using the local binaries instead")
        return "local"
    return "docker"


def db_image() -> str | None:
    """The image of docker-compose.yml's db service."""
    import yaml  # here: only a Docker path reads the compose file

    try:
        services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text()).get("services", {})
        return services["db"]["image"]
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError):
        return None


def image_obtainable(image: str) -> bool:
    if _succeeds(["docker", "image", "inspect", image]):
        return True
    print(f"… pulling {image} (Docker has none)", flush=True)
    try:
        return subprocess.run(["docker", "pull", image], capture_output=True, timeout=PULL_WITHIN).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def up(url: DatabaseUrl, settings: Settings) -> None:
    _require_local(url)
    if choose_backend(settings) == "docker":
        try:
            _compose_up(url, settings)
        except LocalDatabaseError as failure:
            if configured_backend(settings) != "auto":
                raise
            print(f"! {failure.message}: using the local binaries instead")
        else:
            print(f"✓ database container up on 127.0.0.1:{url.port or 5432}")
            return
    LocalCluster.for_url(url, settings).ensure_running(url)


def _compose_up(url: DatabaseUrl, settings: Settings) -> None:
    """``compose up db`` until healthy; a failed start leaves nothing it made (container, network, volumes)."""
    before = {kind: _project_resources(settings, kind) for kind in ("volume", "network")}
    try:
        _compose(url, settings, "up", "--detach", "db")
        _wait_until_healthy(url, settings)
    except LocalDatabaseError:
        command = _compose_or_fail()
        subprocess.run([*command, "down"], cwd=REPO_ROOT, env=_compose_env(url, settings), capture_output=True)
        for kind, existing in before.items():
            for name in sorted(_project_resources(settings, kind) - existing):
                subprocess.run(["docker", kind, "rm", name], capture_output=True)
        raise


def _project_resources(settings: Settings, kind: str) -> set[str]:
    """The compose project's volumes or networks (by the label Compose puts on what it creates)."""
    label = f"label=com.docker.compose.project={compose_project(settings)}"
    listed = subprocess.run(["docker", kind, "ls", "--quiet", "--filter", label], capture_output=True, text=True)
    return set(listed.stdout.split()) if listed.returncode == 0 else set()


def compose_project(settings: Settings) -> str:
    """Compose's project name: COMPOSE_PROJECT_NAME, else the checkout's folder name as Compose normalises it."""
    return settings.get("COMPOSE_PROJECT_NAME", "") or re.sub(r"[^a-z0-9_-]", "", REPO_ROOT.name.lower())


def down(url: DatabaseUrl, settings: Settings) -> None:
    """Stop what runs on the URL's port: the local cluster, the container, or (both started) both."""
    _require_local(url)
    port = url.port or 5432
    stopped = LocalCluster.for_url(url, settings).stop()
    if stopped:
        print(f"✓ local database on 127.0.0.1:{port} stopped (.localdb/ keeps the data)")
    if _container_running(url, settings):
        _compose(url, settings, "stop", "db")
        print("✓ database container stopped (its volume keeps the data)")
    elif not stopped:
        print(f"database on 127.0.0.1:{port} is not running (neither the local cluster nor a container)")


def status(url: DatabaseUrl, settings: Settings) -> int:
    cluster = LocalCluster.for_url(url, settings)
    if cluster.is_running():
        print(f"local database running on 127.0.0.1:{cluster.port} ({cluster.shown_home})")
        return 0
    if _container_running(url, settings):
        print(f"database container running on 127.0.0.1:{cluster.port}")
        return 0
    print(f"database on 127.0.0.1:{cluster.port} is not running (neither the local cluster nor a container)")
    return 1


def _container_running(url: DatabaseUrl, settings: Settings) -> bool:
    """Whether the compose db service's container runs (never asked with DB_BACKEND=local, or without an engine)."""
    if configured_backend(settings) == "local" or not docker_engine_available():
        return False
    command = _compose_or_fail()
    ids = subprocess.run(
        [*command, "ps", "-q", "db"], cwd=REPO_ROOT, env=_compose_env(url, settings), capture_output=True, text=True
    )
    container = ids.stdout.strip()
    if ids.returncode != 0 or not container:
        return False
    state = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}}", container], capture_output=True, text=True
    )
    return state.stdout.strip() == "true"


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
