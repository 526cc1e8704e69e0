"""The plan (scripts/plan.py): pending migrations applied first to a scratch copy of the schema, so that
a frontend migration that renames or drops what the backend uses is refused before anything is applied."""

from __future__ import annotations

import pytest

from conftest import Clone, Database, alembic_head, append_drizzle_migration, declared, drizzle_tags

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

FRONTEND_BOOKKEEPING = "drizzle.__drizzle_migrations"
RENAME_NAME = 'ALTER TABLE "user" RENAME COLUMN "name" TO "full_name";'
MODEL_STUB_EMAIL = '    Column("email", Text, nullable=False),'


def migrate(clone: Clone, database: Database, target: str = "migrate", **env: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def name_user_column_in_models(clone: Clone, column: str) -> None:
    """The backend's stub of Better Auth's "user" names ``column`` too (models/auth.py)."""
    stub = clone.root / declared(clone.root)["BACKEND_DIR"] / "models" / "auth.py"
    text = stub.read_text()
    assert MODEL_STUB_EMAIL in text
    stub.write_text(text.replace(MODEL_STUB_EMAIL, f'{MODEL_STUB_EMAIL}\n    Column("{column}", Text),'))


def applied_frontend(database: Database) -> int:
    return database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}")[0][0]


def user_columns(database: Database) -> set[str]:
    rows = database.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'user'")
    return {row[0] for row in rows}


def test_a_rename_of_a_column_the_models_name_is_refused_before_anything_is_applied(
    clone: Clone, database: Database
) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    tag = append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert f"{tag}.sql renames or drops what the backend uses" in result.output
    assert '"user".name, which the backend\'s models name' in result.output
    assert "expand, migrate the backend, then contract" in result.output
    assert "make migrate ACCEPT=cross-system-break" in result.output
    assert applied_frontend(database) == applied
    assert "name" in user_columns(database) and "full_name" not in user_columns(database)
    assert not database.query("SELECT datname FROM pg_database WHERE datname LIKE '%%\\_plan\\_%%'")


def test_make_migrate_check_refuses_it_too(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database, "migrate-check")

    assert result.code != 0 and "Error 58" in result.output, result.output


def test_a_rename_under_a_backend_view_is_refused(clone: Clone, database: Database) -> None:
    view = "    op.execute('CREATE VIEW api.user_names AS SELECT id, name FROM public.\"user\"')"
    path = clone.add_alembic_revision("a1ew00000001", alembic_head(clone.root), view)
    path.write_text(path.read_text() + f'\nafter_frontend = "{drizzle_tags(clone.root)[-1]}"\n')
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert (
        "view api.user_names (over public.user.name), which PostgreSQL would rewrite silently "
        "to read public.user.full_name instead" in result.output
    )
    assert applied_frontend(database) == applied
    assert database.query("SELECT name FROM api.user_names") == []


def test_a_drop_under_a_backend_view_is_refused(clone: Clone, database: Database) -> None:
    view = "    op.execute('CREATE VIEW api.user_images AS SELECT id, image FROM public.\"user\"')"
    path = clone.add_alembic_revision("a1ew00000002", alembic_head(clone.root), view)
    path.write_text(path.read_text() + f'\nafter_frontend = "{drizzle_tags(clone.root)[-1]}"\n')
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "drop_image", 'ALTER TABLE "user" DROP COLUMN "image";')

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert "depend on it" in result.output
    assert applied_frontend(database) == applied
    assert "image" in user_columns(database)


def test_an_additive_frontend_migration_is_applied(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "add_nickname", 'ALTER TABLE "user" ADD COLUMN "nickname" text;')

    result = migrate(clone, database)

    assert result.code == 0, result.output
    assert applied_frontend(database) == applied + 1
    assert {"name", "nickname"} <= user_columns(database)


def test_an_accepted_break_is_applied_and_recorded(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database, ACCEPT="cross-system-break")

    assert result.code == 0, result.output
    assert "! accepted (ACCEPT=cross-system-break)" in result.output
    assert "full_name" in user_columns(database)
    ledger = f"{declared(clone.root)['LEDGER_SCHEMA']}.accepted"
    assert database.query(f"SELECT check_name FROM {ledger}") == [("cross-system-break",)]
