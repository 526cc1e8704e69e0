"""The test kit shared by the app's tests (backend/tests, the frontend's e2e) and the tooling's (tests/).

A package of helpers and a pytest plugin (``testing.plugin``, declared with ``-p`` in pyproject.toml's
pytest options), apart from tests/: the app's tests import from here, never from tests/ by name.

- ``testing.systems``: the names systems.env declares (folders, schemas, bookkeeping tables);
- ``testing.database``: the suite's PostgreSQL server, databases on it, running commands against them;
- ``testing.auth``: Better Auth users signed up through its own API, and their session cookies;
- ``testing.browser``: the apps served on a production build, and a page of Chromium;
- ``testing.plugin``: the fixtures (``web_app``, ``browser_page``).
"""
