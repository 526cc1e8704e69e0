"""`make migrate-baseline`: an existing database is adopted only where its schema is what the
migrations produce, in both tools' own bookkeeping and the ledger, and no table is changed.

Generic over the user's migrations: the tests name no migration, table or column of the app's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import Clone, alembic_head, drizzle_journal, frontend_tables
from scripts.database.tools import NODE_BIN
from testing.database import Database, run
from testing.systems import SYSTEMS

DRIZZLE_TABLE = f'"{SYSTEMS["FRONTEND_BOOKKEEPING_SCHEMA"]}"."{SYSTEMS["FRONTEND_BOOKKEEPING_TABLE"]}"'
ALEMBIC_TABLE = f'"{SYSTEMS["BACKEND_BOOKKEEPING_SCHEMA"]}"."{SYSTEMS["BACKEND_BOOKKEEPING_TABLE"]}"'
LEDGER = SYSTEMS["LEDGER_SCHEMA"]
MISMATCH, NOT_CONFIRMED = 41, 42


def apps_dump(database: Database) -> str:
    """pg_dump of everything but the bookkeeping (both tools' and the ledger), data included."""
    excluded = [
        f"--exclude-schema={SYSTEMS['FRONTEND_BOOKKEEPING_SCHEMA']}",
        f"--exclude-schema={LEDGER}",
        f"--exclude-table={SYSTEMS['BACKEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['BACKEND_BOOKKEEPING_TABLE']}",
    ]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", *excluded, database.url_string(drivername="postgresql")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def bookkeeping(database: Database) -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        database.query(f"SELECT hash, created_at FROM {DRIZZLE_TABLE} ORDER BY id"),
        database.query(f"SELECT version_num FROM {ALEMBIC_TABLE}"),
        ledger_rows(database),
    )


def ledger_rows(database: Database) -> list[tuple]:
    if not database.query(f"SELECT to_regclass('{LEDGER}.applied')")[0][0]:
        return []  # the raw tools keep no ledger
    return database.query(f"SELECT system, migration, code_sha256 FROM {LEDGER}.applied ORDER BY 2")


def drop_bookkeeping(database: Database) -> None:
    database.query(f'DROP SCHEMA "{SYSTEMS["FRONTEND_BOOKKEEPING_SCHEMA"]}" CASCADE')
    database.query(f"DROP TABLE {ALEMBIC_TABLE}")
    database.query(f'DROP SCHEMA IF EXISTS "{LEDGER}" CASCADE')


def raw_tools_migrate(database: Database) -> None:
    """The raw tools, as their docs show them: npx drizzle-kit migrate, then alembic upgrade head."""
    frontend = run(
        ["npx", "drizzle-kit", "migrate"],
        database_url=database.url_string(),
        cwd=Path(__file__).resolve().parents[1] / SYSTEMS["FRONTEND_DIR"],
        PATH=f"{NODE_BIN}:{os.environ['PATH']}",
    )
    assert frontend.code == 0, frontend.output
    backend = database.backend("upgrade", "head")
    assert backend.code == 0, backend.output


def baseline(database: Database, *args: str) -> tuple[int, str]:
    """The script itself, for its own exit code (make hides it)."""
    result = run(
        ["uv", "run", "--frozen", "python", "-m", "scripts", "baseline", *args], database_url=database.url_string()
    )
    return result.code, result.output


