"""The test kit's fixtures, a pytest plugin (pyproject.toml: ``-p testing.plugin``): every test folder sees them.

``web_app`` serves the database of the requesting folder's own ``migrated`` fixture: the tooling's
(tests/conftest.py, one per test) or the app's (e.g. the frontend's e2e/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testing.browser import CHROMIUM, CHROMIUM_ARGS, served_apps
from testing.database import Database

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
    with served_apps(migrated.url_string(drivername="postgresql")) as apps:
        yield apps.url


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
