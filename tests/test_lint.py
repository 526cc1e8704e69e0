"""`make lint` and pre-commit: the template passes both, and a migration that would lock a live table does not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import Clone, alembic_head, append_drizzle_migration

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full


def test_the_template_passes_make_lint(clone: Clone) -> None:
    result = clone.make("lint")

    assert result.code == 0, result.output
    # Each linter ran over something: ruff, Biome, actionlint (squawk is proven by the tests below).
    assert "All checks passed!" in result.output
    assert re.search(r"Checked [1-9]\d* files?", result.output)
    assert "Checking 1 workflow file(s)" in result.output


def test_an_index_built_without_concurrently_on_an_existing_table_fails_make_lint(clone: Clone) -> None:
    index_on_a_live_table = 'CREATE INDEX "user_name_idx" ON "user" ("name");'
    tag = append_drizzle_migration(clone, "user_name_index", index_on_a_live_table)

    result = clone.make("lint")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert f"{tag}.sql" in result.output


INDEX_ON_USER = '    op.create_index("user_name_idx", "user", ["name"], schema="public")'


def test_an_alembic_revision_building_an_index_without_concurrently_fails_make_lint_naming_it(clone: Clone) -> None:
    # Better Auth's "user" existed before the revision: building an index blocks its writes.
    revision = clone.add_alembic_revision("b1a2c3d4e5f6", alembic_head(clone.root), INDEX_ON_USER)

    result = clone.make("lint")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert f"{revision.relative_to(clone.root)}.sql" in result.output


def test_an_alembic_revision_acknowledging_its_finding_passes_make_lint(clone: Clone) -> None:
    revision = clone.add_alembic_revision("b1a2c3d4e5f6", alembic_head(clone.root), INDEX_ON_USER)
    revision.write_text(revision.read_text() + "\n# squawk-ignore-file require-concurrent-index-creation\n")

    result = clone.make("lint")

    assert result.code == 0, result.output


def test_a_drizzle_migration_acknowledging_its_finding_passes_make_lint(clone: Clone) -> None:
    acknowledged = '-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX "user_idx" ON "user" ("name");'
    append_drizzle_migration(clone, "user_name_index", acknowledged)

    result = clone.make("lint")

    assert result.code == 0, result.output


def test_a_table_created_with_its_key_and_index_in_one_migration_passes_make_lint(clone: Clone) -> None:
    # Both tools run a migration in a transaction: the new table is locked from no one.
    new_table = (
        'CREATE TABLE "fixture_project" ("id" text PRIMARY KEY NOT NULL, "owner_id" text NOT NULL);\n'
        "--> statement-breakpoint\n"
        'ALTER TABLE "fixture_project" ADD CONSTRAINT "fixture_project_owner_id_user_id_fk" FOREIGN KEY ("owner_id") '
        'REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;\n'
        "--> statement-breakpoint\n"
        'CREATE INDEX "fixture_project_owner_idx" ON "fixture_project" ("owner_id");'
    )
    append_drizzle_migration(clone, "fixture_project", new_table)

    result = clone.make("lint")

    assert result.code == 0, result.output


def test_pre_commit_passes_the_template_and_rewrites_no_file(clone: Clone, tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=clone.root, capture_output=True, text=True, check=True).stdout

    git("init", "--quiet")
    git("add", "--all")

    result = clone.run(
        "uv", "run", "--frozen", "pre-commit", "run", "--all-files", PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home")
    )

    assert result.code == 0, result.output
    assert "actionlint (CI workflows)" in result.output
    assert git("diff", "--name-only") == ""


def test_a_merge_revisions_finding_names_the_merge_revision(clone: Clone) -> None:
    head = alembic_head(clone.root)
    clone.add_alembic_revision("b1a2c3d4e5a1", head, "    pass")
    clone.add_alembic_revision("b1a2c3d4e5b1", head, "    pass")
    merge = clone.add_alembic_revision("b1a2c3d4e5c1", ("b1a2c3d4e5a1", "b1a2c3d4e5b1"), INDEX_ON_USER)

    result = clone.make("lint")

    assert result.code != 0
    assert f"{merge.relative_to(clone.root)}.sql" in result.output


EXPAND_CONTRACT = "docs/migrations.md#renaming-or-dropping-a-column-in-use-expand-migrate-contract"


def test_a_drizzle_migration_dropping_a_column_fails_make_lint_with_the_expand_contract_recipe(clone: Clone) -> None:
    tag = append_drizzle_migration(clone, "drop_image", 'ALTER TABLE "user" DROP COLUMN "image";')

    result = clone.run_script("lint-migrations")

    assert result.code != 0
    assert "ban-drop-column" in result.output
    assert f"{tag}.sql" in result.output
    assert EXPAND_CONTRACT in result.output


def test_a_drizzle_migration_renaming_a_column_fails_make_lint_with_the_expand_contract_recipe(clone: Clone) -> None:
    append_drizzle_migration(clone, "rename_image", 'ALTER TABLE "user" RENAME COLUMN "image" TO "picture";')

    result = clone.run_script("lint-migrations")

    assert result.code != 0
    assert "renaming-column" in result.output
    assert EXPAND_CONTRACT in result.output


@pytest.mark.parametrize(
    ("operation", "rule"),
    [
        ('    op.drop_column("user", "image", schema="public")', "ban-drop-column"),
        ('    op.alter_column("user", "image", new_column_name="picture", schema="public")', "renaming-column"),
    ],
)
def test_an_alembic_revision_dropping_or_renaming_a_column_fails_make_lint_until_acknowledged(
    clone: Clone, operation: str, rule: str
) -> None:
    revision = clone.add_alembic_revision("b1a2c3d4e5f6", alembic_head(clone.root), operation)

    flagged = clone.run_script("lint-migrations")
    revision.write_text(revision.read_text() + f"\n# squawk-ignore-file {rule}\n")
    acknowledged = clone.run_script("lint-migrations")

    assert flagged.code != 0
    assert rule in flagged.output
    assert EXPAND_CONTRACT in flagged.output
    assert acknowledged.code == 0, acknowledged.output
