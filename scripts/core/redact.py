"""Keeps passwords out of everything the scripts print, tools' output included."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

_secrets: set[str] = set()


def add_secret(secret: str | None) -> None:
    """Register a password: from now on it is masked in every :func:`redact` call."""
    if secret:
        _secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})


def redact(text: str) -> str:
    # Longest first, so an encoded form is masked whole rather than in parts.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
