"""systems.env is the one place that names the apps' folders: a renamed frontend folder still migrates.

The scripts are run directly (``python -m scripts generate``/``scripts.commands.status``) with the
steps the Makefile gives them, so that this proves scripts/ alone.
"""

from __future__ import annotations

import re

import pytest

from conftest import Clone, backend_tables, drizzle_tags, frontend_tables
from testing.database import Database, Result
from testing.systems import BACKEND_BOOKKEEPING, BACKEND_SCHEMA, FRONTEND_BOOKKEEPING

pytestmark = pytest.mark.full


def steps(clone: Clone) -> tuple[str, ...]:
    """The steps of the Makefile's migrate, with the frontend in web/."""
    runner = f"node {clone.root / 'scripts' / 'drizzle_migrate.mjs'}"
    return ("--step", "web", runner, "--step", "backend", "alembic upgrade head")


def rename_frontend(clone: Clone, folder: str) -> None:
    (clone.root / "nextjs").rename(clone.root / folder)
    declared = clone.root / "systems.env"
    declared.write_text(re.sub(r"^FRONTEND_DIR=.*$", f"FRONTEND_DIR={folder}", declared.read_text(), flags=re.M))


def script(clone: Clone, database: Database, module: str, *args: str) -> Result:
    return clone.run_script(module, *args, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")


def test_a_renamed_frontend_folder_migrates_and_reports_status(clone: Clone, database: Database) -> None:
    rename_frontend(clone, "web")

    before = script(clone, database, "status")
    migrated = script(clone, database, "migrate", *steps(clone))
    status = script(clone, database, "status")

    assert before.code == 1, before.output  # pending: read from web/drizzle
    assert f"· {drizzle_tags()[0]}  pending" in before.output
    assert migrated.code == 0, migrated.output
    assert "→ web: node scripts/drizzle_migrate.mjs" in migrated.output
    bookkeeping = {FRONTEND_BOOKKEEPING, BACKEND_BOOKKEEPING}
    assert frontend_tables() | backend_tables() | bookkeeping <= database.tables()
    assert status.code == 0, status.output
    assert "Status: up to date" in status.output


def test_a_problem_names_the_renamed_folder(clone: Clone, database: Database) -> None:
    rename_frontend(clone, "web")
    journal = clone.root / "web" / "drizzle" / "meta" / "_journal.json"
    first = drizzle_tags()[0]
    journal.write_text(journal.read_text().replace(f'"tag": "{first}"', '"tag": "0000_missing"'))

    result = script(clone, database, "status")

    assert result.code == 32, result.output
    assert "web/drizzle/0000_missing.sql is missing" in result.output
    assert "nextjs" not in result.output


def test_a_folder_systems_env_names_but_the_repository_lacks_is_one_line_and_exit_17(
    clone: Clone, database: Database
) -> None:
    declared = clone.root / "systems.env"
    declared.write_text(declared.read_text().replace("FRONTEND_DIR=nextjs", "FRONTEND_DIR=web"))

    result = script(clone, database, "status")

    assert result.code == 17, result.output
    assert "systems.env: FRONTEND_DIR=web, but the repository has no folder web/" in result.output
    assert "Traceback" not in result.output


def test_a_schema_name_that_is_no_plain_name_is_refused_before_any_sql(clone: Clone, database: Database) -> None:
    declared = clone.root / "systems.env"
    declared.write_text(
        declared.read_text().replace(f"BACKEND_SCHEMA={BACKEND_SCHEMA}", f'BACKEND_SCHEMA={BACKEND_SCHEMA}"; DROP')
    )

    result = script(clone, database, "migrate", *steps(clone))

    assert result.code == 17, result.output
    assert "is not a plain PostgreSQL name" in result.output
    assert database.tables() == set()
