"""The frontend's browser tests use the test kit's fixtures (testing.plugin, declared in pyproject.toml):
`web_app`, the Next.js production build with the API behind it, on this folder's `migrated`
database, and `browser_page`, a page of Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.database import Database, migrated_database_of_its_own


@pytest.fixture
def migrated() -> Iterator[Database]:
    """A database of the test's own, at head: what `web_app` serves.

    Not pytest-postgresql's per-test database: its template belongs to the tooling's fixtures (tests/conftest.py),
    and a second copy of them here would try to create that template again.
    """
    with migrated_database_of_its_own("e2e") as database:
        yield database
