"""Backups: taken with pg_dump, restored in one transaction; production migrations take one first."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Clone, add_backend_table, backup_path, insert_user
from testing.database import Database, run
from testing.systems import BACKEND_SCHEMA, REPO_ROOT

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full


def test_backup_then_drop_a_table_then_restore_brings_the_data_back(clone: Clone, database: Database) -> None:
    env = {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null"}
    table = add_backend_table(clone)
    assert clone.make("migrate", **env).code == 0
    insert_user(database, "u1")
    database.query(f"INSERT INTO {table} (user_id, title) VALUES ('u1', 'precious')")
    backup = clone.make("db-backup", **env)
    assert backup.code == 0, backup.output
    dump = clone.root / backup_path(backup.output).relative_to(REPO_ROOT)  # in the clone's backups/
    database.query(f"DROP TABLE {table}")

    restore = clone.make("db-restore", f"file={dump.relative_to(clone.root)}", "yes=1", **env)

    assert restore.code == 0, restore.output
    assert database.query(f"SELECT title FROM {table}") == [("precious",)]


def test_restore_removes_what_was_created_after_the_backup(migrated: Database, new_backups) -> None:
    dump = backup_path(migrated.make("db-backup").output)
    migrated.query(f"CREATE TABLE {BACKEND_SCHEMA}.later (id int)")
    migrated.query("CREATE TABLE public.later (id int)")

    restore = migrated.make("db-restore", f"file={dump}", "yes=1")

    assert restore.code == 0, restore.output
    assert {f"{BACKEND_SCHEMA}.later", "public.later"}.isdisjoint(migrated.tables())
    assert migrated.make("migrate-check").code == 0


def test_restore_refuses_a_file_that_is_not_a_dump(migrated: Database, tmp_path: Path) -> None:
    not_a_dump = tmp_path / "plain-text.txt"
    not_a_dump.write_text("hello")
    tables = migrated.tables()

    result = migrated.make("db-restore", f"file={not_a_dump}", "yes=1")

    assert "Error 23" in result.output
    assert "is not a pg_dump custom-format dump; nothing was restored" in result.output
    assert migrated.tables() == tables


def test_restore_without_confirmation_and_without_a_terminal_changes_nothing(migrated: Database, new_backups) -> None:
    dump = backup_path(migrated.make("db-backup").output)
    migrated.query(f"CREATE TABLE {BACKEND_SCHEMA}.later (id int)")

    result = migrated.make("db-restore", f"file={dump}")

    assert "Error 23" in result.output
    assert "add yes=1 to confirm" in result.output
    assert f"{BACKEND_SCHEMA}.later" in migrated.tables()


def test_migrate_in_production_takes_a_backup_first(database: Database, new_backups) -> None:
    result = database.make("migrate", ENV="production")

    assert result.code == 0, result.output
    dump = backup_path(result.output)
    assert dump.read_bytes().startswith(b"PGDMP")
    assert result.output.index("✓ backup:") < result.output.index("→ nextjs: node scripts/drizzle_migrate.mjs")


def test_migrate_in_production_with_backup_skip_takes_none(database: Database, new_backups) -> None:
    result = database.make("migrate", ENV="production", BACKUP="skip")

    assert result.code == 0, result.output
    assert "✓ backup:" not in result.output


def test_migrate_in_development_takes_no_backup(database: Database, new_backups) -> None:
    result = database.make("migrate")

    assert result.code == 0, result.output
    assert "✓ backup:" not in result.output


@pytest.mark.parametrize(
    ("target", "env"), [("db-backup", {}), ("migrate", {"ENV": "production"})], ids=["db-backup", "production migrate"]
)
def test_backups_are_readable_by_their_owner_only_whatever_the_umask(
    database: Database, new_backups, target: str, env: dict[str, str]
) -> None:
    (REPO_ROOT / "backups").mkdir(exist_ok=True)
    (REPO_ROOT / "backups").chmod(0o755)  # as an older version, or a permissive umask, left it

    result = run(
        ["bash", "-c", 'umask 000 && exec make --no-print-directory "$@"', "make", target],
        database_url=database.url_string(),
        **env,
    )

    assert result.code == 0, result.output
    dump = backup_path(result.output)
    assert dump.read_bytes().startswith(b"PGDMP")  # the real pg_dump wrote into it
    assert dump.stat().st_mode & 0o777 == 0o600
    assert dump.parent.stat().st_mode & 0o777 == 0o700


def test_rollback_frontend_does_not_pretend_and_points_to_a_restore() -> None:
    result = run(["make", "rollback-frontend"], database_url=None)

    assert "Error 24" in result.output
    assert "Drizzle has no down migrations" in result.output
    assert "make db-restore file=" in result.output
