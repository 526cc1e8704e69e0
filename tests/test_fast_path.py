"""The no-op fast path of `make migrate`: right when it answers, and it falls through at any doubt."""

from __future__ import annotations

import psycopg
import pytest

from conftest import Clone, add_backend_table, alembic_head, drizzle_tags, frontend_migrations
from scripts.database.lock import LOCK_KEY
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, SYSTEMS

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# The fast path's answer starts so, and nothing else prints it: a run without it did not answer fast.
FAST = "✓ up to date:"
FULL_RUN = "✓ pre-flight:"  # the fast path runs no pre-flight: it reads the database once
# The fixture backend table every `remembered` database has, with its model and revision.
TABLE_NAME, TABLE_REVISION = "fixture_item", "f1x7a0000001"
TABLE = f"{BACKEND_SCHEMA}.{TABLE_NAME}"


@pytest.fixture
def remembered(clone: Clone, database: Database) -> Database:
    """A database at the clone's head (its own migrations and a fixture backend table) whose
    second full run recorded that nothing was left to do (the first applied frontend migrations)."""
    assert add_backend_table(clone, TABLE_NAME, TABLE_REVISION) == TABLE
    assert migrate(clone, database).code == 0
    result = migrate(clone, database)
    assert result.code == 0 and FULL_RUN in result.output, result.output
    assert TABLE in database.tables()
    return database


def migrate(clone: Clone, database: Database, **env: str):
    return clone.make("migrate", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def test_an_unchanged_database_is_answered_without_node_or_alembic(clone: Clone, remembered: Database) -> None:
    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert f"{FAST} frontend at {drizzle_tags()[-1]}, backend at {TABLE_REVISION}" in result.output
    assert FULL_RUN not in result.output and "alembic" not in result.output.split("up to date")[1]


def test_the_fast_path_imports_neither_sqlalchemy_nor_alembic(clone: Clone, remembered: Database) -> None:
    probe = (
        "import sys; from scripts.core import config; from scripts.commands import migrate as run; "
        "record = run.fastpath.up_to_date(config.settings()); "
        "print(record is not None, [m for m in ('sqlalchemy', 'alembic') if m in sys.modules])"
    )
    completed = clone.popen(
        command=["uv", "run", "--frozen", "python", "-c", probe],
        DATABASE_URL=remembered.url_string(),
        ENV_FILE="/dev/null",
    )
    output, _ = completed.communicate(timeout=120)

    assert output.strip().splitlines()[-1] == "True []", output


def test_another_migration_holding_the_lock_falls_through_and_waits(clone: Clone, remembered: Database) -> None:
    with psycopg.connect(remembered.url_string(drivername="postgresql"), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))

        result = migrate(clone, remembered, MIGRATE_LOCK_TIMEOUT="1")

    assert FAST not in result.output
    assert "Error 21" in result.output


def test_a_comment_added_by_hand_to_a_backend_table_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query(f"COMMENT ON COLUMN {TABLE}.title IS 'added by hand'")

    result = migrate(clone, remembered)

    assert FAST not in result.output
    assert "Error 31" in result.output


def test_a_role_that_lost_a_privilege_falls_through_to_pre_flight(
    clone: Clone, database: Database, role: tuple[str, str]
) -> None:
    user, password = role
    as_owner = {"DATABASE_URL": database.url_string(username=user, password=password), "ENV_FILE": "/dev/null"}
    assert clone.make("migrate", **as_owner).code == 0
    assert FULL_RUN in clone.make("migrate", **as_owner).output  # nothing pending: recorded
    database.query(f'REVOKE CREATE ON DATABASE "{database.name}" FROM {user}')

    result = clone.make("migrate", **as_owner)

    assert FAST not in result.output
    assert "Error 15" in result.output


def test_the_run_after_one_that_applied_backend_migrations_is_the_fast_path(clone: Clone, remembered: Database) -> None:
    clone.add_alembic_revision("dddd00000004", alembic_head(clone.root), "    op.execute('SELECT 1')")
    assert FULL_RUN in migrate(clone, remembered).output

    next_run = migrate(clone, remembered)

    assert next_run.code == 0, next_run.output
    assert FAST in next_run.output and FULL_RUN not in next_run.output


def test_the_run_after_one_that_applied_frontend_migrations_checks_in_full_then_records(
    clone: Clone, database: Database
) -> None:
    assert FULL_RUN in migrate(clone, database).output  # Better Auth's migration, among others

    second, third = migrate(clone, database), migrate(clone, database)

    assert FULL_RUN in second.output and "✓ nothing to apply" in second.output, second.output
    assert FAST in third.output


