"""`make migrate` and its parts, judged by what they did to a real database."""

from __future__ import annotations

import os

import pytest

from conftest import (
    Clone,
    add_backend_table,
    alembic_head,
    append_drizzle_migration,
    backend_tables,
    drizzle_tags,
    frontend_tables,
    insert_user,
)
from scripts.database.tools import NODE_BIN
from testing.database import Database, run
from testing.systems import BACKEND_BOOKKEEPING, FRONTEND_BOOKKEEPING, SYSTEMS

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# The repository's own tables, whatever models and migrations it has.
FRONTEND_TABLES = frontend_tables()
BACKEND_TABLES = backend_tables()
# The tools' own, and the tooling's checksums of applied revisions (scripts/database/ledger.py), made
# once a revision is applied.
LEDGER = f"{SYSTEMS['LEDGER_SCHEMA']}.applied"
BOOKKEEPING = {FRONTEND_BOOKKEEPING, BACKEND_BOOKKEEPING} | ({LEDGER} if alembic_head() else set())


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
        f"SELECT (SELECT count(*) FROM {FRONTEND_BOOKKEEPING}), (SELECT version_num FROM {BACKEND_BOOKKEEPING})"
    )

    result = migrated.make("migrate")

    assert result.code == 0, result.output
    assert migrated.schema_dump() == schema_before
    assert (
        migrated.query(
            f"SELECT (SELECT count(*) FROM {FRONTEND_BOOKKEEPING}), (SELECT version_num FROM {BACKEND_BOOKKEEPING})"
        )
        == bookkeeping_before
    )


def test_migrate_frontend_alone_creates_only_the_frontend_tables(database: Database) -> None:
    result = database.make("migrate-frontend")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | {FRONTEND_BOOKKEEPING}


def test_migrate_backend_after_the_frontend_creates_the_backend_tables(database: Database) -> None:
    assert database.make("migrate-frontend").code == 0

    result = database.make("migrate-backend")

    assert result.code == 0, result.output
    assert database.tables() == FRONTEND_TABLES | BACKEND_TABLES | BOOKKEEPING


def test_migrate_backend_before_the_frontend_is_refused_by_the_combined_order(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone)  # written after the frontend's newest migration: it needs "user"

    result = migrate(clone, database, "migrate-backend")

    assert "Error 40" in result.output, result.output
    assert "which is not applied yet" in result.output and "make migrate" in result.output
    assert "Traceback" not in result.output
    assert table not in database.tables()


def test_failing_frontend_migration_shows_the_database_error_and_stops(clone: Clone, database: Database) -> None:
    # A statement the database refuses whatever its state: the checks before cannot see it coming.
    failing = append_drizzle_migration(clone, "fixture_failing", "SELECT 1 / 0;")

    result = migrate(clone, database)

    assert result.code != 0
    assert (
        f"nextjs: node scripts/drizzle_migrate.mjs --to {failing} failed in nextjs/drizzle/{failing}.sql (exit 1): "
        "division by zero"
    ) in result.output
    assert "→ backend" not in result.output
    assert "Traceback" not in result.output


def drizzle_rows(database: Database) -> list[tuple]:
    return database.query(f"SELECT id, hash, created_at FROM {FRONTEND_BOOKKEEPING} ORDER BY id")


def test_a_failing_frontend_migration_leaves_the_ones_before_it_applied(clone: Clone, database: Database) -> None:
    before = append_drizzle_migration(clone, "fixture_before", 'CREATE TABLE "fixture_before" (id int);')
    failing = append_drizzle_migration(clone, "fixture_failing", "INSERT INTO \"fixture_before\" VALUES ('x');")
    append_drizzle_migration(clone, "fixture_after", 'CREATE TABLE "fixture_after" (id int);')

    result = migrate(clone, database)

    assert result.code != 0
    assert f"failed in nextjs/drizzle/{failing}.sql" in result.output
    assert 'invalid input syntax for type integer: "x"' in result.output
    applied = drizzle_tags(clone.root)[: drizzle_tags(clone.root).index(before) + 1]
    assert len(drizzle_rows(database)) == len(applied)
    assert FRONTEND_TABLES | {"public.fixture_before"} <= database.tables()
    assert "public.fixture_after" not in database.tables()


