"""The plan (scripts/checks/plan.py): pending migrations applied first to a scratch copy of the schema, so that
a frontend migration that renames or drops what the backend uses is refused before anything is applied."""

from __future__ import annotations

import pytest

from conftest import Clone, alembic_head, append_drizzle_migration, drizzle_tags
from scripts.checks.plan import Dependent, Observed, breaks
from testing.database import Database
from testing.systems import BACKEND_SCHEMA, FRONTEND_BOOKKEEPING, declared

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


VIEW = f"view {BACKEND_SCHEMA}.user_names"


def observed(columns: set[tuple[str, str]], view_definition: str | None, uses: str = "public.user.name") -> Observed:
    dependents = {VIEW: Dependent("backend", view_definition, uses)} if view_definition else {}
    return Observed(frozenset(columns), dependents)


def test_a_column_the_models_name_that_disappears_is_a_break() -> None:
    before = observed({("user", "id"), ("user", "name")}, None)
    after = observed({("user", "id"), ("user", "full_name")}, None)

    assert breaks("frontend", before, after, {"user": ["id", "name"]}) == [
        'column "user".name, which the backend\'s models name'
    ]
    assert breaks("frontend", before, after, {"user": ["id"]}) == []


def test_a_view_rewritten_by_the_other_system_is_a_break_and_by_its_own_is_none() -> None:
    before = observed({("user", "name")}, "SELECT name FROM user")
    after = observed({("user", "full_name")}, "SELECT full_name AS name FROM user", "public.user.full_name")

    [found] = breaks("frontend", before, after, {})
    assert found.startswith(
        f"backend's view {BACKEND_SCHEMA}.user_names (over public.user.name), which PostgreSQL would rewrite"
    )
    assert breaks("backend", before, after, {}) == []
    assert "which it would drop" in breaks("frontend", before, observed(set(), None), {})[0]


@pytest.mark.full  # a copy of the repository, several make runs
def test_a_rename_of_a_column_the_models_name_is_refused_before_anything_is_applied(
    clone: Clone, database: Database
) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    tag = append_drizzle_migration(clone, "rename_name", RENAME_NAME)
    copies = "SELECT datname FROM pg_database WHERE datname LIKE '%%\\_plan\\_%%'"
    before = database.query(copies)

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert f"{tag}.sql renames or drops what the backend uses" in result.output
    assert '"user".name, which the backend\'s models name' in result.output
    assert "expand, migrate the backend, then contract" in result.output
    assert "make migrate ACCEPT=cross-system-break" in result.output
    assert applied_frontend(database) == applied
    assert "name" in user_columns(database) and "full_name" not in user_columns(database)
    assert set(database.query(copies)) <= set(before)  # its scratch copy dropped (another test's killed run's may stay)


# In the inner loop: the plan's check (cross-system-break, 58) seen at work by make test.
def test_make_migrate_check_refuses_it_too(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database, "migrate-check")

    assert result.code != 0 and "Error 58" in result.output, result.output


@pytest.mark.full  # a copy of the repository, several make runs
def test_a_rename_under_a_backend_view_is_refused(clone: Clone, database: Database) -> None:
    view = f"    op.execute('CREATE VIEW {BACKEND_SCHEMA}.user_names AS SELECT id, name FROM public.\"user\"')"
    path = clone.add_alembic_revision("a1ew00000001", alembic_head(clone.root), view)
    path.write_text(path.read_text() + f'\nafter_frontend = "{drizzle_tags(clone.root)[-1]}"\n')
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "rename_name", RENAME_NAME)

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert (
        f"view {BACKEND_SCHEMA}.user_names (over public.user.name), which PostgreSQL would rewrite silently "
        "to read public.user.full_name instead" in result.output
    )
    assert applied_frontend(database) == applied
    assert database.query(f"SELECT name FROM {BACKEND_SCHEMA}.user_names") == []


@pytest.mark.full  # a copy of the repository, several make runs
def test_a_drop_under_a_backend_view_is_refused(clone: Clone, database: Database) -> None:
    view = f"    op.execute('CREATE VIEW {BACKEND_SCHEMA}.user_images AS SELECT id, image FROM public.\"user\"')"
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


@pytest.mark.full  # a copy of the repository, several make runs
def test_an_additive_frontend_migration_is_applied(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "add_nickname", 'ALTER TABLE "user" ADD COLUMN "nickname" text;')

    result = migrate(clone, database)

    assert result.code == 0, result.output
    assert applied_frontend(database) == applied + 1
    assert {"name", "nickname"} <= user_columns(database)


