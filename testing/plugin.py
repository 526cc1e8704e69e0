"""The test kit's fixtures, a pytest plugin (pyproject.toml: ``-p testing.plugin``): every test folder sees them.

``web_app`` serves the database of the requesting folder's own ``migrated`` fixture: the tooling's
(tests/conftest.py, one per test) or the app's (e.g. the frontend's e2e/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scripts.database.tools import NODE_BIN
from testing.auth import BETTER_AUTH_SECRET
from testing.browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_api, wait_for
from testing.database import Database
from testing.systems import REPO_ROOT, SYSTEMS

if TYPE_CHECKING:
    from playwright.sync_api import Page


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.exit("TEST_DATABASE_URL is not set: run the suite with `make test`", returncode=4)


@pytest.fixture
def web_app(migrated: Database) -> Iterator[str]:
    """The frontend's URL (a production build, `next start`), with the API behind it, both on the test's database."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium on this machine: apt-get install chromium")
    frontend_dir = REPO_ROOT / SYSTEMS["FRONTEND_DIR"]
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": migrated.url_string(drivername="postgresql"),
        "BETTER_AUTH_SECRET": BETTER_AUTH_SECRET,
        "BETTER_AUTH_URL": f"http://localhost:{frontend_port}",
        "BACKEND_URL": f"http://127.0.0.1:{backend_port}",
        "NEXT_TELEMETRY_DISABLED": "1",
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    # next.config.ts's rewrites are fixed at build time: the build knows this test's API port.
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
        yield f"http://localhost:{frontend_port}"
    finally:
        for server in (frontend, backend):
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture
def browser_page(web_app: str) -> Iterator[Page]:
    """A page of Chromium (Playwright), patient as a loaded CI machine needs."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=30_000)
        yield page
        browser.close()