def test_models_that_differ_from_the_applied_migrations_are_said_and_leave_no_record(
    clone: Clone, database: Database
) -> None:
    add_backend_table(clone, TABLE_NAME, TABLE_REVISION)
    model = clone.root / SYSTEMS["BACKEND_DIR"] / "models" / f"{TABLE_NAME}.py"
    model.write_text(model.read_text() + "    forgotten: Mapped[str | None] = mapped_column(Text)\n")

    first = migrate(clone, database)
    second = migrate(clone, database)

    assert "Error 31" in first.output, first.output  # applied, and failed as the next run fails
    assert "✗ backend: the models differ from the database at head: add_column fixture_item" in first.output
    assert "make migration-backend" in first.output
    assert TABLE in database.tables()
    assert FAST not in second.output and "Error 31" in second.output
    assert "✗ backend: the models differ from the database at head: add_column fixture_item" in second.output


def test_a_changed_migration_file_falls_through(clone: Clone, remembered: Database) -> None:
    applied = frontend_migrations(clone.root) / f"{drizzle_tags()[0]}.sql"
    applied.write_text(applied.read_text() + "\n-- edited\n")

    result = migrate(clone, remembered)

    assert FAST not in result.output
    assert "Error 34" in result.output


def test_a_changed_model_falls_through(clone: Clone, remembered: Database) -> None:
    model = clone.root / SYSTEMS["BACKEND_DIR"] / "models" / f"{TABLE_NAME}.py"
    model.write_text(
        model.read_text()
        .replace("title: Mapped[str] = mapped_column(Text)", "title: Mapped[str] = mapped_column(String(300))")
        .replace("import BigInteger", "import String, BigInteger")
    )

    result = migrate(clone, remembered)

    assert FAST not in result.output
    assert "Error 31" in result.output


def test_an_edit_to_either_app_s_own_code_keeps_the_fast_answer(clone: Clone, remembered: Database) -> None:
    # Only what migrations read counts: the backend's app/ and the frontend's pages are the apps' own.
    for edited, comment in (("backend/app/main.py", "# edited"), ("nextjs/app/page.tsx", "// edited")):
        path = clone.root / edited
        path.write_text(f"{path.read_text()}\n{comment}\n")

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST in result.output


def test_an_edit_to_systems_env_falls_through(clone: Clone, remembered: Database) -> None:
    declared = clone.root / "systems.env"
    declared.write_text(declared.read_text() + "\n# edited\n")

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FULL_RUN in result.output


def test_a_pending_migration_falls_through_and_is_applied(clone: Clone, remembered: Database) -> None:
    clone.add_alembic_revision("dddd00000004", alembic_head(clone.root), "    op.execute('SELECT 1')")

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST not in result.output
    assert remembered.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [("dddd00000004",)]


def test_an_unknown_revision_in_the_database_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query(f"UPDATE {BACKEND_BOOKKEEPING} SET version_num = 'feedfacecafe'")

    result = migrate(clone, remembered)

    assert FAST not in result.output
    assert "Error 35" in result.output


def test_a_hand_made_change_to_a_backend_table_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query(f"ALTER TABLE {TABLE} ADD COLUMN stray text")

    result = migrate(clone, remembered)

    assert FAST not in result.output
    assert "Error 31" in result.output


def test_a_rolled_back_database_falls_through_and_is_migrated_again(clone: Clone, remembered: Database) -> None:
    assert clone.make("rollback-backend", DATABASE_URL=remembered.url_string(), ENV_FILE="/dev/null").code == 0
    assert TABLE not in remembered.tables()

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST not in result.output
    assert TABLE in remembered.tables()


def test_another_database_at_the_same_state_falls_through(
    clone: Clone, remembered: Database, reference: Database
) -> None:
    assert migrate(clone, reference).code == 0  # the same migrations, the same schema: only the key differs
    assert migrate(clone, reference).code == 0  # nothing pending: the record is now the reference's

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FULL_RUN in result.output


def test_a_database_that_is_down_falls_through_to_the_full_run(clone: Clone) -> None:
    assert clone.make("migrate").code == 0  # nothing configured: the clone's own local database
    assert FULL_RUN in clone.make("migrate").output  # nothing pending: recorded
    assert clone.make("db-down").code == 0

    result = clone.make("migrate")

    assert result.code == 0, result.output
    assert FAST not in result.output
    assert "local database started" in result.output


def test_production_always_runs_in_full_with_its_backup(clone: Clone, remembered: Database) -> None:
    result = migrate(clone, remembered, ENV="production")

    assert FAST not in result.output
    assert "✓ backup:" in result.output
