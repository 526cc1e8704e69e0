"""The app's tests run the FastAPI app in-process (Starlette's TestClient), on the suite's PostgreSQL.

The database is migrated once per session by `make migrate`, and its users are made once by
Better Auth's own API. Every test then runs inside one transaction that its end rolls back:
the app's sessions join it through a savepoint (their commits release the savepoint, the
outer transaction stays), so whatever a test or the app writes is gone for the next test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from app.auth import auth_secret
from app.database_url import for_sqlalchemy
from app.db import get_session
from testing.auth import BETTER_AUTH_SECRET, User, sign_up
from testing.database import Database, migrated_database_of_its_own


@pytest.fixture(scope="session")
def app_database() -> Iterator[Database]:
    """The app tests' database, at head, for the whole session."""
    with migrated_database_of_its_own("app_tests") as database:
        yield database


@pytest.fixture(scope="session")
def users(app_database: Database) -> tuple[User, User]:
    """Two Better Auth users, signed up once, before any test's transaction: every test sees them."""
    ada, bob = sign_up(app_database, "ada@example.com", "bob@example.com")
    return ada, bob


@pytest.fixture(scope="session")
def engine(app_database: Database) -> Iterator[Engine]:
    engine = create_engine(for_sqlalchemy(app_database.url_string()))
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine, users: tuple[User, User]) -> Iterator[Connection]:
    """The test's connection, in a transaction rolled back at the end: the test's writes and the app's vanish."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def serve(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[FastAPI], TestClient]]:
    """A client of a FastAPI app, in-process, whose database sessions join the test's transaction."""
    monkeypatch.setenv("ENV_FILE", "/dev/null")  # never the developer's .env
    monkeypatch.setenv("BETTER_AUTH_SECRET", BETTER_AUTH_SECRET)
    # UTC+14: an expiry compared with local time rather than UTC would show.
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    auth_secret.cache_clear()
    served: list[FastAPI] = []

    def session() -> Iterator[Session]:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session

    def client(app: FastAPI) -> TestClient:
        app.dependency_overrides[get_session] = session
        served.append(app)
        return TestClient(app)

    yield client
    for app in served:
        app.dependency_overrides.pop(get_session, None)
    monkeypatch.undo()
    time.tzset()
    auth_secret.cache_clear()
