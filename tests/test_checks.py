"""`make migrate-check` and `make migrate-status`: each problem is named, has its exit code, blocks `make migrate`."""

from __future__ import annotations

import json

import pytest

from conftest import (
    Clone,
    add_backend_table,
    alembic_head,
    alembic_history,
    append_drizzle_migration,
    drizzle_journal,
    drizzle_tags,
    frontend_migrations,
)
from testing.database import Database
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

HEAD = alembic_head()  # the repository's own, whatever it is (None when it has no revision)


def check(clone: Clone, database: Database, target: str = "migrate-check", **env: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def test_check_passes_on_a_database_at_head(clone: Clone, migrated: Database) -> None:
    result = check(clone, migrated)

    assert result.code == 0, result.output
    assert "✓ migrate-check" in result.output


def test_multiple_alembic_heads_are_named_with_the_merge_command(clone: Clone, migrated: Database) -> None:
    clone.add_alembic_revision("aaaa00000001", HEAD, "    pass")
    clone.add_alembic_revision("bbbb00000002", HEAD, "    pass")

    result = check(clone, migrated)

    assert "Error 30" in result.output
    assert "Alembic has 2 heads (aaaa00000001, bbbb00000002)" in result.output
    assert "alembic merge heads" in result.output


def test_multiple_heads_block_make_migrate(clone: Clone, migrated: Database) -> None:
    clone.add_alembic_revision("aaaa00000001", HEAD, f"    op.execute('CREATE TABLE {BACKEND_SCHEMA}.a (id int)')")
    clone.add_alembic_revision("bbbb00000002", HEAD, f"    op.execute('CREATE TABLE {BACKEND_SCHEMA}.b (id int)')")

    result = check(clone, migrated, target="migrate")

    assert "Error 30" in result.output
    assert "nothing was applied" in result.output
    assert {f"{BACKEND_SCHEMA}.a", f"{BACKEND_SCHEMA}.b"}.isdisjoint(migrated.tables())


def test_a_deleted_applied_middle_revision_is_named_not_called_a_second_head(clone: Clone, database: Database) -> None:
    # Revisions that change nothing the models declare: a run that applies them finds the models matching.
    clone.add_alembic_revision("aaaa00000001", HEAD, "    pass")
    clone.add_alembic_revision("bbbb00000002", "aaaa00000001", "    pass")
    middle = clone.add_alembic_revision("cccc00000003", "bbbb00000002", "    pass")
    clone.add_alembic_revision("dddd00000004", "cccc00000003", "    pass")
    applied = check(clone, database, target="migrate")
    assert applied.code == 0, applied.output
    clone.add_alembic_revision(
        "eeee00000005", "dddd00000004", f"    op.execute('CREATE TABLE {BACKEND_SCHEMA}.e (id int)')"
    )
    middle.unlink()

    result = check(clone, database, target="migrate")

    assert "Error 47" in result.output
    assert "revision cccc00000003 (applied, the parent of dddd00000004) is missing from" in result.output
    assert "nothing was applied" in result.output
    assert "git log --diff-filter=D" in result.output
    assert "merge heads" not in result.output and "2 heads" not in result.output
    assert f"{BACKEND_SCHEMA}.e" not in database.tables()
    assert database.query(f"SELECT version_num FROM {BACKEND_BOOKKEEPING}") == [("dddd00000004",)]


def test_a_broken_chain_names_the_missing_parent(clone: Clone, migrated: Database) -> None:
    clone.add_alembic_revision("aaaa00000001", HEAD, "    pass")
    clone.add_alembic_revision("bbbb00000002", "typo00000001", "    pass")

    result = check(clone, migrated)

    assert "Error 47" in result.output
    assert "revision typo00000001 (the parent of bbbb00000002) is missing from" in result.output
    assert "merge heads" not in result.output


def test_drift_between_models_and_a_database_at_head_is_named(clone: Clone, database: Database) -> None:
    table = add_backend_table(clone, "fixture_item")
    assert check(clone, database, target="migrate").code == 0
    database.query(f"ALTER TABLE {table} ADD COLUMN stray text")

    result = check(clone, database)

    assert "Error 31" in result.output
    assert "the models differ from the database at head: remove_column fixture_item" in result.output
    assert "make migration-backend" in result.output


def test_a_drizzle_migration_older_than_the_newest_applied_is_named_and_blocks_migrate(
    clone: Clone, migrated: Database
) -> None:
    late = f"{len(drizzle_tags()):04d}_from_a_branch"
    clone.add_drizzle_migration(late, clone.first_drizzle_migration_time - 1000, 'CREATE TABLE "late" (id int);')

    result = check(clone, migrated, target="migrate")

    assert "Error 33" in result.output
    assert f"nextjs/drizzle/{late}.sql is older than the newest applied migration" in result.output
    assert '"when"' in result.output
    assert "public.late" not in migrated.tables()


def test_an_applied_drizzle_migration_that_was_edited_is_named(clone: Clone, migrated: Database) -> None:
    first = drizzle_tags()[0]
    applied = frontend_migrations(clone.root) / f"{first}.sql"
    applied.write_text(applied.read_text() + "\n-- edited after it was applied\n")

    result = check(clone, migrated)

    assert "Error 34" in result.output
    assert f"nextjs/drizzle/{first}.sql was changed after it was applied" in result.output


def test_a_drizzle_snapshot_collision_is_reported_by_drizzle_kit_check(clone: Clone, migrated: Database) -> None:
    # A second snapshot with the same parent as the newest one: what two branches generating at once leave.
    meta, newest = frontend_migrations(clone.root) / "meta", len(drizzle_journal()) - 1
    snapshot = json.loads((meta / f"{newest:04d}_snapshot.json").read_text())
    parallel = {**snapshot, "id": "11111111-1111-4111-8111-111111111111"}
    (meta / f"{newest + 1:04d}_snapshot.json").write_text(json.dumps(parallel))
    append_drizzle_migration(clone, "parallel", "SELECT 1;", snapshot=False)

    result = check(clone, migrated)

    assert "Error 32" in result.output
    assert "drizzle-kit check" in result.output and "collision" in result.output


def test_a_database_at_a_revision_the_repository_lacks_is_named(clone: Clone, migrated: Database) -> None:
    # Whatever it was at (a repository without revisions leaves no row): another branch's revision.
    migrated.query(f"DELETE FROM {BACKEND_BOOKKEEPING}")
    migrated.query(f"INSERT INTO {BACKEND_BOOKKEEPING} (version_num) VALUES ('feedfacecafe')")

    result = check(clone, migrated)

    assert "Error 35" in result.output
    assert "the database is at revision feedfacecafe" in result.output


def test_status_lists_applied_and_pending_in_order_and_exits_1(clone: Clone, migrated: Database) -> None:
    clone.add_alembic_revision("cccc00000003", HEAD, "    pass")

    result = clone.run_script("status", DATABASE_URL=migrated.url_string(), ENV_FILE="/dev/null")

    assert result.code == 1, result.output
    lines = result.output.splitlines()
    systems = lines[: lines.index("combined order (make migrate applies the pending ones in this order):")]
    listed = [line for line in systems if line.startswith(("  ✓ ", "  · "))]
    assert listed == [
        *(f"  ✓ {tag}" for tag in drizzle_tags()),
        *(
            f"  ✓ {r.revision}" + (f"  {r.description}" if r.description != r.revision else "")
            for r in alembic_history()
        ),
        "  · cccc00000003  test revision cccc00000003  pending",
    ]
    assert "Status: 1 migration(s) pending: run make migrate" in lines


def test_status_as_json_says_the_same(clone: Clone, migrated: Database) -> None:
    clone.add_alembic_revision("cccc00000003", HEAD, "    pass")

    result = clone.make("-s", "migrate-status", "FORMAT=json", DATABASE_URL=migrated.url_string(), ENV_FILE="/dev/null")
    document = json.loads(result.output[result.output.index("{") : result.output.rindex("}") + 1])

    assert document["status"] == "pending" and document["exit_code"] == 1
    assert [m["id"] for m in document["backend"]["applied"]] == [r.revision for r in alembic_history()]
    assert [m["id"] for m in document["backend"]["pending"]] == ["cccc00000003"]
    assert [m["id"] for m in document["frontend"]["applied"]] == drizzle_tags()
    assert document["problems"] == []


def test_status_of_an_up_to_date_database_exits_0(clone: Clone, migrated: Database) -> None:
    result = clone.run_script("status", DATABASE_URL=migrated.url_string(), ENV_FILE="/dev/null")

    assert result.code == 0, result.output
    assert "Status: up to date" in result.output
