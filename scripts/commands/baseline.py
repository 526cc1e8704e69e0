"""``make migrate-baseline``: adopt an existing database, one whose tables exist but whose migrations are not recorded.

    make migrate-baseline [yes=1]  →  python -m scripts baseline [--yes]

For each system without bookkeeping rows, it finds the newest migration whose resulting
schema equals the live one, and records that migration and every one before it as applied:

- frontend: the live tables (``drizzle-kit pull``) against the snapshot drizzle-kit wrote with
  each migration (scripts/history/drizzle_snapshot.py); recorded as drizzle-orm's migrator records
  them (``hash`` the sha256 of the file's text, ``created_at`` the journal's ``when``);
- backend: the live ``api`` schema against the schema after each revision, replayed into a
  scratch database (scripts/checks/backend_replay.py); recorded by ``alembic stamp REVISION`` (the real
  tool), then the revisions' checksums in the tooling's ledger (scripts/database/ledger.py).

Where no migration matches, it refuses (exit 41) with the differences from the closest one.
It holds the migration lock, shows what it will record, and records only when confirmed
(``--yes``, or "y" on a terminal; otherwise exit 42). It writes only bookkeeping: no table of
either app is created, changed or dropped.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

from scripts.checks import backend_replay
from scripts.checks.frontend_checks import pulled_snapshot, snapshot_of
from scripts.core import config, systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import BaselineMismatch, BaselineNotConfirmed, ChangedMigration, StepFailed
from scripts.database import ledger
from scripts.database.lock import migration_lock
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import Database, connect, run_preflight
from scripts.database.tools import ToolEnvironments, run_tool
from scripts.history import drizzle_snapshot
from scripts.history.drizzle_journal import bookkeeping_ddl, bookkeeping_table, drizzle_hash, read_journal
from scripts.history.migrations import DatabaseState

MAX_NAMED = 8  # differences named in a refusal; the rest are counted


@dataclass
class Adoption:
    """What one system's live schema matches: the migrations to record, or why none do."""

    system: str
    recorded_already: int = 0
    migrations: list[str] = field(default_factory=list)  # to record, oldest first
    mismatch: list[str] = field(default_factory=list)  # differences from the closest migration
    closest: str | None = None

    @property
    def to_record(self) -> bool:
        return not self.recorded_already and bool(self.migrations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="record without asking")
    args = parser.parse_args()
    database = run_preflight(config.settings())
    wait = config.seconds(database.settings, "MIGRATE_LOCK_TIMEOUT", "60")
    with migration_lock(database.libpq_url, wait, config.seconds(database.settings, "DB_CONNECT_TIMEOUT", "5")):
        state = read_database_state(database.url)
        edited = [problem for problem in state.problems if isinstance(problem, ChangedMigration)]
        if edited:
            raise edited[0]
        adoptions = [frontend_adoption(database, state), backend_adoption(database, state)]
        for adoption in adoptions:
            print(describe(adoption))
        refusals = [adoption for adoption in adoptions if adoption.mismatch]
        if refusals:
            raise mismatch_failure(refusals)
        if not any(adoption.to_record for adoption in adoptions):
            print("✓ nothing to adopt: nothing is recorded now that was not recorded before")
            return 0
        confirm(args.yes)
        for adoption in adoptions:
            if adoption.to_record:
                record(database, adoption)
    print("✓ adopted: make migrate now applies only what is newer (make migrate-status shows it)")
    return 0


# ---- what each system's live schema matches ------------------------------------------------------


def frontend_adoption(database: Database, state: DatabaseState) -> Adoption:
    adoption = Adoption("frontend", recorded_already=len(state.frontend.applied))
    if adoption.recorded_already:
        return adoption
    frontend = systems.load().frontend
    env = ToolEnvironments(database.settings, database.url).node
    live = pulled_snapshot(env)
    # Drizzle's own table, where systems.env puts it in the frontend's schema, is no difference.
    in_schema = frontend.bookkeeping_schema == frontend.schema
    ignored = frozenset({f"{frontend.schema}.{frontend.bookkeeping_table}"} if in_schema else ())
    candidates: list[tuple[str | None, list[str]]] = [
        (None, drizzle_snapshot.differences({}, live, ignored_tables=ignored))
    ]
    for migration in state.frontend.migrations:
        snapshot = snapshot_of(migration.id)
        if snapshot is None:
            raise StepFailed(
                f"frontend: {frontend.migrations_folder}/meta has no snapshot of {migration.id}, "
                "so what it produces is unknown",
                "restore the snapshot from git (drizzle-kit writes one with every migration)",
            )
        candidates.append((migration.id, drizzle_snapshot.differences(snapshot, live, ignored_tables=ignored)))
    return _matched(adoption, candidates, [m.id for m in state.frontend.migrations])


def backend_adoption(database: Database, state: DatabaseState) -> Adoption:
    adoption = Adoption("backend", recorded_already=len(state.backend.applied))
    if adoption.recorded_already:
        return adoption
    backend = systems.load().backend
    session = connect(database.url)
    try:
        with session.cursor() as cursor:
            live = backend_replay.read_schema(cursor, backend.schema, backend.bookkeeping_table)
    finally:
        session.close()
    if not live:  # nothing there: nothing applied, no replay needed
        return adoption
    produced = backend_replay.schemas_after_each_revision(database.url, database.settings)
    candidates = [(revision, backend_replay.differences(schema, live)) for revision, schema in produced]
    return _matched(adoption, candidates, [revision for revision, _ in produced if revision])


