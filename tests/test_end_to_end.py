"""A person in a real browser: sign up, sign out, sign in again, on the template's own pages.

Debian's Chromium, driven by Playwright, against the real Next.js server (a production
build) and the real backend API, on a database migrated by `make migrate` (the `web_app`
and `browser_page` fixtures of conftest.py). The sample's own browser test is beside it,
in nextjs/e2e/.
"""

from __future__ import annotations

import re

import pytest

from testing.browser import ARTIFACTS
from testing.database import Database

pytestmark = pytest.mark.full


def test_sign_up_sign_out_and_sign_in_again(browser_page, web_app: str, migrated: Database) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # Whatever page signing in leads to, it greets the user by name.
    greeting = page.get_by_role("heading", name=re.compile("Ada Lovelace"))

    page.goto(web_app)
    page.get_by_role("button", name="No account yet? Sign up").click()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign up").click()
    expect(greeting).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(greeting).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signed-in.png"), full_page=True)

    # Better Auth wrote the user; signing out ended the first session, signing in made the second.
    assert migrated.query('SELECT email FROM "user"') == [("ada@example.com",)]
    assert migrated.query("SELECT count(*) FROM session") == [(1,)]
