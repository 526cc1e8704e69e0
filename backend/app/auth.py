"""Who is calling: the Better Auth session behind the request, checked against the database.

The browser holds Better Auth's session cookie, a session token signed with
BETTER_AUTH_SECRET. The API verifies the signature, then looks the token up in
Better Auth's ``session`` table and refuses it once expired. A deleted or
expired session fails at once, with no second source of truth to keep in sync.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_session
from app.settings import Settings, load_settings
from models import session_table

# Better Auth's cookie name; browsers get the __Secure- one over HTTPS.
SESSION_COOKIES = ("__Secure-better-auth.session_token", "better-auth.session_token")
UNAUTHENTICATED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="not signed in, or the session has expired",
    headers={"WWW-Authenticate": "Bearer"},
)


# .env.example's value, public: fine on a laptop, refused in production.
PLACEHOLDER_SECRET = "change-me-local-development-only-secret"  # noqa: S105 - the value to refuse


# A secret that can be guessed signs cookies anyone can forge: openssl rand -base64 32 gives 44.
MIN_SECRET_CHARACTERS = 32
# The refusal's exit code, as the Docker images' entry point (docs/configuration.md, "Exit codes").
INSECURE_SECRET_EXIT_CODE = 17


def secret_problem(settings: Settings) -> str | None:
    """Why BETTER_AUTH_SECRET cannot sign production sessions, or None. Outside production only a missing one."""
    secret = settings.get("BETTER_AUTH_SECRET", "")
    if not secret:
        return "BETTER_AUTH_SECRET is not set"
    if settings.get("ENV", "development") != "production":
        return None
    if secret == PLACEHOLDER_SECRET:
        return "BETTER_AUTH_SECRET is .env.example's placeholder"
    if len(secret) < MIN_SECRET_CHARACTERS:
        return f"BETTER_AUTH_SECRET is too short ({len(secret)} characters, at least {MIN_SECRET_CHARACTERS})"
    return None


def refuse_insecure_secret() -> None:
    """At start, with ENV=production: one line and a nonzero exit, rather than a 500 on every signed-in request."""
    settings = load_settings()
    if settings.get("ENV", "development") == "production" and (problem := secret_problem(settings)):
        print(f"✗ {problem}: set your own (openssl rand -base64 32), then start the API again", file=sys.stderr)
        raise SystemExit(INSECURE_SECRET_EXIT_CODE)


@lru_cache(maxsize=1)
def auth_secret() -> bytes:
    if problem := secret_problem(load_settings()):
        raise RuntimeError(f"{problem}: the API cannot check sessions")
    return load_settings().get("BETTER_AUTH_SECRET", "").encode()


def verified_token(signed_value: str) -> str | None:
    """The token of a signed cookie value ("token.signature"), or None if the signature is wrong."""
    token, _, signature = unquote(signed_value).rpartition(".")
    expected = base64.b64encode(hmac.new(auth_secret(), token.encode(), hashlib.sha256).digest()).decode()
    # Bytes: compare_digest refuses str with non-ASCII characters, which a forger may send.
    return token if token and hmac.compare_digest(signature.encode(), expected.encode()) else None


def session_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return verified_token(authorization[7:].strip())
    for name in SESSION_COOKIES:
        if cookie := request.cookies.get(name):
            return verified_token(cookie)
    return None


def current_user_id(request: Request, session: Annotated[Session, Depends(get_session)]) -> str:
    token = session_token(request)
    if token is None:
        raise UNAUTHENTICATED
    now_utc = datetime.now(UTC).replace(tzinfo=None)
    user_id = session.scalar(
        select(session_table.c.user_id).where(session_table.c.token == token, session_table.c.expires_at > now_utc)
    )
    if user_id is None:
        raise UNAUTHENTICATED
    return user_id
