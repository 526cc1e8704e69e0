"""``make db-reset``: drop and recreate the development database; the Makefile then migrates and seeds.

    make db-reset  →  python -m scripts reset, then make migrate, then make seed

Through a maintenance connection (the server's ``postgres`` database, else ``template1``, as
``dropdb`` does), after ending the other sessions on the database. What could stop it halfway
is checked before anything is dropped: the role must own the database and may create one
(CREATEDB), so that a reset never leaves the database gone.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extensions import connection

from scripts.core import config
from scripts.core.config import Settings
from scripts.core.database_url import DatabaseUrl
from scripts.core.errors import DatabaseError, DevelopmentOnly, Failure, PermissionDenied
from scripts.database import dbserver, guard
from scripts.database.preflight import check_reachable, connect

MAINTENANCE_DATABASES = ("postgres", "template1")
SERVER_DATABASES = ("postgres", "template0", "template1")
FORCE_DROP_SINCE = 130000  # DROP DATABASE ... WITH (FORCE): PostgreSQL 13


@dataclass(frozen=True)
class Target:
    """The database to reset, and what the connected role may do with it."""

    name: str
    role: str
    exists: bool
    owner: str | None
    owned: bool  # the role owns it, is a member of its owner, or is a superuser
    may_create: bool  # CREATEDB, or a superuser


def database_name(url: DatabaseUrl) -> str:
    """The database the URL names, as libpq reads it (``?dbname=`` first, else the user's name)."""
    return url.query.get("dbname") or url.database or url.username or ""


def maintenance_session(url: DatabaseUrl, settings: Settings) -> connection:
    """A connection to the same server, in a database that is not the one to drop."""
    timeout = config.seconds(settings, "DB_CONNECT_TIMEOUT", "5")
    query = {name: value for name, value in url.query.items() if name != "dbname"}
    failure: Failure | None = None
    for name in MAINTENANCE_DATABASES:
        try:
            return connect(url.set(database=name, query=query), timeout, settings.migration_url_name)
        except Failure as refused:
            failure = failure or refused
    assert failure is not None
    failure.message = f"db-reset connects to the server's postgres database to drop the other: {failure.message}"
    raise failure


def inspect(session: connection, name: str) -> Target:
    with session.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_user, r.rolsuper OR r.rolcreatedb, d.datname IS NOT NULL, pg_get_userbyid(d.datdba),
                   coalesce(pg_has_role(d.datdba, 'MEMBER'), false)
            FROM pg_roles r LEFT JOIN pg_database d ON d.datname = %s
            WHERE r.rolname = current_user
            """,
            (name,),
        )
        role, may_create, exists, owner, owned = cursor.fetchone()
    return Target(name=name, role=role, exists=exists, owner=owner, owned=owned, may_create=may_create)


def check_possible(target: Target) -> None:
    """Everything that would stop the reset after the drop, found before it."""
    if target.name in SERVER_DATABASES:
        raise DevelopmentOnly(
            f"make db-reset drops the database DATABASE_URL names, and {target.name!r} is the server's own: "
            "nothing was changed",
            "point DATABASE_URL to your app's database",
        )
    if target.exists and not target.owned:
        raise PermissionDenied(
            f'the role "{target.role}" does not own the database {target.name!r} (its owner is "{target.owner}"), '
            "so it cannot drop it: nothing was changed",
            "run make db-reset with the owner's credentials in DATABASE_URL, or drop and create it as its owner",
        )
    if not target.may_create:
        raise PermissionDenied(
            f'the role "{target.role}" may not create databases (no CREATEDB): after dropping {target.name!r} '
            "it could not create it again, so nothing was changed",
            f'as a superuser: ALTER ROLE "{target.role}" CREATEDB; or drop and recreate the database as one',
        )


def other_sessions(session: connection, name: str) -> int:
    with session.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        return cursor.fetchone()[0]


def drop(session: connection, name: str) -> None:
    database = sql.Identifier(name)
    with session.cursor() as cursor:
        try:
            if session.server_version >= FORCE_DROP_SINCE:
                # Ends the sessions and drops in one statement: none can connect in between.
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(database))
            else:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cursor.execute(sql.SQL("DROP DATABASE {}").format(database))
        except errors.InsufficientPrivilege as error:
            raise PermissionDenied(
                f"cannot end the other sessions on {name!r}: {_first_line(error)}; nothing was dropped",
                "stop them (make dev, psql, ...), or run make db-reset as their role or a superuser",
            ) from None
        except errors.ObjectInUse as error:
            raise DatabaseError(
                f"other sessions kept using {name!r}: {_first_line(error)}; nothing was dropped",
                "stop them (make dev, psql, ...), then run make db-reset again",
            ) from None


def create(session: connection, target: Target) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name))
    if target.owner and target.owner != target.role:
        statement += sql.SQL(" OWNER {}").format(sql.Identifier(target.owner))
    with session.cursor() as cursor:
        try:
            cursor.execute(statement)
        except psycopg2.Error as error:
            raise DatabaseError(
                f"{target.name!r} was dropped, but creating it again failed: {_first_line(error)}",
                f'as a role with CREATEDB: CREATE DATABASE "{target.name}"; then make migrate and make seed',
            ) from None


def reset(url: DatabaseUrl, settings: Settings, *, confirmed: bool) -> None:
    if settings.uses_example_defaults:
        print("No DATABASE_URL configured: resetting the project-local database of .env.example's defaults.")
        dbserver.up(url, settings)
    check_reachable(url, config.seconds(settings, "DB_WAIT_SECONDS", "0"), settings.migration_url_name, settings)
    session = maintenance_session(url, settings)
    try:
        target = inspect(session, database_name(url))
        check_possible(target)
        guard.refuse_unless_started_here(
            url,
            settings,
            session,
            "db-reset",
            f"drops the database {target.name!r} with everything in it, then migrates and seeds a new one",
            confirmed=confirmed,
        )
        if target.exists:
            if sessions := other_sessions(session, target.name):
                print(f"→ ending {sessions} other session(s) on {target.name!r} (make dev, psql, ...: they reconnect)")
            drop(session, target.name)
            print(f"✓ dropped the database {target.name!r}")
        create(session, target)
        print(f"✓ created the database {target.name!r}, empty: migrating and seeding it next")
    finally:
        session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="also reset a database the template did not start")
    args = parser.parse_args()
    settings = config.settings()
    guard.refuse_production(settings, "db-reset")
    reset(config.database_url(settings), settings, confirmed=args.yes)


def _first_line(error: psycopg2.Error) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
