"""The two apps served as in production (`next build`, `next start`, the API under uvicorn), and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from scripts.database.tools import NODE_BIN
from testing.auth import BETTER_AUTH_SECRET
from testing.systems import REPO_ROOT, SYSTEMS

# Debian's package here; CHROMIUM_PATH elsewhere (the GitHub workflow uses Playwright's own build).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
# As the machine's probe ran Chromium here: no sandbox as root, nothing reaching out to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The backend API (uvicorn, as `make dev` runs it, without reload) on 127.0.0.1:PORT."""
    return subprocess.Popen(
        ["uv", "run", "--frozen", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT / SYSTEMS["BACKEND_DIR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_for(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered")
        time.sleep(0.5)


@dataclass(frozen=True)
class ServedApps:
    url: str  # the frontend's, with the API behind it
    port: int
    frontend: subprocess.Popen


@contextmanager
def served_apps(database_url: str, *, without: tuple[str, ...] = ()) -> Iterator[ServedApps]:
    """Both apps on ``database_url``: a production build of the frontend (`next start`), the API behind it.

    ``without``: variables of this process's environment the apps must not see (their defaults apply).
    """
    frontend_dir = REPO_ROOT / SYSTEMS["FRONTEND_DIR"]
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name not in without},
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": BETTER_AUTH_SECRET,
        "BETTER_AUTH_URL": f"http://localhost:{frontend_port}",
        "BACKEND_URL": f"http://127.0.0.1:{backend_port}",
        "NEXT_TELEMETRY_DISABLED": "1",
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    # next.config.ts's rewrites are fixed at build time: the build knows this API port.
    build = subprocess.run(["next", "build"], cwd=frontend_dir, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    backend = start_api(backend_port, env)
    frontend = subprocess.Popen(
        ["next", "start", "--hostname", "127.0.0.1", "--port", str(frontend_port)],
        cwd=frontend_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{backend_port}/health", backend)
        wait_for(f"http://127.0.0.1:{frontend_port}/", frontend)
        yield ServedApps(f"http://localhost:{frontend_port}", frontend_port, frontend)
    finally:
        for server in (frontend, backend):
            server.terminate()
            server.wait(timeout=30)