@pytest.mark.full  # a copy of the repository, several make runs
def test_a_plan_that_passed_is_not_made_again_for_the_same_state(clone: Clone, database: Database) -> None:
    assert migrate(clone, database).code == 0
    append_drizzle_migration(clone, "add_nickname", 'ALTER TABLE "user" ADD COLUMN "nickname" text;')
    passed = clone.root / ".cache" / "plan-passed"

    first = migrate(clone, database, "migrate-check")
    assert first.code == 0, first.output
    made = passed.stat().st_mtime_ns
    second = migrate(clone, database, "migrate-check")

    assert second.code == 0, second.output
    assert passed.stat().st_mtime_ns == made  # written only by a plan that ran


@pytest.mark.full  # a copy of the repository, several make runs
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


# ---- docs/migrations.md, "Renaming a column the other system uses": expand, then contract ---------

PROJECT_SCHEMA = """import {{ pgTable, text }} from "drizzle-orm/pg-core";

export * from "../auth-schema";

export const project = pgTable("project", {{
  id: text("id").primaryKey(),
{columns}}});
"""
PROJECT_STUB = '''"""The frontend's "project" table, as far as the backend reads it (migrated by the frontend)."""

from sqlalchemy import BLANK_SCHEMA, Column, Table, Text

from models.base import Base

project_table = Table(
    "project",
    Base.metadata,
    Column("id", Text, primary_key=True),
    Column("{column}", Text),
    schema=BLANK_SCHEMA,
)
'''
BACKFILL = '--> statement-breakpoint\nUPDATE "project" SET "title" = "name" WHERE "title" IS NULL;\n'


@pytest.mark.full  # a copy of the repository, several make runs
def test_renaming_a_column_the_backend_reads_in_two_releases_migrates_at_each_step(
    clone: Clone, database: Database
) -> None:
    frontend, backend = declared(clone.root)["FRONTEND_DIR"], declared(clone.root)["BACKEND_DIR"]
    schema, models = clone.root / frontend / "lib" / "schema.ts", clone.root / backend / "models"
    with (models / "__init__.py").open("a") as init:
        init.write("from models.project import project_table  # noqa: E402,F401\n")

    def release(columns: str, backend_reads: str, name: str, extra_sql: str = "") -> None:
        schema.write_text(PROJECT_SCHEMA.format(columns=columns))
        generated = clone.make("migration-frontend", name=name)
        assert generated.code == 0, generated.output
        if extra_sql:
            [sql] = (clone.root / frontend / "drizzle").glob(f"*_{name}.sql")
            sql.write_text(sql.read_text() + extra_sql)
        (models / "project.py").write_text(PROJECT_STUB.format(column=backend_reads))
        for target in ("migrate-check", "migrate"):
            result = migrate(clone, database, target)
            assert result.code == 0, result.output
            assert "Error 58" not in result.output

    # Before: the backend reads project.name.
    release('  name: text("name").notNull(),\n', "name", "project")
    database.query("INSERT INTO project (id, name) VALUES ('p1', 'Kept')")
    # Release 1, expand: the new column beside the old one, backfilled; the backend reads the new one.
    release('  name: text("name").notNull(),\n  title: text("title"),\n', "title", "project_title", BACKFILL)
    assert database.query("SELECT name, title FROM project") == [("Kept", "Kept")]
    # Release 2, contract: nothing reads the old column any more; it is dropped.
    release('  title: text("title"),\n', "title", "drop_project_name")
    assert database.query("SELECT * FROM project") == [("p1", "Kept")]


@pytest.mark.full  # a copy of the repository, several make runs
def test_the_same_rename_in_one_release_is_refused(clone: Clone, database: Database) -> None:
    name_user_column_in_models(clone, "name")
    assert migrate(clone, database).code == 0
    # What the contract step would do while the backend still reads the old column.
    append_drizzle_migration(clone, "drop_name", 'ALTER TABLE "user" DROP COLUMN "name";')

    result = migrate(clone, database)

    assert "Error 58" in result.output, result.output
    assert '"user".name, which the backend\'s models name' in result.output
    assert "name" in user_columns(database)


@pytest.mark.full  # a copy of the repository, several make runs
def test_a_role_that_may_not_create_the_scratch_database_is_told_so_and_has_a_way_past(
    clone: Clone, database: Database, role: tuple[str, str]
) -> None:
    user, password = role
    as_owner = {"DATABASE_URL": database.url_string(username=user, password=password), "ENV_FILE": "/dev/null"}
    assert clone.make("migrate", **as_owner).code == 0
    applied = applied_frontend(database)
    append_drizzle_migration(clone, "add_nickname", 'ALTER TABLE "user" ADD COLUMN "nickname" text;')

    refused = clone.make("migrate", **as_owner)
    accepted = clone.make("migrate", **as_owner, ACCEPT="plan")

    assert "Error 59" in refused.output
    assert f'ALTER ROLE "{user}" CREATEDB' in refused.output and "make migrate ACCEPT=plan" in refused.output
    assert accepted.code == 0, accepted.output
    assert applied_frontend(database) == applied + 1
