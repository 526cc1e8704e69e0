"""The notes sample in a real browser: a signed-in user writes a note, reloads, and it is still there.

Delete this file with the sample (docs/your-app.md, "Remove the sample").
"""

from __future__ import annotations

import pytest

from testing.auth import sign_up
from testing.browser import ARTIFACTS
from testing.database import Database
from testing.systems import BACKEND_SCHEMA

pytestmark = pytest.mark.full


def test_a_signed_in_user_writes_a_note_that_stays_after_a_reload(
    browser_page, web_app: str, migrated: Database
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # Signed up through Better Auth's own API: signing up in the browser is the template's own test.
    (ada,) = sign_up(migrated, "ada@example.com")
    name, value = ada.cookie.split("=", 1)
    page.context.add_cookies([{"name": name, "value": value, "url": web_app}])

    page.goto(f"{web_app}/notes")
    page.get_by_label("Title").fill("Analytical engine")
    page.get_by_label("Note", exact=True).fill("It weaves algebraic patterns.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("list", name="Notes")).to_contain_text("Analytical engine")

    page.reload()
    expect(page.get_by_role("list", name="Notes")).to_contain_text("Analytical engine")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notes.png"), full_page=True)

    # Better Auth wrote the user, the API wrote the note: one database, one owner each.
    assert migrated.query(f'SELECT n.title FROM {BACKEND_SCHEMA}.note n JOIN "user" u ON u.id = n.user_id') == [
        ("Analytical engine",)
    ]
