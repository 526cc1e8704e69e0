"""The frontend's browser tests use the suite's fixtures (tests/conftest.py): a migrated database,
the Next.js production build with the API behind it, and a page of Chromium."""

from conftest import (  # noqa: F401 - fixtures, made visible to the tests of this folder
    browser_page,
    database,
    migrated,
    postgresql,
    postgresql_noproc,
    web_app,
)
