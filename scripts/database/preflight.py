"""Pre-flight: is the database in DATABASE_URL ready to be migrated?

Checks, in order, and stops at the first failure (exit codes in scripts/core/errors.py):
1. DATABASE_URL is set;  2. it is well-formed;  3. the server answers;
4. it accepts the credentials and the database exists;  5. the role may create tables;
6. the connection keeps its own session (not a transaction-mode pooler);
7. what the session is told reaches the server and lasts: startup options, and a SET
   (not dropped by a pooler: scripts/database/session_settings.py).
Each connects as the tools will, startup options included. Migrations use
DIRECT_DATABASE_URL instead of DATABASE_URL when it is set.

Run alone: ``uv run python -m scripts preflight`` (``make preflight``).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

import psycopg2
from psycopg2.extensions import connection
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from scripts.core import config, systems
from scripts.core.config import Settings
from scripts.core.database_url import DatabaseUrl, for_libpq, redacted
from scripts.core.errors import (
    AuthenticationFailed,
    DatabaseMissing,
    DatabaseUnreachable,
    Failure,
    MalformedDatabaseUrl,
    PermissionDenied,
    SessionSettingsLost,
    TlsFailed,
    TransactionPooler,
)
from scripts.database import dbserver, session_settings
from scripts.database.localcluster import LocalCluster

DEFAULT_PORT = 5432
# A server that is starting or restarting answers, but refuses logins for a moment.
TRANSIENT_SERVER_STATES = ("starting up", "shutting down", "in recovery mode")
TRANSIENT_GRACE_SECONDS = 10
UNSUPPORTED_PARAMETER = re.compile(r"unsupported startup parameter: (\w+)")


class ServerNotReady(DatabaseUnreachable):
    """The server answers but is starting or stopping: worth waiting for."""


@dataclass(frozen=True)
class Database:
    """A database that passed pre-flight."""

    url: DatabaseUrl
    settings: Settings

    @property
    def libpq_url(self) -> str:
        return for_libpq(self.url)

    @property
    def display(self) -> str:
        return redacted(self.url)


def check_reachable(url: DatabaseUrl, wait_seconds: float, variable: str, settings: Settings) -> None:
    """Check 3: something listens where the URL points, waiting up to ``wait_seconds``."""
    try:
        _wait_for_server(url, wait_seconds, variable)
    except DatabaseUnreachable as failure:
        if failure.hint is None:  # nothing answers: whether to start it depends on whose it is
            failure.hint = _start_hint(url, variable, settings)
        raise


def _wait_for_server(url: DatabaseUrl, wait_seconds: float, variable: str) -> None:
    try:
        _probe(url, variable)
        return
    except DatabaseUnreachable as first:
        if wait_seconds <= 0:
            raise
        print(f"… {first.message}; waiting up to {wait_seconds:g} s (DB_WAIT_SECONDS)")
    retry(
        retry=retry_if_exception_type(DatabaseUnreachable),
        stop=stop_after_delay(wait_seconds),
        wait=wait_fixed(0.25),
        reraise=True,
    )(_probe)(url, variable)


def _probe(url: DatabaseUrl, variable: str) -> None:
    # As libpq reads the URL: its query wins over its parts, and a host starting with '/'
    # is the folder of a Unix socket.
    host = url.query.get("host") or url.host or "localhost"
    port = int(url.query.get("port") or url.port or DEFAULT_PORT)  # checked by parse()
    if host.startswith("/"):
        _probe_unix(f"{host}/.s.PGSQL.{port}", variable)
    else:
        _probe_tcp(host, port, variable)


def _probe_tcp(host: str, port: int, variable: str) -> None:
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DatabaseUnreachable(
            f"cannot resolve the database host {host!r} (DNS lookup failed)",
            f"check the host name in {variable}",
        ) from None
    family, kind, proto, _, address = addresses[0]
    with socket.socket(family, kind, proto) as sock:
        sock.settimeout(5)
        try:
            sock.connect(address)
        except ConnectionRefusedError:
            raise DatabaseUnreachable(
                f"no database server is listening on {where} (connection refused)",
                None,
            ) from None
        except TimeoutError:
            raise DatabaseUnreachable(
                f"no answer from {where} within 5 s (timeout: a firewall, or the wrong host?)",
                None,
            ) from None
        except OSError as error:
            raise DatabaseUnreachable(f"cannot reach {where}: {error.strerror or error}", None) from None


def _probe_unix(path: str, variable: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError as error:
            raise DatabaseUnreachable(
                f"no database server answers on the Unix socket {path} ({error.strerror})",
                f"start the server, or fix ?host= in {variable}",
            ) from None


def _start_hint(url: DatabaseUrl, variable: str, settings: Settings) -> str:
    """Start the template's own local database only: one the user configured is theirs to start."""
    host = url.query.get("host") or url.host or "localhost"
    if not dbserver.is_local_host(host):
        return f"check the host and port in {variable}, and that the server is running"
    if LocalCluster.for_url(url, settings).is_initialised():
        return "start the template's local database: make db-up"
    return (
        f"start the PostgreSQL server {variable} points to (the template starts none it did not create; "
        "make db-up would create its own local database on that port)"
    )


