"""Better Auth users for tests: signed up through Better Auth's own API, and its session cookies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from scripts.database.tools import NODE_BIN
from testing.database import Database
from testing.systems import REPO_ROOT, SYSTEMS

BETTER_AUTH_SECRET = "test-only-better-auth-secret-0123456789"


@dataclass(frozen=True)
class User:
    """A Better Auth user: its id, and the session cookie its sign-up set."""

    email: str
    id: str
    cookie: str

    @property
    def signed_token(self) -> str:
        """The cookie's value: the session token and its signature, as a Bearer token carries it."""
        return urllib.parse.unquote(self.cookie.split("=", 1)[1])

    @property
    def token(self) -> str:
        return self.signed_token.rpartition(".")[0]


def session_cookie(token: str, secret: str) -> str:
    """A Better Auth session cookie for ``token``, signed as Better Auth signs it."""
    signature = base64.b64encode(hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()).decode()
    return "better-auth.session_token=" + urllib.parse.quote(f"{token}.{signature}", safe="")


def sign_up(database: Database, *emails: str) -> list[User]:
    """New users, signed up through Better Auth's own API (testing/support/create-user.mts), at once."""
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
        "BETTER_AUTH_SECRET": BETTER_AUTH_SECRET,
        "BETTER_AUTH_URL": "http://localhost:3000",
        "DATABASE_URL": database.url_string(drivername="postgresql"),
    }
    script = Path(__file__).parent / "support" / "create-user.mts"
    started = [
        subprocess.Popen(
            [str(NODE_BIN / "tsx"), str(script), email, "correct horse battery", email.split("@")[0].title()],
            cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for email in emails
    ]
    users = []
    for email, process in zip(emails, started, strict=True):
        output = process.communicate(timeout=120)[0]
        assert process.returncode == 0, output
        created = json.loads(output.strip().splitlines()[-1])
        assert created["status"] == 200 and created["cookie"].startswith("better-auth.session_token="), output
        users.append(User(email, created["userId"], created["cookie"]))
    return users
