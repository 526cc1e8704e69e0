"""Statements PostgreSQL refuses in a transaction (CREATE INDEX CONCURRENTLY and the like), in both systems.

The recipe of docs/migrations.md ("A concurrent index in each system") on a copy of the
repository: an index declared `.concurrently()` in the Drizzle schema, and an Alembic revision
building one in `autocommit_block()`, each on a table an earlier migration created. `make migrate`
builds both (valid), `make migrate-check` and `make lint` pass. The frontend runner applies such a
migration statement by statement, records it as drizzle's migrator would, and says what a failure
half-way left behind.
"""

from __future__ import annotations

import hashlib

import pytest

from conftest import (
    Clone,
    add_backend_table,
    alembic_head,
    append_drizzle_migration,
    apply_frontend,
    backend_migrations,
    drizzle_journal,
    drizzle_tags,
    frontend_migrations,
)
from testing.database import Database, run
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, FRONTEND_BOOKKEEPING, declared

pytestmark = pytest.mark.full

FRONTEND_TABLE = """import { pgTable, text } from "drizzle-orm/pg-core";

export * from "../auth-schema";

export const fixtureDoc = pgTable("fixture_doc", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
});
"""

FRONTEND_TABLE_WITH_INDEX = """import { index, pgTable, text } from "drizzle-orm/pg-core";

export * from "../auth-schema";

export const fixtureDoc = pgTable(
  "fixture_doc",
  {
    id: text("id").primaryKey(),
    title: text("title").notNull(),
  },
  (table) => [index("fixture_doc_title_idx").on(table.title).concurrently()],
);
"""

BACKEND_INDEX_REVISION = f'''"""fixture_item title index"""
from alembic import op

revision = "f1x7a0000002"
down_revision = "f1x7a0000001"
branch_labels = None
depends_on = None
after_frontend = {{after_frontend!r}}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "fixture_item_title_idx", "fixture_item", ["title"], schema="{BACKEND_SCHEMA}", postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "fixture_item_title_idx", table_name="fixture_item", schema="{BACKEND_SCHEMA}", postgresql_concurrently=True
        )
'''

MODEL_INDEX = '\n\nfrom sqlalchemy import Index  # noqa: E402\n\nIndex("fixture_item_title_idx", FixtureItem.title)\n'

VALID_INDEXES = (
    "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname IN ('fixture_doc_title_idx', 'fixture_item_title_idx', 'fixture_doc_a_idx', "
    "'fixture_doc_b_idx') ORDER BY 1"
)


def make(clone: Clone, *targets: str, database: Database, **env: str) -> str:
    result = clone.make(*targets, DATABASE_URL=database.url_string(), **env)
    assert result.code == 0, f"make {' '.join(targets)} (exit {result.code}):\n{result.output[-4000:]}"
    return result.output


def test_the_recipe_builds_a_valid_concurrent_index_in_each_system_and_every_check_passes(
    clone: Clone, database: Database
) -> None:
    # The tables, as earlier migrations of the app created them.
    (clone.root / "nextjs" / "lib" / "schema.ts").write_text(FRONTEND_TABLE)
    make(clone, "migration-frontend", database=database, name="fixture_doc")
    add_backend_table(clone)
    make(clone, "migrate", database=database)
    # The indexes, each in a migration of its own, as docs/migrations.md shows.
    (clone.root / "nextjs" / "lib" / "schema.ts").write_text(FRONTEND_TABLE_WITH_INDEX)
    make(clone, "migration-frontend", database=database, name="fixture_doc_title_index")
    generated = (frontend_migrations(clone.root) / f"{drizzle_tags(clone.root)[-1]}.sql").read_text()
    assert "CREATE INDEX CONCURRENTLY" in generated, generated
    models = clone.root / declared(clone.root)["BACKEND_DIR"] / "models" / "fixture_item.py"
    models.write_text(models.read_text() + MODEL_INDEX)
    (backend_migrations(clone.root) / "f1x7a0000002_fixture_item_title_index.py").write_text(
        BACKEND_INDEX_REVISION.format(after_frontend=drizzle_tags(clone.root)[-1])
    )

    lint = clone.run_script("lint-migrations")
    assert lint.code == 0, lint.output[-4000:]
    assert "ban-concurrent-index-creation-in-transaction" not in lint.output
    output = make(clone, "migrate", database=database)
    make(clone, "migrate-check", database=database)

    assert "fixture_doc_title_index" in output
    assert database.query(VALID_INDEXES) == [("fixture_doc_title_idx", True), ("fixture_item_title_idx", True)]
    # Recorded as drizzle's migrator records a migration: the file's sha256, the journal's "when".
    newest = drizzle_journal(clone.root)[-1]
    sha = hashlib.sha256((frontend_migrations(clone.root) / f"{newest['tag']}.sql").read_bytes()).hexdigest()
    recorded = database.query(f"SELECT hash, created_at FROM {FRONTEND_BOOKKEEPING} ORDER BY created_at")
    assert recorded[-1] == (sha, newest["when"])
    assert len(recorded) == len(drizzle_journal(clone.root))
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [("f1x7a0000002",)]


TWO_INDEXES = (
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "fixture_doc_a_idx" ON "fixture_doc" ("title");\n'
    "--> statement-breakpoint\n"
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "fixture_doc_b_idx" ON "fixture_doc" ("title");'
)


