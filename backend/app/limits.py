"""Bad input is refused cleanly, before it costs anything: a body limit, and text PostgreSQL cannot store.

- Request bodies: at most MAX_REQUEST_BODY_BYTES (default 1 MB). An ASGI middleware answers 413
  from the Content-Length header alone, before the body is read, parsed or the caller
  authenticated; a body without one (chunked) is counted as it streams and no more is read
  once it is over the limit.
- Validation errors (422) never echo a large input back: FastAPI's ``input`` is shortened.
- PostgreSQL's text holds no NUL character, and UTF-8 no lone surrogate (which JSON's
  ``\\ud800`` escapes can produce): ``StorableText`` refuses them with a 422; a value that
  reaches the database driver anyway is a 422 too, never a 500.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from sqlalchemy.exc import StatementError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import load_settings

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
SHOWN_INPUT_CHARACTERS = 100
TOO_LARGE = "the request body is larger than this API accepts (MAX_REQUEST_BODY_BYTES)"
UNSTORABLE = "text with a NUL character (\\u0000) or a lone surrogate cannot be stored"


@lru_cache(maxsize=1)
def max_body_bytes() -> int:
    value = load_settings().get("MAX_REQUEST_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES)).strip()
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise RuntimeError(f"MAX_REQUEST_BODY_BYTES={value!r} is not a positive number of bytes (e.g. 1048576)")
    return int(value)


class BodySizeLimit:
    """413 for a body over the limit: by its Content-Length before reading, else as it streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max_body_bytes()
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes an HTTPException from reading the body on as it is.
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except HTTPException as error:
            # Read by an app that does not turn exceptions into responses (plain Starlette, a mount).
            if error.status_code != status.HTTP_413_CONTENT_TOO_LARGE or started:
                raise
            await _too_large(send)


async def _too_large(send: Send) -> None:
    response = JSONResponse({"detail": TOO_LARGE}, status_code=status.HTTP_413_CONTENT_TOO_LARGE)
    # The rest of the body is never read: the client must not send it on this connection.
    response.headers["connection"] = "close"
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("it contains a NUL character (\\u0000), which PostgreSQL cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it contains a lone surrogate (e.g. \\ud800), which is no text UTF-8 can hold") from None
    return text


# A str that PostgreSQL can store: use it for the text fields of request models.
StorableText = Annotated[str, AfterValidator(_storable)]


def _shortened(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > SHOWN_INPUT_CHARACTERS:
            return value[:SHOWN_INPUT_CHARACTERS] + "…"
        return _storable_or_none(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return None  # an object or a list: never echoed back


def _storable_or_none(text: str) -> str | None:
    try:
        return _storable(text)
    except ValueError:
        return None


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, with each ``input`` shortened: a 10 MB field is not sent back whole."""
    errors = [{**item, "input": _shortened(item["input"])} if "input" in item else item for item in error.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def unstorable_text(request: Request, error: Exception) -> JSONResponse:
    """Text that reached the database driver without StorableText: psycopg2's refusal is a 422."""
    cause = error.orig if isinstance(error, StatementError) else error
    if isinstance(cause, UnicodeEncodeError) or (isinstance(cause, ValueError) and "NUL (0x00)" in str(cause)):
        return JSONResponse(status_code=422, content={"detail": UNSTORABLE})
    raise error


def install(app: FastAPI) -> None:
    app.add_middleware(BodySizeLimit)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    # psycopg2 raises them before the query is sent (SQLAlchemy wraps some in a StatementError).
    app.add_exception_handler(StatementError, unstorable_text)
    app.add_exception_handler(ValueError, unstorable_text)