def _matched(adoption: Adoption, candidates: list[tuple[str | None, list[str]]], history: list[str]) -> Adoption:
    """The newest candidate without a difference; else the closest one's differences.

    Closest: the fewest whole tables differing, then the fewest differences, then the newest. A
    table whose every column is named differently (Better Auth's own camelCase) is then reported
    column by column against the migration that has the table, not as a table too many.
    """
    matching = [name for name, found in candidates if not found]
    if matching:
        newest = matching[-1]
        adoption.migrations = history[: history.index(newest) + 1] if newest else []
        return adoption

    def distance(candidate: tuple[str | None, list[str]]) -> tuple[int, int]:
        found = candidate[1]
        return (sum(phrase.startswith("table ") for phrase in found), len(found))

    adoption.closest, adoption.mismatch = min(reversed(candidates), key=distance)
    return adoption


# ---- saying it, asking, recording --------------------------------------------------------------------


def describe(adoption: Adoption) -> str:
    system = getattr(systems.load(), adoption.system)
    name = f"{adoption.system} ({system.tool})"
    if adoption.recorded_already:
        recorded = f"{adoption.recorded_already} migration(s) already recorded in {system.bookkeeping}"
        return f"· {name}: {recorded}: nothing to adopt"
    if adoption.mismatch:
        closest = adoption.closest or "no migration (an empty schema)"
        return f"✗ {name}: the {system.schema} schema matches no migration; closest: {closest}"
    if not adoption.migrations:
        return f"· {name}: no tables in {system.schema}: nothing to adopt (make migrate creates them)"
    where = f"alembic stamp {adoption.migrations[-1]} and checksums in {systems.load().ledger_schema}"
    where = system.bookkeeping if adoption.system == "frontend" else where
    return (
        f"→ {name}: the {system.schema} schema is what the migrations produce up to {adoption.migrations[-1]}; "
        f"will record {len(adoption.migrations)} as applied ({where}): {', '.join(adoption.migrations)}"
    )


def mismatch_failure(refusals: list[Adoption]) -> BaselineMismatch:
    lines = [f"  {adoption.system}: {phrase}" for adoption in refusals for phrase in grouped(adoption.mismatch)]
    more = len(lines) - MAX_NAMED
    shown = "\n".join(lines[:MAX_NAMED]) + (f"\n  (and {more} more)" if more > 0 else "")
    return BaselineMismatch(
        f"the database matches no state its migrations produce, so nothing was recorded:\n{shown}",
        "make the database match a migration (undo the differences by hand), or capture them in a new "
        "migration first (docs/migrations.md, Adopting an existing database)",
    )


COLUMN_PHRASE = re.compile(r"^column ([^.]+)\.(.+): (in the database only|missing from the database)$")


def grouped(phrases: list[str]) -> list[str]:
    """One phrase per table for its columns only in the database or missing from it: a short diff."""
    columns: dict[str, dict[str, list[str]]] = {}
    rest = []
    for phrase in phrases:
        if match := COLUMN_PHRASE.match(phrase):
            table, column, where = match.groups()
            columns.setdefault(table, {}).setdefault(where, []).append(column)
        else:
            rest.append(phrase)
    by_table = [
        f"table {table}: columns " + "; columns ".join(f"{where}: {', '.join(names)}" for where, names in found.items())
        for table, found in columns.items()
    ]
    return by_table + rest


def confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise BaselineNotConfirmed(
            "nothing recorded: adopting must be confirmed, and there is no terminal to ask",
            "check the lines above, then run make migrate-baseline yes=1",
        )
    if input("Record these migrations as applied? [y/N] ").strip().lower() not in ("y", "yes"):
        raise BaselineNotConfirmed("nothing recorded: not confirmed", "run make migrate-baseline again when ready")


def record(database: Database, adoption: Adoption) -> None:
    if adoption.system == "frontend":
        record_frontend(database, adoption.migrations)
    else:
        record_backend(database, adoption.migrations[-1])
    print(f"✓ {adoption.system}: recorded {len(adoption.migrations)} migration(s) as applied")


def record_frontend(database: Database, tags: list[str]) -> None:
    """The rows drizzle-orm's migrator writes, in its own table (the DDL of drizzle-orm's pg dialect)."""
    frontend = systems.load().frontend
    whens = {entry.tag: entry.when for entry in read_journal()}
    session = connect(database.url)
    try:
        with session, session.cursor() as cursor:
            for statement in bookkeeping_ddl(frontend):
                cursor.execute(statement)
            for tag in tags:
                cursor.execute(
                    f"INSERT INTO {bookkeeping_table(frontend)} (hash, created_at) VALUES (%s, %s)",
                    (drizzle_hash(frontend.migrations_path / f"{tag}.sql"), whens[tag]),
                )
    finally:
        session.close()


def record_backend(database: Database, revision: str) -> None:
    backend = systems.load().backend
    env = ToolEnvironments(database.settings, database.url).python
    result = run_tool(backend.folder, ["alembic", "stamp", revision], env, echo=True)
    if result.code != 0:
        raise StepFailed(f"backend: alembic stamp {revision} failed: {result.cause}", "fix the cause and run it again")
    backend_state = read_database_state(database.url).backend
    applied = {m.id: REPO_ROOT / m.path for m in backend_state.applied}
    session = connect(database.url)
    try:
        with session, session.cursor() as cursor:
            ledger.synchronise(cursor, applied, {m.id for m in backend_state.migrations})
    finally:
        session.close()
