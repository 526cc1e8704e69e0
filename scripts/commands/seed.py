"""``make seed``: run the apps' own seeds on a migrated development database, and say what changed.

    make seed  →  python -m scripts seed --step nextjs "tsx seed.ts" --step backend "python -m app.seed"

The seeds are the apps' (nextjs/seed.ts, backend/app/seed.py): they decide what to add and
must add only what is missing. This wrapper refuses what is not a development database the
template started (scripts/database/guard.py), checks that every migration is applied, runs each seed
in its folder with the database's URL, and compares every row of the migrations' tables
before and after, so that it can say "nothing changed" whatever the seeds print.
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from decimal import Decimal

from dotenv import dotenv_values
from psycopg2 import sql
from psycopg2.extensions import connection

from scripts.core import config, systems
from scripts.core.config import EXAMPLE_ENV_FILE, Settings
from scripts.core.database_url import for_libpq, for_node
from scripts.core.errors import SeedFailed
from scripts.core.redact import add_secret
from scripts.database import guard
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import Database, connect, run_preflight
from scripts.database.tools import child_environment, database_urls, run_tool

# Settings whose values the seeds may hold in memory and must never show (SEED_USER_PASSWORD, ...).
SECRET_NAME_PARTS = ("PASSWORD", "SECRET")
RowDigests = dict[str, tuple[int, Decimal]]


def mask_secret_settings(settings: Settings) -> None:
    """The seeds read their settings themselves (as the apps do), .env.example's defaults included."""
    example = dotenv_values(EXAMPLE_ENV_FILE) if EXAMPLE_ENV_FILE.is_file() else {}
    for name, value in {**example, **settings.values}.items():
        if value and any(part in name.upper() for part in SECRET_NAME_PARTS):
            add_secret(value)


def row_digests(session: connection) -> RowDigests:
    """Each table of the migrations' schemas (bookkeeping aside): its row count and a digest of its rows."""
    declared = systems.load()
    bookkeeping = {system.bookkeeping for system in (declared.frontend, declared.backend)}
    with session.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s) ORDER BY 1, 2",
            (list(declared.schemas),),
        )
        tables = [(schema, table) for schema, table in cursor.fetchall() if f"{schema}.{table}" not in bookkeeping]
        if not tables:
            return {}
        # Order-free: the sum of a 64-bit hash of each whole row.
        per_table = sql.SQL("SELECT {name}, count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {table} AS t")
        cursor.execute(
            sql.SQL(" UNION ALL ").join(
                per_table.format(name=sql.Literal(f"{schema}.{table}"), table=sql.Identifier(schema, table))
                for schema, table in tables
            )
        )
        return {name: (count, digest) for name, count, digest in cursor.fetchall()}


def changes(before: RowDigests, after: RowDigests) -> str | None:
    """What the seeds changed, e.g. ``public.user (+1), api.note (+3)``; None when nothing."""
    changed = []
    for table in sorted(set(before) | set(after)):
        if before.get(table) != after.get(table):
            difference = after.get(table, (0, 0))[0] - before.get(table, (0, 0))[0]
            changed.append(f"{table} ({difference:+d})" if difference else f"{table} (rows changed)")
    return ", ".join(changed) or None


def check_migrated(database: Database) -> None:
    pending = read_database_state(database.url).pending
    if pending:
        raise SeedFailed(
            f"{len(pending)} migration(s) are not applied yet: the seeds need every table; nothing was seeded",
            "run make migrate first, then make seed (make db-reset does both, on an empty database)",
        )


def seed_environment(settings: Settings, database: Database, folder: str) -> dict[str, str]:
    """The process environment, not the tooling's settings: each seed reads its app's settings as the app does."""
    is_frontend = folder == systems.load().frontend.folder
    url = for_node(database.url) if is_frontend else for_libpq(database.url)
    return {**os.environ, "PATH": child_environment(settings, None)["PATH"], **database_urls(url)}


def run_seed(settings: Settings, database: Database, folder: str, command: str) -> None:
    label = f"{folder}: {command}"
    print(f"→ {label}", flush=True)
    started = time.monotonic()
    result = run_tool(folder, shlex.split(command), seed_environment(settings, database, folder), echo=True)
    if result.code != 0:
        raise SeedFailed(
            f"{label} failed (exit {result.code}): {result.cause.removeprefix('✗ ')}",
            "fix that seed or the setting it names, then run make seed again (the seeds add nothing twice)",
        )
    print(f"✓ {label} ({time.monotonic() - started:.1f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="also seed a database the template did not start")
    parser.add_argument(
        "--step", nargs=2, action="append", default=[], metavar=("FOLDER", "COMMAND"), help="a seed and its folder"
    )
    args = parser.parse_args()

    settings = config.settings()
    guard.refuse_production(settings, "seed")
    mask_secret_settings(settings)
    database = run_preflight(settings, quiet=True)
    session = connect(database.url, config.seconds(settings, "DB_CONNECT_TIMEOUT", "5"))
    try:
        guard.refuse_unless_started_here(
            database.url, settings, session, "seed", "adds the seeds' user and rows to it", confirmed=args.yes
        )
        check_migrated(database)
        before = row_digests(session)
        for folder, command in args.step:
            run_seed(settings, database, folder, command)
        changed = changes(before, row_digests(session))
    finally:
        session.close()
    if changed:
        print(f"✓ seeded {database.display}: {changed}")
    else:
        print(f"✓ nothing to seed: {database.display} already holds what the seeds add (no row changed)")
