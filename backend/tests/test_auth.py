"""Authentication: the API knows a caller only by a live Better Auth session, signed with the shared secret.

Probed through a route of the tests' own that needs nothing but `current_user_id`, so these
tests hold for any route that depends on it, whatever features the app has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from app.auth import current_user_id
from testing.auth import BETTER_AUTH_SECRET, User, session_cookie

probe = FastAPI()


@probe.get("/me")
def me(user_id: Annotated[str, Depends(current_user_id)]) -> dict[str, str]:
    return {"user_id": user_id}


@pytest.fixture
def client(serve: Callable[[FastAPI], TestClient]) -> TestClient:
    return serve(probe)


@pytest.fixture
def ada(users: tuple[User, User]) -> User:
    return users[0]


def expire_in(connection: Connection, user: User, interval: str) -> None:
    """Move the user's session expiry to now (in UTC, as Better Auth writes it) plus ``interval``."""
    connection.execute(
        text(
            "UPDATE session SET expires_at = (now() AT TIME ZONE 'UTC') + CAST(:interval AS interval) WHERE token = :t"
        ),
        {"interval": interval, "t": user.token},
    )


def test_a_signed_in_user_is_known_by_their_better_auth_id(client: TestClient, ada: User) -> None:
    response = client.get("/me", headers={"cookie": ada.cookie})

    assert (response.status_code, response.json()) == (200, {"user_id": ada.id})


def test_a_request_without_a_session_gets_401(client: TestClient) -> None:
    response = client.get("/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_forged_signature_gets_401(client: TestClient, ada: User) -> None:
    forged = session_cookie(ada.token, "not-the-secret")

    assert client.get("/me", headers={"cookie": forged}).status_code == 401


def test_a_correctly_signed_unknown_token_gets_401(client: TestClient) -> None:
    unknown = session_cookie("no-such-session-token", BETTER_AUTH_SECRET)

    assert client.get("/me", headers={"cookie": unknown}).status_code == 401


def test_an_expired_session_gets_401(client: TestClient, connection: Connection, ada: User) -> None:
    expire_in(connection, ada, "-1 minute")

    assert client.get("/me", headers={"cookie": ada.cookie}).status_code == 401


def test_a_session_that_expires_in_30_minutes_is_accepted(
    client: TestClient, connection: Connection, ada: User
) -> None:
    # The test process runs at UTC+14 (the `serve` fixture): comparing with local time would refuse it.
    expire_in(connection, ada, "30 minutes")

    assert client.get("/me", headers={"cookie": ada.cookie}).status_code == 200


def test_a_deleted_session_gets_401_at_once(client: TestClient, connection: Connection, ada: User) -> None:
    # Signing out deletes the session row: no token lifetime to wait out.
    connection.execute(text("DELETE FROM session WHERE token = :t"), {"t": ada.token})

    assert client.get("/me", headers={"cookie": ada.cookie}).status_code == 401


def test_a_bearer_token_works_like_the_cookie(client: TestClient, ada: User) -> None:
    response = client.get("/me", headers={"authorization": f"Bearer {ada.signed_token}"})

    assert (response.status_code, response.json()) == (200, {"user_id": ada.id})


def test_a_signature_with_non_ascii_characters_gets_401_not_500(client: TestClient) -> None:
    assert client.get("/me", headers={"cookie": "better-auth.session_token=x.%C3%A9"}).status_code == 401
