"""The no-op fast path of `make migrate`: right when it answers, and it falls through at any doubt."""

from __future__ import annotations

import psycopg
import pytest

from conftest import Clone, Database
from scripts.lock import LOCK_KEY

# Only in `make test-all`: make migrate again and again, in copies of the repository.
pytestmark = pytest.mark.full

HEAD = "96c9745930f4"
FAST_ANSWER = "✓ up to date: frontend at 0000_better_auth, backend at 96c9745930f4"
FULL_RUN = "→ nextjs: drizzle-kit migrate"


@pytest.fixture
def remembered(clone: Clone, migrated: Database) -> Database:
    """A database at head whose second full run recorded that nothing was left to do."""
    result = migrate(clone, migrated)
    assert result.code == 0 and FULL_RUN in result.output, result.output
    return migrated


def migrate(clone: Clone, database: Database, **env: str):
    return clone.make("migrate", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def test_an_unchanged_database_is_answered_without_node_or_alembic(clone: Clone, remembered: Database) -> None:
    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST_ANSWER in result.output
    assert FULL_RUN not in result.output and "alembic" not in result.output.split("up to date")[1]


def test_the_fast_path_imports_neither_sqlalchemy_nor_alembic(clone: Clone, remembered: Database) -> None:
    probe = (
        "import sys; from scripts import config, run; "
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

    assert FAST_ANSWER not in result.output
    assert "Error 21" in result.output


def test_a_comment_added_by_hand_to_a_backend_table_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query("COMMENT ON COLUMN api.note.title IS 'added by hand'")

    result = migrate(clone, remembered)

    assert FAST_ANSWER not in result.output
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

    assert FAST_ANSWER not in result.output
    assert "Error 15" in result.output


def test_the_first_run_after_applying_migrations_still_runs_in_full(clone: Clone, database: Database) -> None:
    assert FULL_RUN in migrate(clone, database).output

    second = migrate(clone, database)

    assert FULL_RUN in second.output


def test_a_changed_migration_file_falls_through(clone: Clone, remembered: Database) -> None:
    applied = clone.root / "nextjs" / "drizzle" / "0000_better_auth.sql"
    applied.write_text(applied.read_text() + "\n-- edited\n")

    result = migrate(clone, remembered)

    assert FAST_ANSWER not in result.output
    assert "Error 34" in result.output


def test_a_changed_model_falls_through(clone: Clone, remembered: Database) -> None:
    note = clone.root / "backend" / "models" / "note.py"
    note.write_text(
        note.read_text()
        .replace("mapped_column(Text)", "mapped_column(String(300))")
        .replace("import BigInteger", "import String, BigInteger")
    )

    result = migrate(clone, remembered)

    assert FAST_ANSWER not in result.output
    assert "Error 31" in result.output


def test_a_pending_migration_falls_through_and_is_applied(clone: Clone, remembered: Database) -> None:
    clone.add_alembic_revision("dddd00000004", HEAD, "    op.execute('CREATE TABLE api.more (id int)')")

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST_ANSWER not in result.output
    assert "api.more" in remembered.tables()


def test_an_unknown_revision_in_the_database_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query("UPDATE api.alembic_version SET version_num = 'feedfacecafe'")

    result = migrate(clone, remembered)

    assert FAST_ANSWER not in result.output
    assert "Error 35" in result.output


def test_a_hand_made_change_to_a_backend_table_falls_through(clone: Clone, remembered: Database) -> None:
    remembered.query("ALTER TABLE api.note ADD COLUMN stray text")

    result = migrate(clone, remembered)

    assert FAST_ANSWER not in result.output
    assert "Error 31" in result.output


def test_a_rolled_back_database_falls_through_and_is_migrated_again(clone: Clone, remembered: Database) -> None:
    assert clone.make("rollback-backend", DATABASE_URL=remembered.url_string(), ENV_FILE="/dev/null").code == 0

    result = migrate(clone, remembered)

    assert result.code == 0, result.output
    assert FAST_ANSWER not in result.output
    assert "api.note" in remembered.tables()


def test_another_database_at_the_same_state_falls_through(
    clone: Clone, remembered: Database, reference: Database
) -> None:
    assert migrate(clone, reference).code == 0  # the same migrations, the same schema: only the key differs

    result = migrate(clone, reference)

    assert result.code == 0, result.output
    assert FULL_RUN in result.output


def test_a_database_that_is_down_falls_through_to_the_full_run(clone: Clone) -> None:
    assert clone.make("migrate").code == 0  # nothing configured: the clone's own local database
    assert FULL_RUN in clone.make("migrate").output  # nothing pending: recorded
    assert clone.make("db-down").code == 0

    result = clone.make("migrate")

    assert result.code == 0, result.output
    assert FAST_ANSWER not in result.output
    assert "local database started" in result.output


def test_production_always_runs_in_full_with_its_backup(clone: Clone, remembered: Database) -> None:
    result = migrate(clone, remembered, ENV="production")

    assert FAST_ANSWER not in result.output
    assert "✓ backup:" in result.output
