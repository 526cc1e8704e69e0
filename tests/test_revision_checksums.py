"""Applied Alembic revisions are checksummed (scripts/database/ledger.py): an edit is caught, a reformat is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Clone, add_backend_table, backend_migrations
from scripts.database import ledger
from testing.database import Database
from testing.systems import BACKEND_SCHEMA, declared

REVISION = "f1x7a0000001"
TABLE = "fixture_item"
LEDGER = "migrate_ledger.applied"


def make(clone: Clone, database: Database, target: str, **env: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def revision_file(clone: Clone) -> Path:
    return backend_migrations(clone.root) / f"{REVISION}_{TABLE}.py"


def applied_fixture(clone: Clone, database: Database) -> Path:
    add_backend_table(clone, TABLE, REVISION)
    result = make(clone, database, "migrate")
    assert result.code == 0, result.output
    return revision_file(clone)


# ---- What counts as a change: the code, not its layout (fast) ---------------------------

SOURCE = f'''"""add a table

Revision ID: abc
"""
from alembic import op

revision = "abc"


def upgrade() -> None:
    op.execute("CREATE TABLE {BACKEND_SCHEMA}.t (id int)")
'''


def test_comments_blank_lines_and_docstrings_are_no_change() -> None:
    reformatted = (
        SOURCE.replace('"""add a table', '"""add a table, reworded')
        .replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    # why: a note added later\n\n")
        .replace("revision = ", "\n\nrevision  =  ")
    )

    assert ledger.code_checksum(reformatted) == ledger.code_checksum(SOURCE)


def test_a_changed_statement_is_a_change() -> None:
    edited = SOURCE.replace("(id int)", "(id int, name text)")

    assert ledger.code_checksum(edited) != ledger.code_checksum(SOURCE)


def test_a_checksum_from_another_python_is_compared_by_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "abc_add_a_table.py"
    path.write_text(SOURCE)
    from_other_python = ledger.Checksum(
        code="computed by another Python", file=ledger.checksum(path).file, python="3.0"
    )

    assert ledger.checksum(path).matches(from_other_python)
    path.write_text(SOURCE + "# one more line\n")
    assert not ledger.checksum(path).matches(from_other_python)


# ---- On a real database, through make (full tier) ----------------------------------------


@pytest.mark.full
def test_an_edited_applied_revision_is_named_by_migrate_check_with_the_fix(clone: Clone, database: Database) -> None:
    path = applied_fixture(clone, database)
    path.write_text(
        path.read_text().replace('sa.Column("title"', 'sa.Column("extra", sa.Text()),\n        sa.Column("title"')
    )

    result = make(clone, database, "migrate-check")

    assert "Error 34" in result.output, result.output
    assert f"{path.relative_to(clone.root)} was changed after it was applied to this database" in result.output
    assert "make migration-backend" in result.output


@pytest.mark.full
def test_an_edited_applied_revision_blocks_make_migrate(clone: Clone, database: Database) -> None:
    path = applied_fixture(clone, database)
    path.write_text(
        path.read_text().replace(
            f'schema="{BACKEND_SCHEMA}",\n    )', f'schema="{BACKEND_SCHEMA}",\n    )\n    op.execute("SELECT 1")'
        )
    )
    clone.add_alembic_revision(
        "a1a1a1a1a1a1", REVISION, f"    op.execute('CREATE TABLE {BACKEND_SCHEMA}.after_the_edit (id int)')"
    )

    result = make(clone, database, "migrate")

    assert "Error 34" in result.output, result.output
    assert f"{BACKEND_SCHEMA}.after_the_edit" not in database.tables()


@pytest.mark.full
def test_a_reformatted_applied_revision_passes(clone: Clone, database: Database) -> None:
    path = applied_fixture(clone, database)
    path.write_text(
        "# reviewed in PR 12\n"
        + path.read_text().replace("def upgrade() -> None:", "\ndef upgrade() -> None:  # creates the table")
    )

    result = make(clone, database, "migrate-check")

    assert result.code == 0, result.output


@pytest.mark.full
def test_a_database_migrated_before_checksums_gets_them_recorded_once_with_a_note(
    clone: Clone, database: Database
) -> None:
    add_backend_table(clone, TABLE, REVISION)
    assert make(clone, database, "migrate-frontend").code == 0
    backend = declared(clone.root)["BACKEND_DIR"]
    raw = clone.run(
        "uv",
        "run",
        "--frozen",
        "--directory",
        backend,
        "alembic",
        "upgrade",
        "head",
        DATABASE_URL=database.url_string(),
    )
    assert raw.code == 0, raw.output
    assert database.query(f"SELECT to_regclass('{LEDGER}')") == [(None,)]

    first = make(clone, database, "migrate")
    second = make(clone, database, "migrate")

    assert first.code == 0 and second.code == 0, first.output + second.output
    assert "recorded the checksums of" in first.output and REVISION in first.output
    assert "recorded the checksums of" not in second.output
    assert (REVISION,) in database.query(f"SELECT migration FROM {LEDGER} WHERE system = 'backend'")


@pytest.mark.full
def test_a_rolled_back_revision_may_be_edited_before_it_is_applied_again(clone: Clone, database: Database) -> None:
    path = applied_fixture(clone, database)
    assert make(clone, database, "rollback-backend").code == 0
    assert (REVISION,) not in database.query(f"SELECT migration FROM {LEDGER}")
    path.write_text(
        path.read_text().replace('sa.Column("title"', 'sa.Column("extra", sa.Text()),\n        sa.Column("title"')
    )
    model = clone.root / declared(clone.root)["BACKEND_DIR"] / "models" / f"{TABLE}.py"
    model.write_text(model.read_text() + "    extra: Mapped[str | None] = mapped_column(Text)\n")

    result = make(clone, database, "migrate")

    assert result.code == 0, result.output
    assert make(clone, database, "migrate-check").code == 0
    assert database.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'extra'", TABLE
    ) == [(1,)]
