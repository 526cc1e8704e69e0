"""DATABASE_URL in the form SQLAlchemy connects with: psycopg2, whatever scheme was pasted.

`make` checks the URL before the apps start (pre-flight, scripts/); here it is only
read: SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3 and refuses ``postgres://``.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

ACCEPTED_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")


class InvalidDatabaseUrl(ValueError):
    """DATABASE_URL cannot be used; the message never shows the password."""


def for_sqlalchemy(raw: str) -> URL:
    scheme, separator, rest = raw.strip().partition("://")
    if not separator or scheme.lower() not in ACCEPTED_SCHEMES:
        raise InvalidDatabaseUrl("it is not a postgresql:// URL (check it with: make preflight)")
    return make_url(f"postgresql+psycopg2://{rest}")