def startup_options(url: DatabaseUrl, settings: Settings) -> str | None:
    """The startup parameter ``options`` the tools will send: the URL's own, else PGOPTIONS
    (from the environment or the env file, which the tools get too)."""
    return url.query.get("options") or settings.get("PGOPTIONS", "") or None


def connect(
    url: DatabaseUrl,
    timeout: float = 5,
    variable: str = "DATABASE_URL",
    options: str | None = None,
    bounds: dict[str, str] | None = None,
    role: str | None = "tooling",
) -> connection:
    """Check 4: log in (with ``options``, the startup options the tools send). Returns an open
    psycopg2 connection (autocommit), bounded as a migration's session is (``bounds``, by default
    the configured DB_LOCK_TIMEOUT and DB_STATEMENT_TIMEOUT): the tooling's own queries never
    wait without end behind a lock (scripts/database/session_settings.py)."""
    if bounds is None:
        bounds = config.migration_bounds(config.settings())
    try:
        session = retry(
            retry=retry_if_exception_type(ServerNotReady),
            stop=stop_after_delay(TRANSIENT_GRACE_SECONDS),
            wait=wait_fixed(0.25),
            reraise=True,
        )(_login)(url, timeout, variable, options, bounds, role)
    except ServerNotReady as failure:
        raise DatabaseUnreachable(failure.message, "wait for the server, then run the command again") from None
    return session


