"""`make migrate-sql`: the SQL `make migrate` would run, in the combined order, changing nothing;
`LINT=1` squawks it with the project's rules."""

from __future__ import annotations

import re
import subprocess

import pytest
from test_combined_order import make, write_history

from conftest import Clone, alembic_head, append_drizzle_migration, drizzle_tags
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, FRONTEND_BOOKKEEPING, declared

# A piece's label: "-- 3. backend: backend/alembic/versions/b1b1b1b1b1b1_test.py".
LABEL = re.compile(r"^-- \d+\. (frontend|backend): (\S+)$", re.MULTILINE)
INDEX_ON_USER = 'CREATE INDEX "user_name_idx" ON "user" ("name");'


def full_dump(database: Database) -> str:
    """`pg_dump` plain of the whole database: schema and data."""
    dump = subprocess.run(
        ["pg_dump", "--no-owner", database.url_string(drivername="postgresql")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Recent pg_dump releases fence the dump with a random key (\restrict KEY).
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


@pytest.fixture
def interleaved(clone: Clone, database: Database) -> Database:
    """A database at the repository's migrations, with five pending that alternate systems."""
    assert make(clone, database, "migrate").code == 0
    write_history(clone)
    return database


@pytest.mark.full
def test_migrate_sql_leaves_the_database_byte_identical(clone: Clone, interleaved: Database) -> None:
    before = full_dump(interleaved)

    result = make(clone, interleaved, "migrate-sql")

    assert result.code == 0, result.output
    assert len(LABEL.findall(result.output)) == 5  # it did read and render what is pending
    assert full_dump(interleaved) == before


@pytest.mark.full
def test_migrate_sql_lists_the_pending_files_in_the_combined_order_with_alembic_s_sql(
    clone: Clone, interleaved: Database
) -> None:
    result = make(clone, interleaved, "migrate-sql")

    team, team_title = drizzle_tags(clone.root)[-2:]
    frontend = f"{declared(clone.root)['FRONTEND_DIR']}/{declared(clone.root)['FRONTEND_MIGRATIONS_DIR']}"
    backend = f"{declared(clone.root)['BACKEND_DIR']}/{declared(clone.root)['BACKEND_MIGRATIONS_DIR']}"
    assert result.code == 0, result.output
    assert LABEL.findall(result.output) == [
        ("frontend", f"{frontend}/{team}.sql"),
        ("backend", f"{backend}/b1b1b1b1b1b1_test.py"),
        ("backend", f"{backend}/b2b2b2b2b2b2_test.py"),
        ("frontend", f"{frontend}/{team_title}.sql"),
        ("backend", f"{backend}/b3b3b3b3b3b3_test.py"),
    ]
    # Alembic's offline SQL, each revision in its own transaction, and Drizzle's statements without breakpoints.
    assert f"CREATE VIEW {BACKEND_SCHEMA}.team_names AS SELECT name FROM public.team" in result.output
    assert f"UPDATE {BACKEND_BOOKKEEPING} SET version_num='b3b3b3b3b3b3'" in result.output
    assert 'ALTER TABLE "team" RENAME COLUMN "name" TO "title";' in result.output
    assert "statement-breakpoint" not in result.output
    assert result.output.count("BEGIN;") == result.output.count("COMMIT;") == 5
    assert interleaved.url.password not in result.output


@pytest.mark.full
def test_the_printed_sql_run_by_psql_migrates_as_make_migrate_does(
    clone: Clone, interleaved: Database, reference: Database
) -> None:
    migrated = make(clone, reference, "migrate")  # everything, in the combined order
    assert migrated.code == 0, migrated.output
    sql = make(clone, interleaved, "migrate-sql").output

    applied = subprocess.run(
        ["psql", "--quiet", "-v", "ON_ERROR_STOP=1", interleaved.url_string(drivername="postgresql")],
        input=sql,
        capture_output=True,
        text=True,
        check=False,
    )

    assert applied.returncode == 0, applied.stderr
    assert interleaved.schema_dump().replace(interleaved.name, "DB") == reference.schema_dump().replace(
        reference.name, "DB"
    )
    bookkeeping = f"SELECT hash, created_at FROM {FRONTEND_BOOKKEEPING} ORDER BY 2"
    assert interleaved.query(bookkeeping) == reference.query(bookkeeping)
    assert interleaved.query(f"SELECT * FROM {BACKEND_BOOKKEEPING}") == [("b3b3b3b3b3b3",)]
    assert "nothing pending" in make(clone, interleaved, "migrate-sql").output


def test_migrate_sql_says_when_nothing_is_pending(migrated_once: Database) -> None:
    result = migrated_once.make("migrate-sql")

    assert result.code == 0, result.output
    assert "nothing pending" in result.output
    assert "make migrate would run no SQL" in result.output
    assert not LABEL.search(result.output)


@pytest.mark.full
def test_migrate_sql_lint_fails_on_an_index_built_without_concurrently_on_an_existing_table(
    clone: Clone, database: Database
) -> None:
    assert make(clone, database, "migrate").code == 0
    tag = append_drizzle_migration(clone, "user_name_index", INDEX_ON_USER)

    result = make(clone, database, "migrate-sql", LINT="1")
    script = clone.run_script("preview", "--lint", DATABASE_URL=database.url_string())

    assert result.code != 0
    assert script.code == 29, script.output
    assert "require-concurrent-index-creation" in result.output
    assert f"{tag}.sql" in result.output
    assert INDEX_ON_USER in result.output  # the SQL is shown before the findings


@pytest.mark.full
def test_migrate_sql_lint_passes_once_the_finding_is_acknowledged(clone: Clone, database: Database) -> None:
    assert make(clone, database, "migrate").code == 0
    append_drizzle_migration(
        clone, "user_name_index", f"-- squawk-ignore require-concurrent-index-creation\n{INDEX_ON_USER}"
    )

    result = make(clone, database, "migrate-sql", LINT="1")

    assert result.code == 0, result.output
    assert "squawk: 1 Drizzle file(s), 0 Alembic revision(s)" in result.output


@pytest.mark.full
def test_migrate_sql_lint_names_a_pending_alembic_revision_s_finding(clone: Clone, database: Database) -> None:
    assert make(clone, database, "migrate").code == 0
    body = '    op.create_index("user_name_idx", "user", ["name"], schema="public")'
    revision = clone.add_alembic_revision("b1a2c3d4e5f6", alembic_head(clone.root), body)

    result = make(clone, database, "migrate-sql", LINT="1")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert f"{revision.relative_to(clone.root)}.sql" in result.output


def test_migrate_sql_refuses_a_database_make_migrate_would_refuse(migrated: Database) -> None:
    systems = declared()
    table = f"{systems['BACKEND_BOOKKEEPING_SCHEMA']}.{systems['BACKEND_BOOKKEEPING_TABLE']}"
    migrated.query(f"INSERT INTO {table} VALUES ('0123456789ab')")  # applied on another branch

    result = migrated.make("migrate-sql")

    assert "Error 35" in result.output, result.output
    assert "make migrate would refuse this database" in result.output
    assert "0123456789ab" in result.output
    assert not LABEL.search(result.output)
