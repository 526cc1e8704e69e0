"""The two apps served as in production (`next build`, `next start`, the API under uvicorn), and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request

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