def _login(
    url: DatabaseUrl, timeout: float, variable: str, options: str | None, bounds: dict[str, str], role: str | None
) -> connection:
    try:
        return session_settings.open_session(
            for_libpq(url), connect_timeout=timeout, bounds=bounds, options=options, role=role
        )
    except psycopg2.OperationalError as error:
        raise _classify_login_error(url, str(error), variable) from None
    except psycopg2.ProgrammingError:
        # libpq's reason may quote part of the URL, password included: not shown.
        raise MalformedDatabaseUrl(
            f"{variable} is malformed: libpq cannot read it (a bad percent-encoding, e.g. %00?)",
            "fix it; the expected form is postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        ) from None


def _classify_login_error(url: DatabaseUrl, text: str, variable: str) -> Failure:
    first_line = next((line for line in text.splitlines() if line.strip()), text).strip()
    reason = first_line.split("FATAL:", 1)[-1].strip()
    user, database = url.username or "(default user)", url.database
    if "password authentication failed" in text or "no password supplied" in text:
        return AuthenticationFailed(
            f"the database refused the password of user {user!r}",
            f"check the user name and password in {variable}",
        )
    if "role" in text and "does not exist" in text:
        return AuthenticationFailed(
            f"the database has no user (role) {user!r}",
            f"check the user name in {variable}, or create the role",
        )
    if "database" in text and "does not exist" in text:
        return DatabaseMissing(
            f"the database {database!r} does not exist on the server",
            f"create it: createdb -h {url.host} -p {url.port or DEFAULT_PORT} -U {user} {database}"
            + (" (or run make db-up, which creates it)" if dbserver.is_local_host(url.host) else ""),
        )
    if tls_problem := _tls_problem(text):
        return TlsFailed(f"TLS: {tls_problem}", f"check sslmode and sslrootcert in {variable} (docs/configuration.md)")
    if refused := UNSUPPORTED_PARAMETER.search(text):
        return SessionSettingsLost(
            f"the server {variable} points to refuses the startup parameter {refused.group(1)!r} "
            "(from the URL's ?options= or PGOPTIONS): a connection pooler such as PgBouncer is in between",
            "remove options from the URL and PGOPTIONS (the template SETs its timeouts in the session instead), "
            "or set DIRECT_DATABASE_URL to the database's direct address; adding options to PgBouncer's "
            "ignore_startup_parameters would drop them silently",
        )
    if any(state in text for state in TRANSIENT_SERVER_STATES):
        return ServerNotReady(f"the database server is not ready: {reason}")
    return DatabaseUnreachable(f"cannot connect to the database: {reason}", f"check {variable}")


def _tls_problem(text: str) -> str | None:
    """libpq's certificate and TLS failures, said plainly."""
    if "certificate verify failed" in text:
        return (
            "the server's certificate is not signed by the certificate authority in sslrootcert (or by a trusted one)"
        )
    if "does not match host name" in text:
        return "the server's certificate is for another host name than the one in the URL (sslmode=verify-full)"
    if "root certificate file" in text and "does not exist" in text:
        return "sslmode=verify-ca/verify-full needs the certificate authority: add sslrootcert=/path/to/ca.crt"
    if "server does not support SSL" in text:
        return "the server does not offer TLS, but the URL's sslmode requires it"
    return None


def check_can_create(database: connection) -> None:
    """Check 5: the role may create the tables both tools will create."""
    # The frontend's schema (public) must exist; the others, each tool creates on its first run.
    frontend_schema, *other_schemas = systems.load().schemas
    with database.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_user, has_database_privilege(current_database(), 'CREATE'),
                   (SELECT json_object_agg(nspname, has_schema_privilege(oid, 'CREATE'))
                      FROM pg_namespace WHERE nspname = ANY(%s))
            """,
            ([frontend_schema, *other_schemas],),
        )
        user, on_database, on_schemas = cursor.fetchone()
    on_schemas = on_schemas or {}
    if frontend_schema not in on_schemas:
        raise PermissionDenied(
            f'the schema "{frontend_schema}" does not exist in this database',
            f"create it as the database owner: CREATE SCHEMA {frontend_schema}",
        )
    if not on_schemas[frontend_schema]:
        raise PermissionDenied(
            f'the role "{user}" may not create tables in the schema "{frontend_schema}"',
            f'as the owner: GRANT CREATE ON SCHEMA {frontend_schema} TO "{user}" (or make the role the database owner)',
        )
    for schema in other_schemas:
        if on_schemas.get(schema) is False:
            raise PermissionDenied(
                f'the role "{user}" may not create tables in the schema "{schema}"',
                f'as the owner: GRANT CREATE ON SCHEMA {schema} TO "{user}"',
            )
    if not on_database:
        # Checked even when the schemas exist: both tools run CREATE SCHEMA IF NOT EXISTS on
        # every run, and PostgreSQL checks the privilege before it looks for the schema.
        raise PermissionDenied(
            f'the role "{user}" may not create schemas in this database (both tools run CREATE SCHEMA IF NOT EXISTS)',
            f'as the owner: GRANT CREATE ON DATABASE "{database.info.dbname}" TO "{user}"',
        )


def _sessions_not_kept(first: connection, second: connection) -> bool:
    with first.cursor() as a, second.cursor() as b:
        a.execute("SELECT pg_backend_pid()")
        before = a.fetchone()[0]
        b.execute("SELECT pg_backend_pid()")
        if b.fetchone()[0] == before:
            # Two open connections on one server session: a pooler with a single server
            # connection (where the test below would wait for it until the pooler gives up).
            return True
        b.execute("BEGIN")
        b.execute("SELECT pg_backend_pid()")
        other = b.fetchone()[0]
        a.execute("SELECT pg_backend_pid()")
        after = a.fetchone()[0]
        b.execute("ROLLBACK")
    return other == before or after != before


def check_own_session(url: DatabaseUrl, timeout: float, variable: str) -> None:
    """Check 6: each connection keeps its own server session (no transaction-mode pooler).

    Through PgBouncer in transaction mode, a connection's next transaction may run on
    another server session: the migration lock and lock_timeout would not hold. Seen
    by behaviour: a session handed to another client, or a connection changing session.
    """
    first, second = connect(url, timeout, variable), connect(url, timeout, variable)
    try:
        pooled = _sessions_not_kept(first, second)
    except psycopg2.OperationalError as error:
        # e.g. PgBouncer's query_wait_timeout: no server connection came free in time.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnreachable(
            f"the connection failed while pre-flight tested it: {reason}", f"check {variable} and the server"
        ) from None
    finally:
        first.close()
        second.close()
    if pooled:
        raise TransactionPooler(
            f"{variable} goes through a connection pooler in transaction mode: a migration's session "
            "(its lock, its lock_timeout) would not survive from one transaction to the next; nothing was changed",
            "set DIRECT_DATABASE_URL to the database's direct address (not the pooler's) for migrations; "
            "the apps keep DATABASE_URL",
        )


def check_settings_reach_the_server(
    url: DatabaseUrl, timeout: float, variable: str, options: str | None, bounds: dict[str, str]
) -> None:
    """Check 7, on a session of its own (after check 6 has closed its two), with nothing SET
    before it: what is in force is what the startup options did."""
    session = connect(url, timeout, variable, options, bounds={}, role=None)
    try:
        if options:
            session_settings.check_startup_options(session, options, variable)
        session_settings.check_bounds_last(session, bounds, variable)
    finally:
        session.close()


def run_preflight(settings: Settings | None = None, *, quiet: bool = False) -> Database:
    """All seven checks; starts the project-local database when nothing is configured."""
    settings = settings or config.settings()
    url = config.database_url(settings)
    if settings.uses_example_defaults:
        print(
            "No DATABASE_URL configured (no environment variable, no .env): using the defaults "
            "of .env.example and the project-local database."
        )
        dbserver.up(url, settings)
    variable = settings.migration_url_name
    check_reachable(url, config.seconds(settings, "DB_WAIT_SECONDS", "0"), variable, settings)
    timeout = config.seconds(settings, "DB_CONNECT_TIMEOUT", "5")
    bounds = config.migration_bounds(settings)
    options = startup_options(url, settings)
    session = connect(url, timeout, variable, options, bounds)
    try:
        check_can_create(session)
    finally:
        session.close()
    check_own_session(url, timeout, variable)
    check_settings_reach_the_server(url, timeout, variable, options, bounds)
    database = Database(url=url, settings=settings)
    if not quiet:
        print(f"✓ pre-flight: {database.display} is ready")
    return database
