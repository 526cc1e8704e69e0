"""`make lint` and pre-commit: the template passes both, and a migration that would lock a live table does not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import Clone

# Only in `make test-all`: make lint and pre-commit over the whole template.
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
    clone.add_drizzle_migration(
        "0001_user_name_index", clone.first_drizzle_migration_time + 1000, index_on_a_live_table
    )

    result = clone.make("lint")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert "0001_user_name_index.sql" in result.output


def test_an_alembic_revision_building_an_index_without_concurrently_fails_make_lint(clone: Clone) -> None:
    first = next(path.stem.split("_")[0] for path in (clone.root / "backend" / "alembic" / "versions").glob("*.py"))
    clone.add_alembic_revision(
        "b1a2c3d4e5f6", first, '    op.create_index("note_title_idx", "note", ["title"], schema="api")'
    )

    result = clone.make("lint")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert "alembic-revisions.sql" in result.output


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