@pytest.mark.full
def test_a_database_made_by_the_raw_tools_is_adopted_as_they_recorded_it_and_make_migrate_then_applies_nothing(
    database: Database,
) -> None:
    raw_tools_migrate(database)
    drizzle_rows, alembic_rows, _ = bookkeeping(database)
    drop_bookkeeping(database)
    tables_before = apps_dump(database)

    adopted = database.make("migrate-baseline", yes="1")

    assert adopted.code == 0, adopted.output
    assert apps_dump(database) == tables_before  # no table changed: only bookkeeping written
    recorded_drizzle, recorded_alembic, ledger_rows = bookkeeping(database)
    assert recorded_drizzle == drizzle_rows  # exactly the rows drizzle-kit migrate wrote
    assert len(recorded_drizzle) == len(drizzle_journal())
    assert recorded_alembic == alembic_rows == [(alembic_head(),)]
    assert {row[1] for row in ledger_rows} >= {alembic_head()}
    migrated = database.make("migrate")
    assert migrated.code == 0, migrated.output
    assert apps_dump(database) == tables_before  # make migrate applied nothing
    assert bookkeeping(database)[:2] == (drizzle_rows, alembic_rows)
    checked = database.make("migrate-check")
    assert checked.code == 0, checked.output


@pytest.mark.full
def test_tables_made_by_better_auths_own_migrate_are_refused_naming_their_camel_case_columns(
    clone: Clone, database: Database
) -> None:
    # Better Auth's CLI on a plain pg Pool (no Drizzle adapter) names its columns in camelCase.
    config = clone.root / SYSTEMS["FRONTEND_DIR"] / "lib" / "auth-pool.ts"
    config.write_text(
        'import { betterAuth } from "better-auth";\nimport { Pool } from "pg";\n\n'
        "export const auth = betterAuth({\n"
        "  database: new Pool({ connectionString: process.env.DATABASE_URL }),\n"
        "  emailAndPassword: { enabled: true },\n});\n"
    )
    url = database.url_string()
    path = f"{NODE_BIN}:{os.environ['PATH']}"
    made = clone.run(
        "bash", "-c", "cd nextjs && auth migrate --config lib/auth-pool.ts --yes", DATABASE_URL=url, PATH=path
    )
    assert made.code == 0, made.output
    camel_case = {
        row[0]
        for row in database.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name ~ '[A-Z]'"
        )
    }
    assert camel_case, "Better Auth's migrate made no camelCase column: the fixture is not what it claims"
    tables_before = apps_dump(database)

    refused = clone.run_script("baseline", "--yes", DATABASE_URL=url, ENV_FILE="/dev/null")

    assert refused.code == MISMATCH, refused.output
    assert "in the database only" in refused.output
    assert any(column in refused.output for column in camel_case)
    assert apps_dump(database) == tables_before
    assert not database.query(f"SELECT to_regclass('{DRIZZLE_TABLE}')")[0][0]


@pytest.mark.full
def test_a_column_added_by_hand_is_refused_naming_its_table_and_column(database: Database) -> None:
    assert database.make("migrate").code == 0
    drop_bookkeeping(database)
    table = sorted(frontend_tables())[0].split(".", 1)[1]
    database.query(f'ALTER TABLE public."{table}" ADD COLUMN stray_by_hand text')
    tables_before = apps_dump(database)

    code, output = baseline(database, "--yes")

    assert code == MISMATCH, output
    assert f"table {table}: columns in the database only: stray_by_hand" in output
    assert apps_dump(database) == tables_before
    assert not database.query(f"SELECT to_regclass('{DRIZZLE_TABLE}')")[0][0]


@pytest.mark.full
def test_without_confirmation_it_shows_what_it_would_record_and_records_nothing(database: Database) -> None:
    assert database.make("migrate").code == 0
    drop_bookkeeping(database)

    code, output = baseline(database)  # no --yes, and no terminal to ask

    assert code == NOT_CONFIRMED, output
    assert f"up to {drizzle_journal()[-1]['tag']}" in output
    assert f"alembic stamp {alembic_head()}" in output
    assert not database.query(f"SELECT to_regclass('{DRIZZLE_TABLE}')")[0][0]
    assert not database.query(f"SELECT to_regclass('{ALEMBIC_TABLE}')")[0][0]


def test_a_database_with_its_bookkeeping_has_nothing_to_adopt(migrated_once: Database) -> None:
    before = bookkeeping(migrated_once)

    code, output = baseline(migrated_once)

    assert code == 0, output
    assert "nothing to adopt" in output
    assert bookkeeping(migrated_once) == before
