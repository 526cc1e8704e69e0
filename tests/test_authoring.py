"""Writing migrations: the generators run from a fresh clone and write only what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import backend_migrations
from testing.database import Database, run
from testing.systems import REPO_ROOT, SYSTEMS

# Only in `make test-all`: the generators in copies of the repository, each with make migrate.
pytestmark = pytest.mark.full

NEXTJS = REPO_ROOT / SYSTEMS["FRONTEND_DIR"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_migration_backend_refuses_an_empty_message() -> None:
    result = run(["make", "migration-backend", "m="], database_url=None)

    assert result.code != 0
    assert 'a message is required: make migration-backend m="what changed"' in result.output


def test_migration_backend_writes_nothing_when_the_models_did_not_change(migrated: Database) -> None:
    versions = backend_migrations()
    before = snapshot(versions)

    result = migrated.make("migration-backend", "m=nothing changed")

    assert result.code == 0, result.output
    assert "No changes in the models: no revision written." in result.output
    assert snapshot(versions) == before


def test_auth_schema_regenerates_the_committed_schema_unchanged() -> None:
    committed = (NEXTJS / "auth-schema.ts").read_bytes()
    try:
        result = run(["make", "auth-schema"], database_url=None)

        assert result.code == 0, result.output
        assert (NEXTJS / "auth-schema.ts").read_bytes() == committed
    finally:
        (NEXTJS / "auth-schema.ts").write_bytes(committed)


def test_migration_frontend_finds_the_committed_migrations_current() -> None:
    before = snapshot(NEXTJS / "drizzle")

    result = run(["make", "migration-frontend"], database_url=None)

    assert result.code == 0, result.output
    assert "No schema changes" in result.output
    assert snapshot(NEXTJS / "drizzle") == before


def test_better_auth_migrate_refuses_the_drizzle_adapter_and_changes_nothing(migrated: Database) -> None:
    """The guide's `npx @better-auth/cli migrate` (now `npx auth migrate`) must not touch this database."""
    dump_before = migrated.schema_dump()

    result = run(
        ["npx", "auth", "migrate", "--config", "lib/auth.ts", "--yes"],
        database_url=migrated.url_string(drivername="postgresql"),
        cwd=NEXTJS,
        PATH=f"{NEXTJS / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    )

    assert "Kysely" in result.output, result.output
    assert migrated.schema_dump() == dump_before
