"""One DATABASE_URL, in the form each tool needs, read the way libpq reads it.

Users paste URLs in several forms (``postgres://``, ``postgresql://``,
``postgresql+psycopg2://``, with ``?sslmode=`` and percent-encoded passwords).
libpq is the authority on what such a string means: psycopg2 exposes libpq's own
parser (``parse_dsn``), so a URL means here exactly what it means to psql and
pg_dump, and what libpq refuses is refused here, before any tool runs. No
SQLAlchemy: importing it would cost the migration commands more than their own work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import quote, unquote, urlencode

from psycopg2 import ProgrammingError
from psycopg2.extensions import parse_dsn

ACCEPTED_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
LIBPQ_SCHEME = "postgresql://"
# Names, IPv4, and IPv6 with an optional zone; a socket directory starts with '/'.
HOST_NAME = re.compile(r"^[\w.\-:%]+$")
# libpq's reasons for refusing a URI, said without quoting the URI (it holds the password).
UNKNOWN_PARAMETER = re.compile(r'invalid URI query parameter: "([^"]*)"')
NO_VALUE = re.compile(r'(?:missing|extra) key/value separator "=" in URI query parameter: "([^"]*)"')
PARAMETER_NAME = re.compile(r"^[A-Za-z_]{1,30}$")
SECRET_PARAMETERS = ("password", "sslpassword")
SECRET_PARAMETER_VALUE = re.compile(rf"([?&](?:{'|'.join(SECRET_PARAMETERS)})=)[^&]*")
MASK = "***"


class InvalidDatabaseUrl(ValueError):
    """DATABASE_URL cannot be used; the message names the bad part, never the password."""


def _frozen(query: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(query))


@dataclass(frozen=True)
class DatabaseUrl:
    """A URL's parts as libpq reads them; ``query`` holds its ``?name=value`` parameters.

    As in libpq, a parameter in the query wins over the part of the same meaning
    (``?host=`` over the host); the parts are kept apart so that the URL can be
    rendered again as it was written.
    """

    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: no caller can change a URL another one holds.
        object.__setattr__(self, "query", _frozen(self.query))

    def set(self, **changes: object) -> DatabaseUrl:
        """A copy with some parts changed, e.g. ``url.set(database="postgres")``."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def update_query_dict(self, parameters: Mapping[str, str]) -> DatabaseUrl:
        """A copy with these query parameters added or replaced."""
        return replace(self, query={**self.query, **parameters})


