"""The backend API against a database migrated by `make migrate`, with users made by Better Auth itself."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from conftest import REPO_ROOT, Database, free_port, session_cookie, start_api
from scripts.tools import NODE_BIN

SECRET = "test-only-better-auth-secret-0123456789"


@dataclass(frozen=True)
class Api:
    url: str

    def call(self, method: str, path: str, cookie: str | None = None, body: dict | None = None) -> tuple[int, object]:
        request = urllib.request.Request(
            self.url + path, method=method, data=json.dumps(body).encode() if body else None
        )
        request.add_header("content-type", "application/json")
        if cookie:
            request.add_header("cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                content = response.read()
                return response.status, json.loads(content) if content else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def api(migrated: Database) -> Iterator[Api]:
    port = free_port()
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": migrated.url_string(),
        "BETTER_AUTH_SECRET": SECRET,
        "TZ": "Pacific/Kiritimati",  # UTC+14: a local-time comparison of expiry would show
    }
    server = start_api(port, env)
    api = Api(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if api.call("GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "the API did not start"
        time.sleep(0.2)
    yield api
    server.terminate()
    server.wait(timeout=30)


def sign_up(database: Database, email: str) -> str:
    """A new user, signed up through Better Auth's API; the session cookie it set."""
    result = subprocess.run(
        [
            str(NODE_BIN / "tsx"),
            str(REPO_ROOT / "tests" / "support" / "create-user.mts"),
            email,
            "correct horse battery",
            "Ada",
        ],
        cwd=REPO_ROOT / "nextjs",
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={
            **os.environ,
            "PATH": f"{NODE_BIN}:{os.environ['PATH']}",
            "BETTER_AUTH_SECRET": SECRET,
            "BETTER_AUTH_URL": "http://localhost:3000",
            "DATABASE_URL": database.url_string(drivername="postgresql"),
        },
    )
    created = json.loads(result.stdout.strip().splitlines()[-1])
    assert created["status"] == 200 and created["cookie"].startswith("better-auth.session_token="), result.stdout
    return created["cookie"]


def signed(token: str, secret: str = SECRET) -> str:
    return session_cookie(token, secret)


def test_a_request_without_a_session_gets_401(api: Api) -> None:
    assert api.call("GET", "/notes")[0] == 401


def test_a_signed_in_user_creates_and_lists_notes(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")

    created = api.call("POST", "/notes", cookie, {"title": "first", "body": "hello"})
    listed = api.call("GET", "/notes", cookie)

    assert created[0] == 201
    assert listed == (200, [created[1]])


def test_a_forged_signature_gets_401(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")
    token = urllib.request.unquote(cookie.split("=", 1)[1]).rpartition(".")[0]

    assert api.call("GET", "/notes", signed(token, secret="not-the-secret"))[0] == 401


def test_a_correctly_signed_unknown_token_gets_401(api: Api) -> None:
    assert api.call("GET", "/notes", signed("no-such-session-token"))[0] == 401


def test_an_expired_session_gets_401(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")
    migrated.query("UPDATE session SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 minute'")

    assert api.call("GET", "/notes", cookie)[0] == 401


def test_a_session_that_expires_in_30_minutes_is_accepted(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")
    migrated.query("UPDATE session SET expires_at = (now() AT TIME ZONE 'UTC') + interval '30 minutes'")

    assert api.call("GET", "/notes", cookie)[0] == 200


def test_a_bearer_token_works_like_the_cookie(api: Api, migrated: Database) -> None:
    signed_token = urllib.request.unquote(sign_up(migrated, "ada@example.com").split("=", 1)[1])
    request = urllib.request.Request(api.url + "/notes", headers={"authorization": f"Bearer {signed_token}"})

    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_signature_with_non_ascii_characters_gets_401_not_500(api: Api) -> None:
    assert api.call("GET", "/notes", "better-auth.session_token=x.%C3%A9")[0] == 401


def test_a_user_never_sees_or_deletes_another_users_notes(api: Api, migrated: Database) -> None:
    ada, bob = sign_up(migrated, "ada@example.com"), sign_up(migrated, "bob@example.com")
    note = api.call("POST", "/notes", ada, {"title": "private"})[1]

    assert api.call("GET", "/notes", bob) == (200, [])
    assert api.call("DELETE", f"/notes/{note['id']}", bob)[0] == 404
    assert api.call("GET", "/notes", ada)[1] == [note]


def test_a_user_deletes_their_own_note(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")
    note = api.call("POST", "/notes", cookie, {"title": "temporary"})[1]

    assert api.call("DELETE", f"/notes/{note['id']}", cookie)[0] == 204
    assert api.call("GET", "/notes", cookie) == (200, [])


def test_deleting_a_better_auth_user_deletes_their_notes(api: Api, migrated: Database) -> None:
    cookie = sign_up(migrated, "ada@example.com")
    assert api.call("POST", "/notes", cookie, {"title": "goes with its user"})[0] == 201
    assert migrated.query("SELECT count(*) FROM api.note") == [(1,)]

    migrated.query('DELETE FROM "user"')

    assert migrated.query("SELECT count(*) FROM api.note") == [(0,)]


def test_the_openapi_description_is_served(api: Api) -> None:
    status, document = api.call("GET", "/openapi.json")

    assert status == 200
    assert {"/notes", "/notes/{note_id}"} <= set(document["paths"])
