"""``make migrate-sql``: the SQL ``make migrate`` would run on the configured database, changing nothing.

The pending migrations of both systems, in their combined order (scripts/history/order.py), in the
segments ``make migrate`` runs them (scripts/commands/migrate.py):

- a frontend migration as scripts/drizzle_migrate.mjs runs it through drizzle-orm's migrator:
  its file split at ``--> statement-breakpoint``, one transaction, then the bookkeeping row;
- a segment of backend revisions as ``alembic upgrade FROM:TO --sql`` renders it: offline,
  env.py never connects, with BEGIN and COMMIT around each revision as online mode runs it.

Every piece is labelled with its system and migration file; all that is not SQL is a SQL
comment, so that the output can be saved and read as one SQL file. Read-only: pre-flight,
then the two bookkeeping tables are read. It takes no migration lock: it changes nothing, and
a lock would only make it wait behind a running ``make migrate`` (whose result the preview
would then no longer show). ``--lint`` runs squawk over the same SQL with the project's rules
(scripts/checks/lint_migrations.py), migration by migration, so that findings name their file.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from dataclasses import dataclass

from scripts.checks.lint_migrations import (
    RUNNING_UPGRADE,
    alembic_sql,
    not_excluded,
    outside_transaction,
    rendered_revisions,
    squawk,
)
from scripts.core import config, systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import Failure, MigrationSqlFindings, StepFailed
from scripts.core.redact import redact
from scripts.core.report import report_all
from scripts.database.preflight import run_preflight
from scripts.history import order
from scripts.history.alembic import alembic_revisions
from scripts.history.drizzle_journal import bookkeeping_ddl, bookkeeping_table, drizzle_hash, read_journal
from scripts.history.migrations import DatabaseState, Migration

BREAKPOINT = "--> statement-breakpoint"
# Alembic's offline output, per revision: "BEGIN;" ... "COMMIT;" (transaction_per_migration).
BEGIN = re.compile(r"^BEGIN;$", re.MULTILINE)


@dataclass(frozen=True)
class Piece:
    """One migration's SQL, as ``make migrate`` would run it."""

    system: str
    path: str  # relative to the repository root
    sql: str


@dataclass(frozen=True)
class Segment:
    """A run of one system's migrations: the command ``make migrate`` runs for it, what that
    command runs before the first migration, and the migrations' pieces."""

    system: str
    command: str
    preamble: str
    pieces: list[Piece]
    rendered: dict[str, str]  # Alembic's SQL by revision file, as make lint checks it


def frontend_segment(migrations: list[Migration]) -> Segment:
    frontend = systems.load().frontend
    table = bookkeeping_table(frontend)
    # drizzle-orm's migrator (pg-core dialect.migrate), before every migration the runner applies.
    preamble = "\n".join(f"{statement};" for statement in bookkeeping_ddl(frontend))
    when = {entry.tag: entry.when for entry in read_journal()}  # read and checked by migration_state
    pieces = []
    for migration in migrations:
        file = REPO_ROOT / migration.path
        statements = [statement.strip() for statement in file.read_text().split(BREAKPOINT)]
        body = "\n\n".join(terminated(statement) for statement in statements if statement)
        row = f'INSERT INTO {table} ("hash", "created_at") VALUES (\'{drizzle_hash(file)}\', {when[migration.id]});'
        if outside_transaction(file):  # as the runner applies it: no transaction (docs/migrations.md)
            pieces.append(Piece("frontend", migration.path, f"{body}\n\n{row}"))
        else:
            pieces.append(Piece("frontend", migration.path, f"BEGIN;\n\n{body}\n\n{row}\n\nCOMMIT;"))
    command = f"node scripts/drizzle_migrate.mjs --to {migrations[-1].id}"
    return Segment("frontend", command, preamble, pieces, {})


def terminated(statement: str) -> str:
    """A statement as a SQL file needs it: ending in ";" (drizzle-orm sends each one alone)."""
    code = [line for line in statement.splitlines() if not line.lstrip().startswith("--")]
    return statement if not code or code[-1].rstrip().endswith(";") else f"{statement};"


