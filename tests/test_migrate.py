"""`make migrate` and its parts, judged by what they did to a real database."""

from __future__ import annotations

import pytest

from conftest import (
    Clone,
    Database,
    add_backend_table,
    append_drizzle_migration,
    backend_tables,
    frontend_tables,
    insert_user,
)

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# The repository's own tables, whatever models and migrations it has.
FRONTEND_TABLES = frontend_tables()
BACKEND_TABLES = backend_tables()
BOOKKEEPING = {"drizzle.__drizzle_migrations", "api.alembic_version"}


def created_in_transaction(database: Database, table: str) -> int:
    """The id of the transaction that created ``table``: a later one has a larger id."""
    return database.query("SELECT xmin::text::bigint FROM pg_class WHERE oid = %s::regclass", table)[0][0]


def test_migrate_on_an_empty_database_creates_both_systems_tables(database: Database) -> None:
    result = database.make("migrate")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | BACKEND_TABLES | BOOKKEEPING


def migrate(clone: Clone, database: Database, *targets: str, **env: str):
    """``make TARGETS`` (default: migrate) in the clone, on ``database``."""
    return clone.make(*(targets or ["migrate"]), DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def test_migrate_runs_the_frontend_before_the_backend(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)

    assert migrate(clone, database).code == 0

    assert created_in_transaction(database, 'public."user"') < created_in_transaction(database, table)


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


def test_migrate_backend_before_the_frontend_fails_with_the_database_error(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)  # its foreign key needs the frontend's "user"

    result = migrate(clone, database, "migrate-backend")

    assert result.code != 0
    assert 'relation "user" does not exist' in result.output
    assert "Traceback" not in result.output
    assert table not in database.tables()


def test_failing_frontend_migration_shows_the_database_error_and_stops(clone: Clone, database: Database) -> None:
    failing = append_drizzle_migration(clone, "fixture_in_the_way", 'CREATE TABLE "fixture_in_the_way" (id int);')
    database.query('CREATE TABLE "fixture_in_the_way" (id text)')  # in the way of the newest Drizzle migration

    result = migrate(clone, database)

    assert result.code != 0
    assert (
        f"nextjs: drizzle-kit migrate failed in nextjs/drizzle/{failing}.sql (exit 1): "
        'relation "fixture_in_the_way" already exists'
    ) in result.output
    assert "→ backend" not in result.output
    # The pending migrations ran in one transaction: nothing of them is left, only Drizzle's empty bookkeeping.
    assert database.tables() == {"public.fixture_in_the_way", "drizzle.__drizzle_migrations"}
    assert database.query("SELECT count(*) FROM drizzle.__drizzle_migrations") == [(0,)]


def test_rollback_then_migrate_backend_restores_the_same_schema(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)
    assert migrate(clone, database).code == 0
    schema_at_head = database.schema_dump()

    rollback = migrate(clone, database, "rollback-backend")
    assert rollback.code == 0, rollback.output
    assert table not in database.tables()

    upgrade = migrate(clone, database, "migrate-backend")
    assert upgrade.code == 0, upgrade.output
    assert database.schema_dump() == schema_at_head


def test_rollback_to_base_removes_only_backend_tables(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)
    assert migrate(clone, database).code == 0
    assert table in database.tables()

    result = migrate(clone, database, "rollback-backend", "to=base")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | {"drizzle.__drizzle_migrations", "api.alembic_version"}
    assert database.query("SELECT count(*) FROM api.alembic_version") == [(0,)]


def test_a_backend_foreign_key_to_the_user_table_cascades_across_schemas(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)
    assert migrate(clone, database).code == 0
    insert_user(database, "u1")
    database.query(f"INSERT INTO {table} (user_id, title) VALUES ('u1', 'first')")

    database.query("""DELETE FROM "user" WHERE id = 'u1'""")

    assert database.query(f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_direct_url_given_to_make_wins_over_the_env_files_for_both_tools(clone: Clone, database: Database) -> None:
    in_env_file = Database(database.url.set(database=f"{database.name}_env_file"))
    database.query(f'CREATE DATABASE "{in_env_file.name}"')
    try:
        table = add_backend_table(clone)
        (clone.root / ".env").write_text(f"DIRECT_DATABASE_URL={in_env_file.url_string()}\n")

        result = clone.make("migrate", DIRECT_DATABASE_URL=database.url_string())

        assert result.code == 0, result.output
        assert FRONTEND_TABLES | {table} <= database.tables()
        assert in_env_file.tables() == set()
    finally:
        database.query(f'DROP DATABASE "{in_env_file.name}" WITH (FORCE)')
