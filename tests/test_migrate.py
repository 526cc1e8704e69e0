"""`make migrate` and its parts, judged by what they did to a real database."""

from __future__ import annotations

import pytest

from conftest import Clone, Database

# Only in `make test-all`: make migrate end to end, test after test.
pytestmark = pytest.mark.full

FRONTEND_TABLES = {"public.user", "public.session", "public.account", "public.verification"}
BACKEND_TABLES = {"api.note"}
BOOKKEEPING = {"drizzle.__drizzle_migrations", "api.alembic_version"}


def created_in_transaction(database: Database, table: str) -> int:
    """The id of the transaction that created ``table``: a later one has a larger id."""
    return database.query("SELECT xmin::text::bigint FROM pg_class WHERE oid = %s::regclass", table)[0][0]


def test_migrate_on_an_empty_database_creates_both_systems_tables(database: Database) -> None:
    result = database.make("migrate")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | BACKEND_TABLES | BOOKKEEPING


def test_migrate_runs_the_frontend_before_the_backend(database: Database) -> None:
    assert database.make("migrate").code == 0

    assert created_in_transaction(database, 'public."user"') < created_in_transaction(database, "api.note")


def test_second_migrate_changes_nothing_and_exits_0(migrated: Database) -> None:
    schema_before = migrated.schema_dump()
    bookkeeping_before = migrated.query(
        "SELECT (SELECT count(*) FROM drizzle.__drizzle_migrations), (SELECT version_num FROM api.alembic_version)"
    )

    result = migrated.make("migrate")

    assert result.code == 0, result.output
    assert migrated.schema_dump() == schema_before
    assert (
        migrated.query(
            "SELECT (SELECT count(*) FROM drizzle.__drizzle_migrations), (SELECT version_num FROM api.alembic_version)"
        )
        == bookkeeping_before
    )


def test_migrate_frontend_alone_creates_only_the_frontend_tables(database: Database) -> None:
    result = database.make("migrate-frontend")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | {"drizzle.__drizzle_migrations"}


def test_migrate_backend_after_the_frontend_creates_the_backend_tables(database: Database) -> None:
    assert database.make("migrate-frontend").code == 0

    result = database.make("migrate-backend")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | BACKEND_TABLES | BOOKKEEPING


def test_migrate_backend_before_the_frontend_fails_with_the_database_error(database: Database) -> None:
    result = database.make("migrate-backend")

    assert result.code != 0
    assert 'relation "user" does not exist' in result.output
    assert "Traceback" not in result.output
    assert "api.note" not in database.tables()


def test_failing_frontend_migration_shows_the_database_error_and_stops(database: Database) -> None:
    database.query('CREATE TABLE "session" (id text)')  # in the way of the first Drizzle migration

    result = database.make("migrate")

    assert result.code != 0
    assert (
        "nextjs: drizzle-kit migrate failed in nextjs/drizzle/0000_better_auth.sql (exit 1): "
        'relation "session" already exists'
    ) in result.output
    assert "→ backend" not in result.output
    # The migration ran in one transaction: nothing of it is left, only Drizzle's empty bookkeeping.
    assert database.tables() == {"public.session", "drizzle.__drizzle_migrations"}
    assert database.query("SELECT count(*) FROM drizzle.__drizzle_migrations") == [(0,)]


def test_rollback_then_migrate_backend_restores_the_same_schema(migrated: Database) -> None:
    schema_at_head = migrated.schema_dump()

    rollback = migrated.make("rollback-backend")
    assert rollback.code == 0, rollback.output
    assert "api.note" not in migrated.tables()

    upgrade = migrated.make("migrate-backend")
    assert upgrade.code == 0, upgrade.output
    assert migrated.schema_dump() == schema_at_head


def test_rollback_to_base_removes_only_backend_tables(migrated: Database) -> None:
    result = migrated.make("rollback-backend", "to=base")

    assert result.code == 0, result.output
    assert migrated.tables() == FRONTEND_TABLES | {"drizzle.__drizzle_migrations", "api.alembic_version"}
    assert migrated.query("SELECT count(*) FROM api.alembic_version") == [(0,)]


def test_deleting_a_user_deletes_their_notes(migrated: Database) -> None:
    migrated.query(
        """INSERT INTO "user" (id, name, email, updated_at) VALUES ('u1', 'Ada', 'ada@example.com', now())"""
    )
    migrated.query("INSERT INTO api.note (user_id, title) VALUES ('u1', 'first')")

    migrated.query("""DELETE FROM "user" WHERE id = 'u1'""")

    assert migrated.query("SELECT count(*) FROM api.note") == [(0,)]


def test_a_direct_url_given_to_make_wins_over_the_env_files_for_both_tools(clone: Clone, database: Database) -> None:
    in_env_file = Database(database.url.set(database=f"{database.name}_env_file"))
    database.query(f'CREATE DATABASE "{in_env_file.name}"')
    try:
        (clone.root / ".env").write_text(f"DIRECT_DATABASE_URL={in_env_file.url_string()}\n")

        result = clone.make("migrate", DIRECT_DATABASE_URL=database.url_string())

        assert result.code == 0, result.output
        assert {"public.user", "api.note"} <= database.tables()
        assert in_env_file.tables() == set()
    finally:
        database.query(f'DROP DATABASE "{in_env_file.name}" WITH (FORCE)')
