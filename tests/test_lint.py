"""`make lint`: the template passes it, and a migration that would lock a live table does not."""

from __future__ import annotations

from conftest import Clone


def test_the_template_passes_make_lint(clone: Clone) -> None:
    result = clone.make("lint")

    assert result.code == 0, result.output


def test_an_index_built_without_concurrently_on_an_existing_table_fails_make_lint(clone: Clone) -> None:
    index_on_a_live_table = 'CREATE INDEX "user_name_idx" ON "user" ("name");'
    clone.add_drizzle_migration(
        "0001_user_name_index", clone.first_drizzle_migration_time + 1000, index_on_a_live_table
    )

    result = clone.make("lint")

    assert result.code != 0
    assert "require-concurrent-index-creation" in result.output
    assert "0001_user_name_index.sql" in result.output