def test_an_enum_value_added_by_one_frontend_migration_can_be_used_by_the_next(
    clone: Clone, database: Database
) -> None:
    # PostgreSQL refuses a new enum value in the transaction that added it (55P04): together, these fail.
    append_drizzle_migration(clone, "fixture_mood", "CREATE TYPE \"fixture_mood\" AS ENUM ('calm');")
    append_drizzle_migration(clone, "fixture_mood_happy", "ALTER TYPE \"fixture_mood\" ADD VALUE 'happy';")
    append_drizzle_migration(
        clone, "fixture_mood_used", "CREATE TABLE \"fixture_moods\" (mood fixture_mood DEFAULT 'happy');"
    )

    result = migrate(clone, database)

    assert result.code == 0, result.output
    assert database.query("SELECT enum_range(NULL::fixture_mood)::text") == [("{calm,happy}",)]
    database.query('INSERT INTO "fixture_moods" DEFAULT VALUES')
    assert database.query('SELECT mood::text FROM "fixture_moods"') == [("happy",)]
    assert len(drizzle_rows(database)) == len(drizzle_tags(clone.root))


def test_a_raw_drizzle_kit_migrate_after_make_migrate_applies_nothing(clone: Clone, database: Database) -> None:
    append_drizzle_migration(clone, "fixture_first", 'CREATE TABLE "fixture_first" (id int);')
    append_drizzle_migration(clone, "fixture_second", 'CREATE TABLE "fixture_second" (id int);')
    assert migrate(clone, database).code == 0
    rows, schema = drizzle_rows(database), database.schema_dump()

    raw = run(
        ["drizzle-kit", "migrate"],
        database_url=database.url_string(),
        cwd=clone.root / SYSTEMS["FRONTEND_DIR"],
        PATH=f"{NODE_BIN}:{os.environ['PATH']}",
    )

    assert raw.code == 0, raw.output
    # drizzle-kit found every migration recorded as it records them itself: no row, no change added.
    assert drizzle_rows(database) == rows
    assert database.schema_dump() == schema


def test_the_frontend_runner_stops_after_the_tag_it_is_given(clone: Clone, database: Database) -> None:
    first = append_drizzle_migration(clone, "fixture_first", 'CREATE TABLE "fixture_first" (id int);')
    append_drizzle_migration(clone, "fixture_second", 'CREATE TABLE "fixture_second" (id int);')

    result = run(
        ["node", str(clone.root / "scripts" / "drizzle_migrate.mjs"), "--to", first],
        database_url=database.url_string(),
        PATH=f"{NODE_BIN}:{os.environ['PATH']}",
    )

    assert result.code == 0, result.output
    assert f"✓ applied nextjs/drizzle/{first}.sql" in result.output
    assert "public.fixture_first" in database.tables()
    assert "public.fixture_second" not in database.tables()
    assert len(drizzle_rows(database)) == drizzle_tags(clone.root).index(first) + 1


def test_a_failing_backend_revision_leaves_the_revisions_before_it_applied(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone, "fixture_item", "f1x7a0000001")
    failing = clone.add_alembic_revision("f1x7a0000002", "f1x7a0000001", '    op.execute("SELECT 1/0")')

    result = migrate(clone, database)

    assert result.code != 0
    assert f"failed in {failing.relative_to(clone.root)}" in result.output
    assert "division by zero" in result.output
    assert table in database.tables()
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [("f1x7a0000001",)]


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
    assert database.tables() == FRONTEND_TABLES | {FRONTEND_BOOKKEEPING, BACKEND_BOOKKEEPING, LEDGER}
    assert database.query(f"SELECT count(*) FROM {BACKEND_BOOKKEEPING}") == [(0,)]


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
