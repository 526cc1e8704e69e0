"""`make migrate-merge` (scripts/commands/merge.py): two branches from one base, each with a backend model and a
frontend change made by `make migration-backend` / `make migration-frontend`, merged by git.

One scenario, built once in a real git repository (a copy of this one): the base has a frontend
table `project`; branch a adds the model `widget`, then the frontend table `team`; branch b adds the
column `project.nickname`, then the model `gadget` (so its revision is marked after b's frontend
migration). Database A has branch a applied, database B branch b; then `git merge b` on a.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FIXTURE_MODEL, Clone, copy_of_repository, drizzle_journal, frontend_migrations
from testing.database import Database, Result, database_of_its_own
from testing.systems import FRONTEND_BOOKKEEPING, declared

# Copies of the repository and many make runs: the full tier (make test-all).
pytestmark = pytest.mark.full

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@localhost",
}
PROJECT = """
import { pgTable, text } from "drizzle-orm/pg-core";

export const project = pgTable("project", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
});
"""
TEAM = """
export const team = pgTable("team", {
  id: text("id").primaryKey(),
});
"""


@dataclass
class Merged:
    clone: Clone
    merge: Result  # git merge b
    check_before: Result  # make migrate-check on database A, before make migrate-merge
    migrate_merge: Result
    applied_a: Database
    applied_b: Database
    b_tags: list[str]  # branch b's frontend migrations, as b had them
    b_journal: list[dict]
    b_dump: str  # database B's schema before the merged tree was migrated onto it


def git(clone: Clone, *args: str) -> Result:
    result = clone.run("git", *args, **GIT_IDENTITY)
    return result


def make(clone: Clone, database: Database, *target: str, **env: str) -> Result:
    result = clone.make(*target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)
    assert result.code == 0, result.output
    return result


def add_model(clone: Clone, table: str) -> None:
    models = clone.root / declared(clone.root)["BACKEND_DIR"] / "models"
    cls = table.title()
    (models / f"{table}.py").write_text(FIXTURE_MODEL.format(cls=cls, table=table))
    with (models / "__init__.py").open("a") as init:
        init.write(f"from models.{table} import {cls}  # noqa: E402,F401\n")


def schema_file(clone: Clone) -> Path:
    return clone.root / declared(clone.root)["FRONTEND_DIR"] / "lib" / "schema.ts"


def commit(clone: Clone, message: str) -> None:
    assert git(clone, "add", "-A").code == 0
    result = git(clone, "commit", "-q", "-m", message)
    assert result.code == 0, result.output


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Merged]:
    clone = copy_of_repository(tmp_path_factory.mktemp("merge") / "repo")
    try:
        with database_of_its_own("merge_a") as a, database_of_its_own("merge_b") as b:
            yield build(clone, a, b)
    finally:
        clone.tear_down()


def build(clone: Clone, a: Database, b: Database) -> Merged:
    frontend = declared(clone.root)["FRONTEND_DIR"]
    assert git(clone, "init", "-q", "-b", "main").code == 0
    (clone.root / ".git" / "info" / "exclude").write_text(f"{frontend}/node_modules\n")
    schema_file(clone).write_text(schema_file(clone).read_text() + PROJECT)
    make(clone, a, "migration-frontend", name="project")
    commit(clone, "base: a frontend table")

    assert git(clone, "checkout", "-q", "-b", "a").code == 0
    make(clone, a, "migrate")
    add_model(clone, "widget")
    make(clone, a, "migration-backend", m="add widget")
    schema_file(clone).write_text(schema_file(clone).read_text() + TEAM)
    make(clone, a, "migration-frontend", name="team")
    commit(clone, "a: widget, team")
    make(clone, a, "migrate")

    assert git(clone, "checkout", "-q", "-b", "b", "main").code == 0
    make(clone, b, "migrate")
    column = '  name: text("name").notNull(),\n});'
    schema_file(clone).write_text(
        schema_file(clone).read_text().replace(column, column.replace("\n", '\n  nickname: text("nickname"),\n'))
    )
    make(clone, b, "migration-frontend", name="nickname")
    make(clone, b, "migrate")
    add_model(clone, "gadget")
    make(clone, b, "migration-backend", m="add gadget")
    commit(clone, "b: nickname, gadget")
    make(clone, b, "migrate")
    b_journal = drizzle_journal(clone.root)
    b_tags = [entry["tag"] for entry in b_journal]

    assert git(clone, "checkout", "-q", "a").code == 0
    merge = git(clone, "merge", "--no-edit", "b")
    check_before = clone.make("migrate-check", DATABASE_URL=a.url_string(), ENV_FILE="/dev/null")
    migrate_merge = clone.make("migrate-merge")
    return Merged(clone, merge, check_before, migrate_merge, a, b, b_tags, b_journal, b.schema_dump())


def test_git_merge_conflicts_only_in_drizzle_s_generated_files(merged: Merged) -> None:
    folder = "/".join(frontend_migrations(merged.clone.root).relative_to(merged.clone.root).parts)

    assert merged.merge.code != 0, merged.merge.output  # the journal and the snapshots conflict
    conflicted = [line.split()[-1] for line in merged.merge.output.splitlines() if line.startswith("CONFLICT")]
    assert conflicted and all(path.startswith(f"{folder}/meta/") for path in conflicted), merged.merge.output


def test_migrate_check_after_the_merge_leads_to_migrate_merge(merged: Merged) -> None:
    output = merged.check_before.output

    assert merged.check_before.code != 0, output
    assert "make migrate-merge" in output
    assert "make migration-frontend" not in output  # it would write b's column a second time
    assert '"when"' not in output  # nor a newer timestamp for b's file


def test_migrate_merge_leaves_no_conflict_one_head_and_b_s_changes_after_a_s(merged: Merged) -> None:
    clone = merged.clone
    journal = drizzle_journal(clone.root)
    newest = journal[-1]["tag"]
    sql = (frontend_migrations(clone.root) / f"{newest}.sql").read_text()

    assert merged.migrate_merge.code == 0, merged.migrate_merge.output
    assert git(clone, "ls-files", "-u").output == ""
    assert [entry["idx"] for entry in journal] == list(range(len(journal)))
    assert newest.endswith("_nickname") and journal[-2]["tag"].endswith("_team")
    assert 'ADD COLUMN "nickname"' in sql
    assert f"-- merged_from: {merged.b_tags[-1]} " in sql
    assert not (frontend_migrations(clone.root) / f"{merged.b_tags[-1]}.sql").exists()
    gadget = next(clone.root.glob("**/alembic/versions/*_add_gadget.py")).read_text()
    assert f'after_frontend = "{newest}"' in gadget  # b's revision follows b's changes to their new place
    merge_revision = next(clone.root.glob("**/alembic/versions/*_merge_heads.py")).read_text()
    assert f'after_frontend = "{newest}"' in merge_revision
    snapshot = json.loads((frontend_migrations(clone.root) / "meta" / f"{newest[:4]}_snapshot.json").read_text())
    assert "nickname" in snapshot["tables"]["public.project"]["columns"]
    assert "public.team" in snapshot["tables"]


def test_a_second_migrate_merge_changes_nothing(merged: Merged) -> None:
    before = [git(merged.clone, *args).output for args in (("status", "--porcelain"), ("diff", "--cached"))]

    result = merged.clone.make("migrate-merge")

    assert result.code == 0, result.output
    assert "nothing to merge" in result.output
    assert [git(merged.clone, *args).output for args in (("status", "--porcelain"), ("diff", "--cached"))] == before


def test_a_database_with_branch_a_and_an_empty_one_migrate_to_the_same_schema(
    merged: Merged, database: Database
) -> None:
    make(merged.clone, merged.applied_a, "migrate")
    make(merged.clone, database, "migrate")

    check = make(merged.clone, merged.applied_a, "migrate-check")

    assert "✓ migrate-check" in check.output
    a_dump = merged.applied_a.schema_dump().replace(merged.applied_a.name, "DB")
    assert database.schema_dump().replace(database.name, "DB") == a_dump
    assert merged.applied_a.query(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'project' AND column_name = 'nickname'"
    ) == [(1,)]


def test_a_database_that_applied_branch_b_s_original_is_refused_unchanged(merged: Merged) -> None:
    result = merged.clone.make("migrate", DATABASE_URL=merged.applied_b.url_string(), ENV_FILE="/dev/null")

    assert result.code != 0
    assert "Error 63" in result.output, result.output
    assert f"applied {merged.b_tags[-1]}, which make migrate-merge regenerated" in result.output
    assert "make db-reset" in result.output
    assert merged.applied_b.schema_dump() == merged.b_dump  # no duplicate ADD COLUMN, nothing applied


TABLE = """
export const {name} = pgTable("{name}", {{ id: text("id").primaryKey() }});
"""


def test_that_database_migrates_once_the_original_s_change_is_undone_as_the_docs_say(merged: Merged) -> None:
    b, a = merged.applied_b, merged.applied_a
    when = next(e["when"] for e in merged.b_journal if e["tag"] == merged.b_tags[-1])
    b.query('ALTER TABLE "project" DROP COLUMN "nickname"')
    b.query(f"DELETE FROM {FRONTEND_BOOKKEEPING} WHERE created_at = %s", when)

    make(merged.clone, b, "migrate")

    make(merged.clone, a, "migrate")
    assert b.schema_dump().replace(b.name, "DB") == a.schema_dump().replace(a.name, "DB")


def two_frontend_branches(clone: Clone, database: Database, *, conflicting: bool) -> None:
    """main with the table project; branches a and b each add a frontend change and its migration
    (``conflicting``: both append a table at the end of lib/schema.ts, which git cannot merge;
    else b adds a column to project); a is checked out."""
    frontend = declared(clone.root)["FRONTEND_DIR"]
    assert git(clone, "init", "-q", "-b", "main").code == 0
    (clone.root / ".git" / "info" / "exclude").write_text(f"{frontend}/node_modules\n")
    schema_file(clone).write_text(schema_file(clone).read_text() + PROJECT)
    make(clone, database, "migration-frontend", name="project")
    commit(clone, "base")
    column = '  name: text("name").notNull(),\n});'
    for branch in ("a", "b"):
        assert git(clone, "checkout", "-q", "-b", branch, "main").code == 0
        text = schema_file(clone).read_text()
        if branch == "b" and not conflicting:
            text = text.replace(column, column.replace("\n", '\n  nickname: text("nickname"),\n'))
        else:
            text += TABLE.format(name=f"table_{branch}")
        schema_file(clone).write_text(text)
        make(clone, database, "migration-frontend", name=f"change_{branch}")
        commit(clone, branch)
    assert git(clone, "checkout", "-q", "a").code == 0


def test_conflicts_in_the_user_s_own_files_are_refused_and_nothing_changes(clone: Clone, database: Database) -> None:
    two_frontend_branches(clone, database, conflicting=True)
    assert git(clone, "merge", "--no-edit", "b").code != 0
    before = [git(clone, *args).output for args in (("status", "--porcelain"), ("diff",))]

    result = clone.make("migrate-merge")

    assert "Error 62" in result.output, result.output
    frontend = declared(clone.root)["FRONTEND_DIR"]
    assert f"git left conflicts in your own files: {frontend}/lib/schema.ts" in result.output
    assert [git(clone, *args).output for args in (("status", "--porcelain"), ("diff",))] == before


def test_first_theirs_keeps_the_merged_in_branch_s_history_and_regenerates_ours(
    clone: Clone, database: Database
) -> None:
    two_frontend_branches(clone, database, conflicting=False)
    assert git(clone, "merge", "--no-edit", "b").code != 0

    result = clone.make("migrate-merge", first="theirs")

    assert result.code == 0, result.output
    tags = [entry["tag"] for entry in drizzle_journal(clone.root)]
    assert tags[-2:] == ["0002_change_b", "0003_change_a"], tags
    assert git(clone, "ls-files", "-u").output == ""


def test_a_merge_already_committed_is_put_right_from_its_two_parents(clone: Clone, database: Database) -> None:
    two_frontend_branches(clone, database, conflicting=False)
    assert git(clone, "merge", "--no-edit", "b").code != 0
    folder = "/".join(frontend_migrations(clone.root).relative_to(clone.root).parts)
    assert git(clone, "checkout", "--ours", "--", f"{folder}/meta").code == 0  # a hasty resolution: ours' meta
    commit(clone, "merge b")

    result = clone.make("migrate-merge")

    assert result.code == 0, result.output
    assert "HEAD^2" in result.output
    tags = [entry["tag"] for entry in drizzle_journal(clone.root)]
    assert tags[-2:] == ["0002_change_a", "0003_change_b"], tags
    assert not (frontend_migrations(clone.root) / "0002_change_b.sql").exists()
    check = clone.make("migrate-check", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")
    assert "✓ migrate-check" in check.output, check.output


def test_a_journal_resolved_by_keeping_both_entries_leads_to_migrate_merge(clone: Clone, database: Database) -> None:
    two_frontend_branches(clone, database, conflicting=False)
    assert git(clone, "merge", "--no-edit", "b").code != 0
    meta = frontend_migrations(clone.root) / "meta"
    ours = json.loads(git(clone, "show", f"HEAD:./{meta.relative_to(clone.root)}/_journal.json").output)
    theirs = json.loads(git(clone, "show", f"MERGE_HEAD:./{meta.relative_to(clone.root)}/_journal.json").output)
    ours["entries"].append(dict(theirs["entries"][-1], idx=len(ours["entries"])))  # both kept, renumbered
    (meta / "_journal.json").write_text(json.dumps(ours, indent=2))
    assert git(clone, "checkout", "--ours", "--", f"{meta.relative_to(clone.root)}/0002_snapshot.json").code == 0
    assert git(clone, "add", "-A").code == 0

    check = clone.make("migrate-check", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")

    assert check.code != 0, check.output
    assert "make migrate-merge" in check.output
    assert "make migration-frontend" not in check.output, check.output


BACKFILL = 'UPDATE "project" SET "name" = upper("name");'


def test_a_migration_that_changed_no_schema_is_kept_as_written(clone: Clone, database: Database) -> None:
    two_frontend_branches(clone, database, conflicting=False)
    assert git(clone, "checkout", "-q", "b").code == 0
    frontend = declared(clone.root)["FRONTEND_DIR"]
    custom = clone.run("bash", "-c", f"cd {frontend} && npx drizzle-kit generate --custom --name backfill")
    assert custom.code == 0, custom.output
    backfill = next(frontend_migrations(clone.root).glob("*_backfill.sql"))
    backfill.write_text(backfill.read_text() + BACKFILL + "\n")
    commit(clone, "b: a data migration")
    assert git(clone, "checkout", "-q", "a").code == 0
    assert git(clone, "merge", "--no-edit", "b").code != 0

    result = clone.make("migrate-merge")

    assert result.code == 0, result.output
    tags = [entry["tag"] for entry in drizzle_journal(clone.root)]
    assert tags[-3:] == ["0002_change_a", "0003_change_b", "0004_backfill"], tags
    assert (frontend_migrations(clone.root) / "0004_backfill.sql").read_text().count(BACKFILL) == 1
    assert 'ADD COLUMN "nickname"' in (frontend_migrations(clone.root) / "0003_change_b.sql").read_text()