def recorded_count(database: Database) -> int:
    return database.query(f"SELECT count(*) FROM {FRONTEND_BOOKKEEPING}")[0][0]


def frontend_table_with_rows(clone: Clone, database: Database) -> None:
    (clone.root / "nextjs" / "lib" / "schema.ts").write_text(FRONTEND_TABLE)
    make(clone, "migration-frontend", database=database, name="fixture_doc")
    apply_frontend(database, root=clone.root)
    database.query("INSERT INTO fixture_doc (id, title) VALUES ('1', 'same'), ('2', 'same')")


def test_a_concurrent_migration_failing_half_way_says_what_stays_and_finishes_once_its_advice_is_followed(
    clone: Clone, database: Database
) -> None:
    frontend_table_with_rows(clone, database)
    tag = append_drizzle_migration(clone, "fixture_doc_indexes", TWO_INDEXES)
    node = clone.root / declared(clone.root)["FRONTEND_DIR"] / "node_modules" / ".bin" / "node"
    runner = [str(node), str(clone.root / "scripts" / "drizzle_migrate.mjs")]
    url = database.url_string(drivername="postgresql")

    failed = run(runner, database_url=url, cwd=clone.root)

    assert failed.code == 1
    assert f"{tag}.sql: statement 2 of 2 failed, outside a transaction" in failed.output, failed.output
    assert "statements 1-1 stay applied, the migration is not recorded" in failed.output
    assert "DROP INDEX CONCURRENTLY public.fixture_doc_b_idx;" in failed.output, failed.output
    assert database.query(VALID_INDEXES) == [("fixture_doc_a_idx", True), ("fixture_doc_b_idx", False)]
    assert recorded_count(database) == len(drizzle_tags(clone.root)) - 1

    # The advice: drop the INVALID index, fix the cause (duplicates), run again.
    database.query("DROP INDEX CONCURRENTLY public.fixture_doc_b_idx")
    database.query("DELETE FROM fixture_doc WHERE id = '2'")
    finished = run(runner, database_url=url, cwd=clone.root)

    assert finished.code == 0, finished.output
    assert database.query(VALID_INDEXES) == [("fixture_doc_a_idx", True), ("fixture_doc_b_idx", True)]
    assert recorded_count(database) == len(drizzle_tags(clone.root))


def test_a_concurrent_index_mixed_with_other_statements_is_refused_before_anything_runs(
    clone: Clone, database: Database
) -> None:
    frontend_table_with_rows(clone, database)
    mixed = 'ALTER TABLE "fixture_doc" ADD COLUMN "note" text;\n--> statement-breakpoint\n' + TWO_INDEXES
    tag = append_drizzle_migration(clone, "fixture_doc_mixed", mixed)

    result = clone.make("migrate-frontend", DATABASE_URL=database.url_string())

    assert result.code != 0
    # Refused by the plan, on a scratch copy, with the runner's own words, before the live database is touched.
    assert "Error 59" in result.output, result.output
    assert f"{tag}.sql fails on a scratch copy of the schema" in result.output
    assert "nothing applied: it runs outside a transaction" in result.output
    assert database.query(VALID_INDEXES) == []
    assert database.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'") == [(0,)]


def test_make_lint_still_flags_a_plain_index_on_an_existing_table_beside_an_autocommit_block(clone: Clone) -> None:
    add_backend_table(clone)
    plain_index = (
        f'    op.create_index("fixture_item_user_idx", "fixture_item", ["user_id"], schema="{BACKEND_SCHEMA}")\n'
    )
    revision = BACKEND_INDEX_REVISION.format(after_frontend=drizzle_tags(clone.root)[-1]).replace(
        "def upgrade() -> None:\n", "def upgrade() -> None:\n" + plain_index
    )
    (backend_migrations(clone.root) / "f1x7a0000002_fixture_item_title_index.py").write_text(revision)
    assert alembic_head(clone.root) == "f1x7a0000002"

    result = clone.run_script("lint-migrations")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert "ban-concurrent-index-creation-in-transaction" not in result.output
    assert "f1x7a0000002_fixture_item_title_index.py.sql" in result.output


def test_an_alembic_branch_of_its_own_is_refused_by_migrate_check_naming_the_fix_and_merged_it_migrates(
    clone: Clone, database: Database
) -> None:
    head = alembic_head(clone.root)
    clone.add_alembic_revision("b1a2c3d4e5a1", head, "    pass")
    labelled = clone.add_alembic_revision("b1a2c3d4e5b1", head, "    pass")
    labelled.write_text(labelled.read_text().replace("branch_labels = None", 'branch_labels = ("concurrent",)'))

    refused = clone.run_script("check", DATABASE_URL=database.url_string())

    assert refused.code == 30, refused.output
    assert "a branch of its own (branch_labels) ends at b1a2c3d4e5b1 (concurrent)" in refused.output
    assert "uv run alembic merge heads" in refused.output
    backend = clone.root / declared(clone.root)["BACKEND_DIR"]
    merge = run(  # the fix the message names
        ["uv", "run", "--frozen", "alembic", "merge", "-m", "merge heads", "heads"], database_url=None, cwd=backend
    )
    assert merge.code == 0, merge.output
    make(clone, "migrate", database=database)
    make(clone, "migrate-check", database=database)
