"""One DATABASE_URL, in the form each tool needs.

Users paste URLs in several forms (``postgres://``, ``postgresql://``,
``postgresql+psycopg2://``, with ``?sslmode=`` and percent-encoded passwords).
No tool is trusted to be tolerant: SQLAlchemy 2.1 maps ``postgresql://`` to
psycopg 3 and rejects ``postgres://``. Everything goes through :func:`parse`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

from sqlalchemy.engine import URL, make_url

ACCEPTED_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
SQLALCHEMY_DRIVER = "postgresql+psycopg2"
# libpq's connection parameters: anything else in the query string makes libpq refuse the URL.
LIBPQ_PARAMETERS = frozenset(
    """host hostaddr port dbname user password passfile require_auth channel_binding connect_timeout
    client_encoding options application_name fallback_application_name keepalives keepalives_idle
    keepalives_interval keepalives_count tcp_user_timeout replication gssencmode sslmode requiressl
    sslcompression sslcert sslkey sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni
    requirepeer ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib gssdelegation
    service target_session_attrs load_balance_hosts""".split()
)
HOST_NAME = re.compile(r"^[\w.\-:%]+$")  # names, IPv4, and IPv6 with an optional zone
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InvalidDatabaseUrl(ValueError):
    """DATABASE_URL cannot be used; the message names the bad part, never the password."""


def parse(raw: str) -> URL:
    """Validate ``raw`` and return it as a SQLAlchemy URL for psycopg2."""
    raw = raw.strip()
    scheme, separator, _ = raw.partition("://")
    if not separator:
        raise InvalidDatabaseUrl("it is not a URL: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    if scheme.lower() not in ACCEPTED_SCHEMES:
        raise InvalidDatabaseUrl(
            f"the scheme {scheme[:40]!r} is not supported: use one of " + ", ".join(f"{s}://" for s in ACCEPTED_SCHEMES)
        )
    _check_port(raw)
    try:
        url = make_url(SQLALCHEMY_DRIVER + raw[len(scheme) :])
    except Exception:  # noqa: BLE001 - any parser failure means a malformed URL
        raise InvalidDatabaseUrl(
            "it cannot be parsed: check for an unencoded '@', '/' or ':' in the "
            "user name or password (percent-encode them, e.g. '@' as %40)"
        ) from None
    if not url.database:
        raise InvalidDatabaseUrl("it names no database: add /DATABASE after the host")
    if url.host and not HOST_NAME.match(url.host):
        raise InvalidDatabaseUrl(
            "its host has characters no host name has: is an '@', ':' or '/' in the password "
            "not percent-encoded (e.g. '@' as %40)?"
        )
    unknown = sorted(set(url.query) - LIBPQ_PARAMETERS)
    if unknown:
        # Only a name that looks like one is shown: in a mangled URL, the "name" may hold the password.
        name = repr(unknown[0][:30]) if PARAMETER_NAME.match(unknown[0]) else "(not shown)"
        raise InvalidDatabaseUrl(
            f"its query parameter {name} is not a PostgreSQL connection parameter "
            "(Prisma's ?schema= has no meaning here: remove it)"
        )
    if not (url.host or url.query.get("host")):
        raise InvalidDatabaseUrl("it names no host: add @HOST:PORT, or ?host=/path/to/socket/dir for a Unix socket")
    return url


def _check_port(raw: str) -> None:
    try:
        port = urlsplit(raw).port
    except ValueError:
        raise InvalidDatabaseUrl("its port is not a number between 1 and 65535") from None
    if port == 0:
        raise InvalidDatabaseUrl("its port is not a number between 1 and 65535")


def for_sqlalchemy(raw: str) -> URL:
    """The URL SQLAlchemy and Alembic connect with (psycopg2 driver)."""
    return parse(raw)


def for_libpq(url: URL) -> str:
    """``postgresql://`` form, read the same way by libpq, psql and node-postgres.

    Every reserved character of the user and password is percent-encoded:
    SQLAlchemy leaves some (a space) as they are, and node-postgres then
    decodes the password only in part.
    """
    userinfo = ""
    if url.username:
        userinfo = quote(url.username, safe="")
        if url.password:
            userinfo += ":" + quote(url.password, safe="")
        userinfo += "@"
    host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
    port = f":{url.port}" if url.port and url.host else ""
    parameters = dict(url.query)
    if url.port and not url.host:
        # A port without a host is no valid URL for node-postgres: libpq also takes it here.
        parameters["port"] = str(url.port)
    # libpq decodes %20 in a URL, never "+": quote_plus would turn "-c x=y" into "-c+x=y".
    query = f"?{urlencode(parameters, doseq=True, quote_via=quote)}" if parameters else ""
    return f"postgresql://{userinfo}{host}{port}/{quote(url.database or '', safe='')}{query}"


def for_node(url: URL) -> str:
    """The form node-postgres (drizzle-kit, the Next.js app) reads with libpq's meaning.

    pg-connection-string reads sslmode=require and verify-ca as verify-full (and warns)
    unless told otherwise: with ``uselibpqcompat=true`` every sslmode means what it
    means to libpq and psycopg2 (brianc/node-postgres#3473). libpq itself refuses
    that parameter, so only node-postgres gets it.
    """
    if "sslmode" not in url.query:
        return for_libpq(url)
    return for_libpq(url.update_query_dict({"uselibpqcompat": "true"}))


SECRET_PARAMETERS = ("password", "sslpassword")
SECRET_PARAMETER_VALUE = re.compile(rf"([?&](?:{'|'.join(SECRET_PARAMETERS)})=)[^&]*")


def redacted(url: URL) -> str:
    """The URL as it may be shown to a person: no password, in its place or in the query."""
    shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
    return SECRET_PARAMETER_VALUE.sub(r"\1***", shown)
