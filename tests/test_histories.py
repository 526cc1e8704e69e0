"""The migration histories, whatever they hold, in the manner of pytest-alembic's built-in tests.

Nothing here names a table or a revision: every check reads the models, the revisions, the
Drizzle journal and snapshots, and systems.env, so it holds for the tables a project adds and
keeps holding when the sample is removed. Alembic runs in-process (`alembic.command`, with the
backend's own alembic.ini and env.py, which reads DATABASE_URL as under `make`): a stairway of
any length stays fast.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from conftest import apply_frontend, backend_tables, drizzle_journal, frontend_migrations, frontend_tables
from scripts.core.database_url import parse
from scripts.database.migration_state import read_database_state
from scripts.history.order import combined
from testing.database import Database, database_of_its_own
from testing.systems import REPO_ROOT, SYSTEMS

BACKEND = REPO_ROOT / SYSTEMS["BACKEND_DIR"]


def alembic_config() -> Config:
    return Config(str(BACKEND / "alembic.ini"))


@contextmanager
def alembic_on(database: Database) -> Iterator[Config]:
    """An Alembic config whose env.py connects to ``database``, as `make` would point it there.

    env.py reads DATABASE_URL from the environment and applies alembic.ini's logging
    configuration, which would silence the test process's own loggers: both are restored.
    """
    saved_environ = dict(os.environ)
    saved_root = (logging.root.level, list(logging.root.handlers))
    saved_disabled = {
        name: logger.disabled
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    os.environ.update(ENV_FILE="/dev/null", DATABASE_URL=database.url_string(drivername="postgresql"))
    os.environ.pop("DIRECT_DATABASE_URL", None)
    try:
        yield alembic_config()
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        logging.root.setLevel(saved_root[0])
        logging.root.handlers[:] = saved_root[1]
        for name, disabled in saved_disabled.items():
            logging.getLogger(name).disabled = disabled


def normalised_dump(database: Database) -> str:
    return database.schema_dump().replace(database.name, "DB")


@dataclass(frozen=True)
class Step:
    """One revision of the stairway, and the schema before it, after it, after undoing and redoing it."""

    revision: str
    before: str
    up: str
    down: str
    up_again: str


@pytest.fixture(scope="module")
def stairway() -> Iterator[tuple[list[Step], Database]]:
    """Every backend revision, from the first, in the combined order of both systems
    (docs/migrations.md): the frontend's migrations before it first, then upgrade to it,
    downgrade one step, upgrade to it again; the frontend's last ones at the end."""
    with database_of_its_own("stairway") as database:
        ordered, problems = combined(read_database_state(parse(database.url_string(drivername="postgresql"))))
        assert not problems, [problem.message for problem in problems]
        steps = []
        frontend_due = None
        with alembic_on(database) as config:
            # Alembic's own schema and version table first: they stay after a downgrade to base.
            command.stamp(config, "base")
            for item in ordered:
                if item.system == "frontend":
                    frontend_due = item.migration.id
                    continue
                if frontend_due:
                    apply_frontend(database, to=frontend_due)
                    frontend_due = None
                before = normalised_dump(database)
                command.upgrade(config, item.migration.id)
                up = normalised_dump(database)
                command.downgrade(config, "-1")
                down = normalised_dump(database)
                command.upgrade(config, item.migration.id)
                steps.append(Step(item.migration.id, before, up, down, normalised_dump(database)))
        if frontend_due:
            apply_frontend(database, to=frontend_due)
        yield steps, database


def differences(steps: list[Step], expected: str, actual: str) -> str:
    """The steps whose two schemas differ, and the first one's diff: what a failure shows."""
    failing = [step for step in steps if getattr(step, expected) != getattr(step, actual)]
    if not failing:
        return ""
    first = failing[0]
    diff = difflib.unified_diff(
        getattr(first, expected).splitlines(), getattr(first, actual).splitlines(), expected, actual, lineterm=""
    )
    return f"revisions {[step.revision for step in failing]}; {first.revision}:\n" + "\n".join(diff)


def test_the_backend_history_has_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()

    assert len(heads) == 1, f"several heads, merge them (alembic merge heads): {heads}"


def test_every_backend_downgrade_restores_the_schema_before_its_upgrade(
    stairway: tuple[list[Step], Database],
) -> None:
    steps, _ = stairway

    assert differences(steps, "before", "down") == ""


def test_every_backend_revision_upgrades_again_after_its_downgrade(stairway: tuple[list[Step], Database]) -> None:
    steps, _ = stairway

    assert differences(steps, "up", "up_again") == ""


def test_the_stairway_ends_where_make_migrate_does(
    stairway: tuple[list[Step], Database], migrated_once: Database
) -> None:
    _, database = stairway
    # The raw Alembic of the stairway keeps no checksums: the tooling's ledger is no part of the schema.
    ledger = (SYSTEMS["LEDGER_SCHEMA"],)

    assert database.schema_dump(exclude_schemas=ledger).replace(database.name, "DB") == migrated_once.schema_dump(
        exclude_schemas=ledger
    ).replace(migrated_once.name, "DB")


def test_the_models_match_the_migrations(migrated_once: Database) -> None:
    # `alembic check`: autogenerate, after `make migrate`, finds nothing to write.
    with alembic_on(migrated_once) as config:
        command.check(config)


def test_every_frontend_migration_is_recorded_once_with_its_files_hash(migrated_once: Database) -> None:
    migrations = frontend_migrations()
    expected = sorted(
        (hashlib.sha256((migrations / f"{entry['tag']}.sql").read_bytes()).hexdigest(), entry["when"])
        for entry in drizzle_journal()
    )

    bookkeeping = f'"{SYSTEMS["FRONTEND_BOOKKEEPING_SCHEMA"]}"."{SYSTEMS["FRONTEND_BOOKKEEPING_TABLE"]}"'
    recorded = migrated_once.query(f"SELECT hash, created_at FROM {bookkeeping}")

    assert sorted((hash_, int(created_at)) for hash_, created_at in recorded) == expected


def test_every_table_of_the_backend_models_exists_after_make_migrate(migrated_once: Database) -> None:
    # None at all is fine: the sample removed before a first model of the user's.
    assert backend_tables() - migrated_once.tables() == set()


def test_every_table_of_the_drizzle_schema_exists_after_make_migrate(migrated_once: Database) -> None:
    declared_tables = frontend_tables()

    assert declared_tables, "the newest Drizzle snapshot declares no table"
    assert declared_tables - migrated_once.tables() == set()
