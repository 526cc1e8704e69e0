"""`make db-reset`: the development database dropped and created again, then migrated and seeded.

Generic over the user's migrations: the new database must hold what the repository's migrations
record and what the seeds add, whatever those are.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import psycopg
import pytest

from conftest import Clone, alembic_head, drizzle_tags
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, FRONTEND_BOOKKEEPING

SEED_USER = {"SEED_USER_EMAIL": "seeded@example.com", "SEED_USER_PASSWORD": "seeded-only-in-tests"}
SCRATCH = "public.made_by_hand"


def users(database: Database, email: str) -> list[tuple]:
    return database.query('SELECT email FROM "user" WHERE email = %s', email)


def database_oid(database: Database) -> int:
    """The database's identity on the server: a dropped and recreated database has a new one."""
    return database.query("SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]


def migrated_to_head(database: Database) -> bool:
    """Both bookkeeping tables record exactly the repository's migrations."""
    applied_drizzle = database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}")[0][0]
    applied_alembic = [row[0] for row in database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}")]
    head = alembic_head()
    return applied_drizzle == len(drizzle_tags()) and applied_alembic == ([head] if head else [])


@pytest.mark.full
def test_reset_drops_what_was_there_and_leaves_a_migrated_seeded_database(migrated: Database) -> None:
    migrated.query(f"CREATE TABLE {SCRATCH} (note text)")
    migrated.query("""INSERT INTO "user" (id, name, email) VALUES ('by-hand', 'By hand', 'by-hand@example.com')""")
    oid = database_oid(migrated)

    result = migrated.make("db-reset", **SEED_USER)

    assert result.code == 0, result.output
    assert database_oid(migrated) != oid
    assert SCRATCH not in migrated.tables()
    assert users(migrated, "by-hand@example.com") == []
    assert migrated_to_head(migrated)
    assert users(migrated, SEED_USER["SEED_USER_EMAIL"]) == [(SEED_USER["SEED_USER_EMAIL"],)]


@pytest.mark.full
def test_reset_ends_the_other_sessions_on_the_database_first(migrated: Database) -> None:
    open_session = psycopg.connect(migrated.url_string(drivername="postgresql"), autocommit=True)

    result = migrated.make("db-reset", **SEED_USER)

    assert result.code == 0, result.output
    ended = re.search(r"→ ending (\d+) other session\(s\) on '(\w+)'", result.output)
    assert ended and int(ended.group(1)) >= 1 and ended.group(2) == migrated.name, result.output
    with pytest.raises(psycopg.OperationalError):
        open_session.execute("SELECT 1")
    open_session.close()


def test_reset_refuses_production_and_changes_nothing(database: Database) -> None:
    database.query(f"CREATE TABLE {SCRATCH} (note text)")
    oid = database_oid(database)

    result = database.make("db-reset", ENV="production")

    assert "Error 27" in result.output
    assert "make db-reset is for development databases, and ENV=production: nothing was changed" in result.output
    assert database_oid(database) == oid and SCRATCH in database.tables()


def test_reset_refuses_the_servers_own_database(database: Database) -> None:
    result = database.make("db-reset", url=database.url_string(database="postgres"))

    assert "Error 27" in result.output
    assert "'postgres' is the server's own: nothing was changed" in result.output


def test_reset_without_createdb_stops_before_dropping_anything(database: Database, role: tuple[str, str]) -> None:
    user, password = role  # owns the database, may not create one
    database.query(f"CREATE TABLE {SCRATCH} (note text)")
    oid = database_oid(database)

    result = database.make("db-reset", url=database.url_string(username=user, password=password))

    assert "Error 15" in result.output
    assert f'the role "{user}" may not create databases (no CREATEDB)' in result.output
    assert f'ALTER ROLE "{user}" CREATEDB' in result.output
    assert password not in result.output and quote(password, safe="") not in result.output
    assert database_oid(database) == oid and SCRATCH in database.tables()


@pytest.mark.full
def test_reset_refuses_a_database_the_template_did_not_start(clone: Clone, database: Database) -> None:
    # The copy's scripts started no server: the suite's own is, to them, a database configured by hand.
    database.query(f"CREATE TABLE {SCRATCH} (note text)")
    oid = database_oid(database)

    result = clone.make("db-reset", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")

    assert "Error 27" in result.output
    assert "is not a database the template started" in result.output and "make db-reset yes=1" in result.output
    assert database_oid(database) == oid and SCRATCH in database.tables()


@pytest.mark.full
def test_reset_with_yes_resets_a_database_the_template_did_not_start_and_says_so(
    clone: Clone, database: Database
) -> None:
    database.query(f"CREATE TABLE {SCRATCH} (note text)")

    result = clone.make("db-reset", "yes=1", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **SEED_USER)

    assert result.code == 0, result.output
    assert f"make db-reset drops the database '{database.name}' with everything in it" in result.output
    assert SCRATCH not in database.tables()
    assert migrated_to_head(database)
    assert users(database, SEED_USER["SEED_USER_EMAIL"]) == [(SEED_USER["SEED_USER_EMAIL"],)]
