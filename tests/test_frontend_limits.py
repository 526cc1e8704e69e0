"""The frontend refuses bad input cleanly, as a production build (`next start`) with the API behind it.

What is enforced where (docs/configuration.md, "Request limits"): Better Auth's route
(nextjs/lib/request-limits.ts) answers 413 to a Content-Length over MAX_REQUEST_BODY_BYTES before
reading the body, counts a chunked one, and refuses text PostgreSQL cannot store (422); a request
rewritten to the backend streams through to it, and the backend's own limit refuses it.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable, Iterator

import pytest

from testing.browser import served_apps
from testing.database import migrated_database_of_its_own

pytestmark = pytest.mark.full

MB = 1024 * 1024
SIGN_UP = "/api/auth/sign-up/email"


def declared_too_large(port: int, path: str) -> str:
    """A request that declares 300 MB and sends 1 kB: the status line, answered without the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300 * MB}\r\n\r\n".encode()
            + b"x" * 1024
        )
        return connection.recv(4096).decode(errors="replace").splitlines()[0]


def chunked(port: int, path: str, size: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = (b"x" * (64 * 1024) for _ in range(size // (64 * 1024)))
        try:
            connection.request(
                "POST", path, body=body, headers={"Content-Type": "application/json"}, encode_chunked=True
            )
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        return connection.getresponse().status
    finally:
        connection.close()


def post_json(port: int, path: str, raw: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST", path, body=raw, headers={"Content-Type": "application/json", "Origin": f"http://localhost:{port}"}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def attempt(request: Callable[..., object], *args: object) -> object:
    """What a request got, or how it failed (e.g. a server that waits for all of 300 MB: a timeout)."""
    try:
        return request(*args)
    except OSError as error:
        return f"{type(error).__name__}: {error}"


@pytest.fixture(scope="module")
def seen() -> Iterator[dict[str, object]]:
    """One production build and its servers; what each request got (the tests assert on it)."""
    with (
        migrated_database_of_its_own("frontend_limits") as database,
        # The apps' own default limit, whatever this environment says.
        served_apps(database.url_string(drivername="postgresql"), without=("MAX_REQUEST_BODY_BYTES",)) as apps,
    ):
        port = apps.port
        user = {"email": "limits@example.com", "password": "correct horse battery", "name": "Limits"}
        yield {
            "declared auth": attempt(declared_too_large, port, SIGN_UP),
            "declared api": attempt(declared_too_large, port, "/api/notes"),
            "chunked auth": attempt(chunked, port, SIGN_UP, 2 * MB),
            "chunked api": attempt(chunked, port, "/api/notes", 2 * MB),
            "nul name": post_json(port, SIGN_UP, json.dumps({**user, "name": "a\u0000b"}).encode()),
            "surrogate name": post_json(
                port,
                SIGN_UP,
                b'{"email": "s@example.com", "password": "correct horse battery", "name": "a\\ud800b"}',
            ),
            "sign-up": post_json(port, SIGN_UP, json.dumps(user).encode()),
            "users": database.query('SELECT email FROM public."user" ORDER BY email'),
            "frontend alive": apps.frontend.poll() is None,
        }


@pytest.mark.parametrize("route", ["auth", "api"])
def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(seen: dict, route: str) -> None:
    assert " 413 " in str(seen[f"declared {route}"]), seen[f"declared {route}"]


@pytest.mark.parametrize("route", ["auth", "api"])
def test_a_chunked_body_over_the_limit_is_refused(seen: dict, route: str) -> None:
    assert seen[f"chunked {route}"] == 413


@pytest.mark.parametrize("case", ["nul name", "surrogate name"])
def test_text_postgresql_cannot_store_is_a_422_and_creates_no_user(seen: dict, case: str) -> None:
    status, body = seen[case]
    assert status == 422, body


def test_a_sign_up_within_the_limits_still_works(seen: dict) -> None:
    status, body = seen["sign-up"]
    assert status == 200, body
    assert seen["users"] == [("limits@example.com",)]
    assert seen["frontend alive"]
