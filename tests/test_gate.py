"""make migrate-check's checks and make migrate's fast path, each seen at work in the inner loop.

The full tier proves them case by case (tests/test_checks.py, test_frontend_checks.py,
test_fast_path.py, ...). Here the gate meets several problems at once, and reports every one
with its check's name (the ACCEPT=NAME of its hint, scripts/checks/accept.py): three runs see twelve
checks fire, and a fourth the merge's (63); the plan's 58 fires in tests/test_plan.py's inner-loop test, and
only a plan that cannot be made (59) waits for the full tier. The gate runs as
`python -m scripts check` with the project's interpreter (what `make migrate-check` runs after
`uv sync`), so that its own exit code shows.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from conftest import Clone, alembic_head, drizzle_journal, frontend_migrations, frontend_tables
from testing.database import Database, Result, run
from testing.systems import BACKEND_SCHEMA, FRONTEND_BOOKKEEPING, FRONTEND_SCHEMA, LEDGER_SCHEMA, SYSTEMS

FAST = "✓ up to date:"  # only the fast path answers so
FULL_RUN = "✓ pre-flight:"  # the fast path runs no pre-flight: it reads the database once


def gate(database: Database, clone: Clone | None = None) -> Result:
    """`python -m scripts check` on ``database``, of this checkout or of ``clone`` (its own files)."""
    if clone is None:
        return run([sys.executable, "-m", "scripts", "check"], database_url=database.url_string())
    return clone.run(sys.executable, "-m", "scripts", "check", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")


def checks_that_fired(result: Result) -> set[str]:
    return set(re.findall(r"ACCEPT=([\w-]+)", result.output))


def test_the_fast_path_answers_once_a_full_run_found_nothing_to_do(migrated_once: Database) -> None:
    # The run after the one that applied checks in full and records what it read (or, with every
    # check's own cache warm, already answers fast); the one after it answers from that record.
    assert migrated_once.make("migrate").code == 0

    fast = migrated_once.make("migrate")

    assert fast.code == 0, fast.output
    assert FAST in fast.output and FULL_RUN not in fast.output, fast.output


def test_a_misspelt_accept_name_is_a_usage_error_even_where_the_fast_path_answers(migrated_once: Database) -> None:
    assert migrated_once.make("migrate").code == 0
    assert FAST in migrated_once.make("migrate").output

    result = migrated_once.make("migrate", ACCEPT="backend-drfit")

    assert "Error 2" in result.output and FAST not in result.output, result.output
    assert "no check is called backend-drfit" in result.output, result.output


@pytest.mark.skipif(alembic_head() is None, reason="no backend revision to check against the models")
def test_the_gate_reports_every_problem_made_in_the_database(migrated: Database) -> None:
    # The backend: a table by hand (the models lack it), an applied revision's checksum unlike its file.
    migrated.query(f"CREATE TABLE {BACKEND_SCHEMA}.by_hand (id int)")
    migrated.query(f"UPDATE {LEDGER_SCHEMA}.applied SET code_sha256 = 'edited', file_sha256 = 'edited'")
    # The frontend: a column by hand on one of its tables.
    table = sorted(frontend_tables())[0].split(".", 1)[1]
    migrated.query(f'ALTER TABLE {FRONTEND_SCHEMA}."{table}" ADD COLUMN stray text')

    result = gate(migrated)

    assert result.code == 34, result.output  # the history's problems first: the order a person should fix them in
    assert checks_that_fired(result) == {"backend-drift", "edited-migration", "frontend-drift"}, result.output
    assert "remove_table by_hand" in result.output
    assert f"column {table}.stray: in the database only" in result.output


def test_the_gate_reports_every_problem_of_the_files_and_the_history(clone: Clone, migrated: Database) -> None:
    head, journal = alembic_head(clone.root), drizzle_journal(clone.root)
    # Two revisions on the same head, one marked after a frontend migration that does not exist.
    clone.add_alembic_revision("aaaa00000001", head, "    pass")
    marked = clone.add_alembic_revision("bbbb00000002", head, "    pass")
    marked.write_text(marked.read_text().replace("depends_on = None", 'depends_on = None\nafter_frontend = "9999_x"'))
    # Better Auth's config ahead of auth-schema.ts; a table in the Drizzle schema no migration creates.
    frontend = clone.root / SYSTEMS["FRONTEND_DIR"]
    config = frontend / "lib" / "auth.ts"
    enabled = re.sub(r"betterAuth\(\{\n", "betterAuth({\n  plugins: [username()],\n", config.read_text(), count=1)
    config.write_text('import { username } from "better-auth/plugins";\n' + enabled)
    schema = frontend / "lib" / "schema.ts"
    schema.write_text(
        'import { pgTable, text } from "drizzle-orm/pg-core";\n'
        + schema.read_text()
        + '\nexport const gateFixture = pgTable("gate_fixture", { id: text("id").primaryKey() });\n'
    )
    # The database: its record of the newest frontend migration replaced by one the repository lacks.
    migrated.query(f"DELETE FROM {FRONTEND_BOOKKEEPING} WHERE created_at = %s", journal[-1]["when"])
    migrated.query(
        f"INSERT INTO {FRONTEND_BOOKKEEPING} (hash, created_at) VALUES ('unknown', %s)", journal[-1]["when"] + 1000
    )

    result = gate(migrated, clone)

    assert result.code == 35, result.output  # the first reported: the order a person should fix them in
    assert checks_that_fired(result) == {
        "unknown-migration",
        "skipped-migration",
        "multiple-heads",
        "order-unknown",
        "auth-schema-behind",
        "drizzle-schema-behind",
    }, result.output
    assert "drizzle-kit generate would write create table gate_fixture" in result.output


def test_the_gate_reports_a_missing_revision_and_a_snapshot_collision(clone: Clone, migrated_once: Database) -> None:
    journal = drizzle_journal(clone.root)
    # A revision whose down_revision no file has (a deleted one).
    clone.add_alembic_revision("cccc00000003", "deadbeef0000", "    pass")
    # A snapshot with the same parent as the newest one (two branches generating at once), unlisted.
    meta = frontend_migrations(clone.root) / "meta"
    newest = json.loads((meta / f"{len(journal) - 1:04d}_snapshot.json").read_text())
    parallel = {**newest, "id": "11111111-1111-4111-8111-111111111111"}
    (meta / f"{len(journal):04d}_snapshot.json").write_text(json.dumps(parallel))

    result = gate(migrated_once, clone)

    assert result.code == 47, result.output
    assert {"missing-revision", "drizzle-journal"} <= checks_that_fired(result), result.output
    assert "revision deadbeef0000 (the parent of cccc00000003) is missing" in result.output


def test_the_gate_refuses_a_database_that_applied_a_migration_make_migrate_merge_regenerated(
    clone: Clone, migrated: Database
) -> None:
    # The other branch's original, applied here: drizzle's bookkeeping holds its time and hash, and
    # the merged tree's regenerated file names both (the line make migrate-merge writes).
    when, sha = 1700000000000, "ab" * 32
    migrated.query(f"INSERT INTO {FRONTEND_BOOKKEEPING} (hash, created_at) VALUES ('{sha}', {when})")
    newest = sorted(frontend_migrations(clone.root).glob("*.sql"))[-1]
    newest.write_text(f"-- merged_from: 0001_nickname (when {when}, sha256 {sha})\n" + newest.read_text())

    result = gate(migrated, clone)

    assert result.code == 63, result.output
    assert "merged-migration-applied" in checks_that_fired(result), result.output
    assert f"this database applied 0001_nickname, which make migrate-merge regenerated as {newest.stem}" in (
        result.output
    )