def backend_segment(start: str | None, target: str) -> Segment:
    """``alembic upgrade START:TARGET --sql`` (from nothing when ``start`` is None), one piece per revision."""
    span = f"{start}:{target}" if start else target
    sql = alembic_sql(span)
    revisions = alembic_revisions()
    files = {revision.revision: revision.path for revision in revisions}
    chunks = BEGIN.split(sql)
    preamble, pieces = chunks[0].strip(), []
    for chunk in chunks[1:]:
        running = RUNNING_UPGRADE.search(chunk)
        if running is None and pieces:  # an autocommit block inside a revision: its COMMIT ... BEGIN
            last = pieces.pop()
            pieces.append(Piece("backend", last.path, f"{last.sql}\n\nBEGIN;{chunk.rstrip()}"))
            continue
        path = files[running.group(1)].relative_to(REPO_ROOT) if running else "?"
        pieces.append(Piece("backend", str(path), f"BEGIN;{chunk.rstrip()}"))
    return Segment("backend", f"alembic upgrade {span} --sql", preamble, pieces, rendered_revisions(sql, revisions))


def plan(state: DatabaseState) -> list[Segment]:
    """The pending migrations' SQL, segment by segment, in the combined order."""
    ordered, _ = order.combined(state)
    current = [revision for revision in (state.backend.current or "").split(", ") if revision]
    if len(current) > 1:
        raise StepFailed(
            f"the database is at {len(current)} Alembic revisions ({', '.join(current)}); "
            "alembic upgrade --sql starts from one",
            "make migrate-status shows what is pending; make migrate applies it (the preview works again after)",
        )
    start = current[0] if current else None
    segments = []
    for system, migrations in order.segments(ordered):
        if system == "frontend":
            segments.append(frontend_segment(migrations))
            continue
        for target in order.segment_targets(migrations):
            segments.append(backend_segment(start, target))
            start = target
    return segments


def render(display: str, bounds: str, segments: list[Segment]) -> str:
    count = sum(len(segment.pieces) for segment in segments)
    lines = [
        f"-- make migrate-sql: the SQL make migrate would run on {display}: {count} migration(s),",
        "-- in the combined order of both systems (docs/migrations.md). Nothing was run or changed.",
        f"-- make migrate first sets in each tool's session: {bounds} (MIGRATION_BOUNDS)",
    ]
    number = 0
    for segment in segments:
        lines += ["", f"-- ---- {segment.system}: {segment.command}"]
        if segment.preamble:
            lines += [segment.preamble]
        for piece in segment.pieces:
            number += 1
            lines += ["", f"-- {number}. {piece.system}: {piece.path}", piece.sql]
    ledger = systems.load().ledger_schema
    lines += [
        "",
        f"-- Then make migrate records each applied revision's checksum in {ledger} (scripts/database/ledger.py).",
    ]
    return "\n".join(lines)


def lint(segments: list[Segment]) -> None:
    """squawk over the pending migrations' SQL, with make lint's rules and acknowledgements."""
    pieces = [piece for segment in segments for piece in segment.pieces]
    frontend = not_excluded([piece.path for piece in pieces if piece.system == "frontend"])
    rendered = {name: sql for segment in segments for name, sql in segment.rendered.items()}
    print("", flush=True)
    if not frontend and not rendered:
        print("squawk: nothing to check (.squawk.toml excludes every pending migration)")
        return
    if squawk(frontend, rendered) != 0:
        raise MigrationSqlFindings(
            "squawk: the SQL make migrate would run has the findings above",
            "change the migration, or acknowledge a finding that is right for its table "
            "(docs/your-app.md, 'A lint finding in generated SQL')",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lint", action="store_true", help="squawk the SQL with the project's rules (.squawk.toml)")
    args = parser.parse_args()
    from scripts.database.migration_state import read_database_state

    # Standard output carries the SQL alone: what pre-flight says goes to standard error.
    with contextlib.redirect_stdout(sys.stderr):
        database = run_preflight(quiet=True)
        state = read_database_state(database.url)
    problems: list[Failure] = [*state.problems, *order.combined(state)[1]]
    if problems:
        print("✗ make migrate would refuse this database, so there is no SQL to show:", file=sys.stderr)
        return report_all(problems)
    if not state.pending:
        summary = ", ".join(f"{system.name} at {system.current or 'nothing'}" for system in state.systems)
        print(redact(f"-- nothing pending on {database.display} ({summary}): make migrate would run no SQL"))
        return 0
    segments = plan(state)
    bounds = config.bounds_variable(config.migration_bounds(database.settings))
    print(redact(render(database.display, bounds, segments)), flush=True)
    if args.lint:
        lint(segments)
    return 0