def parse(raw: str) -> DatabaseUrl:
    """Validate ``raw`` and return libpq's reading of it."""
    raw = raw.strip()
    scheme, separator, rest = raw.partition("://")
    if not separator:
        raise InvalidDatabaseUrl("it is not a URL: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    if scheme.lower() not in ACCEPTED_SCHEMES:
        raise InvalidDatabaseUrl(
            f"the scheme {scheme[:40]!r} is not supported: use one of " + ", ".join(f"{s}://" for s in ACCEPTED_SCHEMES)
        )
    before_query, query_text = _split_query(rest)
    parts = _libpq_reading(LIBPQ_SCHEME + before_query)
    query = _libpq_reading(f"{LIBPQ_SCHEME}?{query_text}") if query_text else {}
    # The split above must read the URL exactly as libpq does, or the parts could mean something else.
    if {**parts, **query} != _libpq_reading(LIBPQ_SCHEME + rest):
        raise _unparsable()
    host = parts.get("host") or None
    # First the host: an unencoded '@' or ',' there also makes the port look wrong.
    if host and not (host.startswith("/") or HOST_NAME.match(host)):
        raise InvalidDatabaseUrl(
            "its host has characters no host name has: is an '@', ':' or '/' in the password "
            "not percent-encoded (e.g. '@' as %40)?"
        )
    _port(query.get("port"))  # libpq would refuse it only when connecting
    url = DatabaseUrl(
        host=host,
        port=_port(parts.get("port")),
        username=parts.get("user") or None,
        password=parts.get("password") or None,
        database=parts.get("dbname") or None,
        query=_in_written_order(query, query_text),
    )
    if not url.database:
        raise InvalidDatabaseUrl("it names no database: add /DATABASE after the host")
    if not (url.host or url.query.get("host")):
        raise InvalidDatabaseUrl("it names no host: add @HOST:PORT, or ?host=/path/to/socket/dir for a Unix socket")
    return url


def _split_query(rest: str) -> tuple[str, str]:
    """The URL after its scheme, cut where libpq's query starts.

    libpq ends the user name and password at the first '@' before any '/' (a '?' in
    a password is no query), and the query at the first '?' after them.
    """
    at, slash = rest.find("@"), rest.find("/")
    after_userinfo = at + 1 if at != -1 and (slash == -1 or at < slash) else 0
    question = rest.find("?", after_userinfo)
    return (rest, "") if question == -1 else (rest[:question], rest[question + 1 :])


def _in_written_order(query: dict[str, str], text: str) -> dict[str, str]:
    """libpq's parameters, in the order the URL wrote them (libpq returns its own order)."""
    written = [unquote(part.partition("=")[0]) for part in text.split("&")]
    return dict(sorted(query.items(), key=lambda item: written.index(item[0]) if item[0] in written else len(written)))


def _libpq_reading(uri: str) -> dict[str, str]:
    try:
        return parse_dsn(uri)
    except UnicodeDecodeError:
        # libpq decoded a %XX into a byte that is no UTF-8 text (e.g. %aa in a password).
        raise InvalidDatabaseUrl(
            "a percent-encoded part is not UTF-8 text (e.g. %aa): encode a literal '%' as %25"
        ) from None
    except ProgrammingError as error:
        # libpq's message quotes the URI, password included: only its reason is used.
        reason = str(error)
        if unknown := UNKNOWN_PARAMETER.search(reason):
            raise InvalidDatabaseUrl(
                f"its query parameter {_shown_name(unknown.group(1))} is not a PostgreSQL connection parameter "
                "(Prisma's ?schema= has no meaning here: remove it)"
            ) from None
        if no_value := NO_VALUE.search(reason):
            raise InvalidDatabaseUrl(
                f"its query parameter {_shown_name(no_value.group(1))} is not of the form NAME=VALUE "
                "(percent-encode '=' and '&' in values: %3D, %26)"
            ) from None
        if "forbidden value %00" in reason:
            raise InvalidDatabaseUrl("libpq cannot read it: it has a %00 (a zero byte)") from None
        if "percent-encoded" in reason:
            raise InvalidDatabaseUrl(
                "it has a '%' not followed by two hexadecimal digits: percent-encode '%' itself as %25"
            ) from None
        raise _unparsable() from None


def _shown_name(name: str) -> str:
    """A parameter's name, if it looks like one: a password with a '?' in it would look like a query."""
    return repr(name) if PARAMETER_NAME.match(name) else "(a name that is no parameter name)"


def _unparsable() -> InvalidDatabaseUrl:
    return InvalidDatabaseUrl(
        "it cannot be parsed: check for an unencoded '@', '/' or ':' in the "
        "user name or password (percent-encode them, e.g. '@' as %40)"
    )


def _port(text: str | None) -> int | None:
    """libpq leaves the port unchecked until it connects: checked here, with a plain message."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise InvalidDatabaseUrl("its port is not a number between 1 and 65535")
    return int(text)


def for_libpq(url: DatabaseUrl) -> str:
    """``postgresql://`` form, read the same way by libpq, psql and node-postgres.

    Every reserved character of each part is percent-encoded: node-postgres decodes
    a password with unencoded characters only in part.
    """
    return _render(url, url.password)


def libpq_parameters(url: DatabaseUrl) -> dict[str, str]:
    """What libpq connects with: a query parameter over the part of the same meaning."""
    return _libpq_reading(for_libpq(url))


def for_node(url: DatabaseUrl) -> str:
    """The form node-postgres (drizzle-kit, the Next.js app) reads with libpq's meaning.

    pg-connection-string reads sslmode=require and verify-ca as verify-full (and warns)
    unless told otherwise: with ``uselibpqcompat=true`` every sslmode means what it
    means to libpq and psycopg2 (brianc/node-postgres#3473). libpq itself refuses
    that parameter, so only node-postgres gets it.
    """
    if "sslmode" not in url.query:
        return for_libpq(url)
    return for_libpq(url.update_query_dict({"uselibpqcompat": "true"}))


def redacted(url: DatabaseUrl) -> str:
    """The URL as it may be shown to a person: no password, in its place or in the query."""
    return SECRET_PARAMETER_VALUE.sub(rf"\1{MASK}", _render(url, MASK if url.password else None, mask=True))


def _render(url: DatabaseUrl, password: str | None, *, mask: bool = False) -> str:
    userinfo = ""
    if url.username:
        userinfo = quote(url.username, safe="")
        if password:
            userinfo += ":" + (password if mask else quote(password, safe=""))
        userinfo += "@"
    # A host's ':' (IPv6) stays, in brackets; its '%' (an IPv6 zone) and '/' (a socket folder) are encoded.
    host = quote(url.host or "", safe=":")
    host = f"[{host}]" if ":" in host else host
    port = f":{url.port}" if url.port and url.host else ""
    parameters = dict(url.query)
    if url.port and not url.host:
        # A port without a host is no valid URL for node-postgres: libpq also takes it here.
        parameters["port"] = str(url.port)
    # libpq decodes %20 in a URL, never "+": quote_plus would turn "-c x=y" into "-c+x=y".
    query = f"?{urlencode(parameters, quote_via=quote)}" if parameters else ""
    return f"{LIBPQ_SCHEME}{userinfo}{host}{port}/{quote(url.database or '', safe='')}{query}"
