"""A database with the apps' tables but no record of their migrations (made before or without
them) is an existing database to adopt: the refusal names `make migrate-baseline`."""

from __future__ import annotations

from testing.database import Database
from testing.systems import SYSTEMS

ALEMBIC_TABLE = f'"{SYSTEMS["BACKEND_BOOKKEEPING_SCHEMA"]}"."{SYSTEMS["BACKEND_BOOKKEEPING_TABLE"]}"'


def drop_bookkeeping(database: Database) -> None:
    """What a database made without the migrations lacks: both tools' records, and the ledger."""
    database.query(f'DROP SCHEMA "{SYSTEMS["FRONTEND_BOOKKEEPING_SCHEMA"]}" CASCADE')
    database.query(f"DROP TABLE {ALEMBIC_TABLE}")
    database.query(f'DROP SCHEMA IF EXISTS "{SYSTEMS["LEDGER_SCHEMA"]}" CASCADE')


def test_tables_without_bookkeeping_are_refused_naming_make_migrate_baseline(migrated: Database) -> None:
    drop_bookkeeping(migrated)
    tables = migrated.tables()

    result = migrated.make("migrate")

    assert result.code != 0
    assert "make migrate-baseline" in result.output, result.output
    assert migrated.tables() == tables


def test_backend_tables_without_alembic_bookkeeping_are_refused_naming_make_migrate_baseline(
    migrated: Database,
) -> None:
    migrated.query(f"DROP TABLE {ALEMBIC_TABLE}")
    tables = migrated.tables()

    result = migrated.make("migrate")

    assert "Error 55" in result.output, result.output
    assert "no record of an applied Alembic revision" in result.output
    assert "make migrate-baseline" in result.output
    assert migrated.tables() == tables
