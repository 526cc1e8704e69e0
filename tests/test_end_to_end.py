"""A person in a real browser: sign up, sign out, sign in, write a note, reload, still there.

Debian's Chromium, driven by Playwright, against the real Next.js server (a
production build) and the real backend API, on a database migrated by `make migrate`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Database, free_port, start_api
from scripts.tools import NODE_BIN

# Debian's package here; CHROMIUM_PATH elsewhere (the GitHub workflow uses Playwright's own build).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
SECRET = "test-only-better-auth-secret-0123456789"
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


@pytest.fixture
def app(migrated: Database, tmp_path: Path) -> Iterator[str]:
    """The frontend's URL, with the API behind it, both on the test's database."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium on this machine: apt-get install chromium")
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": migrated.url_string(drivername="postgresql"),
        "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_URL": f"http://localhost:{frontend_port}",
        "BACKEND_URL": f"http://127.0.0.1:{backend_port}",
        "NEXT_TELEMETRY_DISABLED": "1",
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    # next.config.ts's rewrites are fixed at build time: the build knows this test's API port.
    build = subprocess.run(["next", "build"], cwd=REPO_ROOT / "nextjs", env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    backend = start_api(backend_port, env)
    frontend = subprocess.Popen(
        ["next", "start", "--hostname", "127.0.0.1", "--port", str(frontend_port)],
        cwd=REPO_ROOT / "nextjs",
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


def test_sign_up_sign_out_sign_in_write_a_note_and_keep_it(app: str, migrated: Database) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=30_000)  # a loaded CI machine renders slowly

        page.goto(app)
        page.get_by_role("button", name="No account yet? Sign up").click()
        page.get_by_label("Name").fill("Ada Lovelace")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_role("heading", name="Notes of Ada Lovelace")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Notes of Ada Lovelace")).to_be_visible()

        page.get_by_label("Title").fill("Analytical engine")
        page.get_by_label("Note", exact=True).fill("It weaves algebraic patterns.")
        page.get_by_role("button", name="Add note").click()
        notes = page.get_by_role("list", name="Notes")
        expect(notes).to_contain_text("Analytical engine")

        page.reload()
        expect(page.get_by_role("list", name="Notes")).to_contain_text("Analytical engine")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "signed-in.png"), full_page=True)
        browser.close()

    # Better Auth wrote the user, the API wrote the note: one database, one owner each.
    assert migrated.query('SELECT email FROM "user"') == [("ada@example.com",)]
    assert migrated.query('SELECT n.title FROM api.note n JOIN "user" u ON u.id = n.user_id') == [
        ("Analytical engine",)
    ]
