"""Bad input is refused cleanly: a body over the limit (413) before it is read or anyone is
authenticated, no large input echoed back in a 422, no 500 for text PostgreSQL cannot store, and
no start in production with a secret anyone could guess.

The body limit is probed on the app itself (app.main), whatever routes it has; the rest through
routes of the tests' own that use the app's parts (app.limits, the database session).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import limits
from app.auth import PLACEHOLDER_SECRET, current_user_id
from app.db import get_session
from app.main import app
from testing.auth import User

BACKEND_DIR = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def default_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MAX_REQUEST_BODY_BYTES", raising=False)
    limits.max_body_bytes.cache_clear()
    yield
    limits.max_body_bytes.cache_clear()


@pytest.fixture
def client(serve: Callable[[FastAPI], TestClient]) -> TestClient:
    return serve(app)


class Item(BaseModel):
    name: limits.StorableText = Field(max_length=200)
    raw: str = ""  # not StorableText: the database driver's refusal must still be no 500


probe = FastAPI()
limits.install(probe)


@probe.post("/items")
def store(
    item: Item, user_id: Annotated[str, Depends(current_user_id)], db: Annotated[Session, Depends(get_session)]
) -> dict[str, str]:
    return {"stored": db.scalar(text("SELECT CAST(:raw AS text)"), {"raw": item.raw})}


@pytest.fixture
def probe_client(serve: Callable[[FastAPI], TestClient]) -> TestClient:
    return serve(probe)


async def read_the_whole_body(scope: dict, receive: Callable, send: Callable) -> None:
    """An endpoint that reads every chunk it is given, as a route with a body does."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def call_asgi(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]], asgi_app: Callable = app
) -> tuple[list[dict], int]:
    """The app called as a server calls it; what it sent, and how many body chunks it read."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/notes",
        "raw_path": b"/notes",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(asgi_app(scope, receive, send))
    return sent, read


def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read_or_authenticated() -> None:
    sent, read = call_asgi([b"x" * (2 * MB)], [(b"content-length", str(2 * MB).encode())])

    assert sent[0]["status"] == 413
    assert read == 0


def test_a_chunked_body_is_counted_and_no_more_is_read_once_over_the_limit() -> None:
    chunks = [b"x" * (256 * 1024)] * 40  # 10 MB, no Content-Length

    # Around an endpoint of its own that reads the body: the app's routes are the user's.
    sent, read = call_asgi(chunks, [], limits.BodySizeLimit(read_the_whole_body))

    assert sent[0]["status"] == 413
    assert read == 5  # the fifth chunk passes 1 MB: nothing after it


def test_a_body_over_the_limit_is_413_through_the_client(client: TestClient) -> None:
    response = client.post("/notes", content=b"x" * (MB + 1), headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert "MAX_REQUEST_BODY_BYTES" in response.json()["detail"]


def test_the_limit_is_configurable(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "100")
    limits.max_body_bytes.cache_clear()

    assert client.post("/health", content=b"x" * 101).status_code == 413
    assert client.post("/health", content=b"x" * 100).status_code == 405  # within the limit: routed


def test_a_validation_error_does_not_echo_a_large_input(probe_client: TestClient, users: tuple[User, User]) -> None:
    ada, _ = users
    huge = "y" * (900 * 1024)

    response = probe_client.post("/items", json={"name": huge}, headers={"cookie": ada.cookie})

    assert response.status_code == 422
    assert len(response.content) < 2000
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("bad", ['"a\\u0000b"', '"a\\ud800b"'], ids=["NUL", "lone surrogate"])
def test_text_postgresql_cannot_store_is_a_422(probe_client: TestClient, users: tuple[User, User], bad: str) -> None:
    ada, _ = users
    body = f'{{"name": {bad}}}'.encode()

    response = probe_client.post(
        "/items", content=body, headers={"cookie": ada.cookie, "content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("bad", ['"a\\u0000b"', '"a\\ud800b"'], ids=["NUL", "lone surrogate"])
def test_unstorable_text_that_reaches_the_database_driver_is_a_422_not_a_500(
    probe_client: TestClient, users: tuple[User, User], bad: str
) -> None:
    ada, _ = users
    body = f'{{"name": "fine", "raw": {bad}}}'.encode()

    response = probe_client.post(
        "/items", content=body, headers={"cookie": ada.cookie, "content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert "cannot be stored" in response.json()["detail"]


def start_in_production(secret: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BETTER_AUTH_SECRET"}
    env.update(ENV="production", ENV_FILE="/dev/null")
    if secret is not None:
        env["BETTER_AUTH_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-c", "import app.main"], cwd=BACKEND_DIR, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "secret", [PLACEHOLDER_SECRET, "short-secret", "x" * 31], ids=["placeholder", "short", "31 characters"]
)
def test_production_refuses_to_start_with_a_guessable_secret(secret: str) -> None:
    result = start_in_production(secret)

    assert result.returncode == 17, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("✗ BETTER_AUTH_SECRET is")
    assert secret not in result.stderr


def test_production_starts_with_a_secret_of_32_characters() -> None:
    result = start_in_production("x" * 32)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["DATABASE_URL", "DIRECT_DATABASE_URL"])
def test_a_database_url_set_but_empty_is_refused_not_replaced_by_the_local_default(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_DATABASE_URL")}
    env.update(ENV_FILE="/dev/null", **{name: ""})
    code = "from app.db import engine\ntry:\n    engine()\nexcept RuntimeError as error:\n    print(error)"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BACKEND_DIR, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.startswith(f"{name} is set but empty"), result.stdout + result.stderr
