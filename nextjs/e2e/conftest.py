"""The frontend's browser tests use the suite's fixtures (tests/conftest.py): the Next.js
production build with the API behind it, and a page of Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import (  # noqa: F401 - fixtures, made visible to the tests of this folder
    Database,
    browser_page,
    migrated_database_of_its_own,
    web_app,
)


@pytest.fixture
def migrated() -> Iterator[Database]:
    """A database of the test's own, at head: what `web_app` serves.

    Not pytest-postgresql's per-test database: its template belongs to tests/'s fixtures,
    and a second copy of them here would try to create that template again.
    """
    with migrated_database_of_its_own("e2e") as database:
        yield database
