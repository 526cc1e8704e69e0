"""One step of a run: a real tool in an app's folder, its output passed through, a failure said in one line.

Used by the migrate commands and ``make migrate-merge`` (scripts/commands/).
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from typing import TYPE_CHECKING

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import Failure, StepFailed
from scripts.core.systems import System
from scripts.database import lock

if TYPE_CHECKING:
    from scripts.database.preflight import Database
    from scripts.history.migrations import DatabaseState, Migration


# The revision being applied: "Running upgrade A -> B" applies B, "Running downgrade B -> A" undoes B.
ALEMBIC_RUNNING = re.compile(r"Running upgrade \S* ?-> (\w+)|Running downgrade (\w+) ->")


# scripts/drizzle_migrate.mjs's line for the migration that failed: the file, then the database's error.
RUNNER_FAILED = re.compile(r"^✗ (\S+\.sql): (.+)$")


def run_step(
    folder: str,
    argv: list[str],
    env: dict[str, str],
    database: Database | None,
    *,
    record_order: bool = False,
    generates: str | None = None,
) -> list[str]:
    """Run one step; ``record_order``: mark the migration files it creates with their place
    in the combined order of both systems (scripts/history/order.py). ``generates``: a generator, which
    must write that file or folder (scripts/database/generated.py); on a terminal, attached to it.
    What it printed, when it succeeded."""
    from scripts.database import generated
    from scripts.database.migration_state import read_database_state
    from scripts.database.tools import run_in_terminal, run_tool
    from scripts.history import order

    owner = systems.load().of_folder(folder)
    existing = order.migration_files(owner) if record_order and owner else set()
    before = generated.written(generates) if generates else {}
    # The template's own scripts are named from the repository's root (the Makefile gives them by full path).
    label = f"{folder}: {shlex.join(_from_root(argument) for argument in argv)}"
    print(f"→ {label}", flush=True)
    started = time.monotonic()
    on_terminal = bool(generates) and sys.stdin.isatty()  # its questions (drizzle-kit: a rename?) answered here
    result = run_in_terminal(folder, argv, env) if on_terminal else run_tool(folder, argv, env, echo=True)
    if result.code == 0:
        if generates and not generated.judge(label, generates, before, result.lines, on_terminal=on_terminal):
            print(f"✓ {label}: nothing to generate ({time.monotonic() - started:.1f} s)", flush=True)
            return result.lines
        print(f"✓ {label} ({time.monotonic() - started:.1f} s)", flush=True)
        if record_order and owner:
            for marked in order.record(owner, sorted(order.migration_files(owner) - existing)):
                print(f"✓ {marked}: its place in the combined order recorded (docs/migrations.md)")
        return result.lines
    where = ""
    # Which migration system the step's folder belongs to, to say what a failure left behind.
    if owner is not None:
        state = None
        if database is not None:
            try:
                state = read_database_state(database.url)
            except Failure as unreadable:  # e.g. the server went away mid-run
                print(f"  (what is applied now cannot be read: {unreadable.message})")
        pending = getattr(state, owner.name).pending if state is not None else None
        if failed_file := failed_migration(owner, result.lines, pending):
            where = f" in {failed_file}"
        if state is not None:
            print(describe(state))
    if "lock timeout" in result.cause:
        last = lock.last_wait()
        raise StepFailed(
            f"{label} failed{where} (exit {result.code}): {result.cause}"
            + (f"; the last wait was for a {last}" if last else ""),
            hint_for(result.cause),
        )
    raise StepFailed(
        f"{label} failed{where} (exit {result.code}): {result.cause}",
        hint_for(result.cause),
    )


def _from_root(argument: str) -> str:
    path = REPO_ROOT / "scripts"
    return argument.removeprefix(f"{REPO_ROOT}/") if argument.startswith(f"{path}/") else argument


def failed_migration(system: System, lines: list[str], pending: list[Migration] | None) -> str | None:
    """The file of the migration that failed, from what the tool printed (and, for a raw
    drizzle-kit, what was pending; every migration file when the database could not say)."""
    from scripts.history.alembic import alembic_revisions

    if system == systems.load().backend:  # Alembic names the revision it runs; drizzle-kit only the failed query
        revisions = [m.group(1) or m.group(2) for line in lines if (m := ALEMBIC_RUNNING.search(line))]
        by_id = {revision.revision: revision.path for revision in alembic_revisions()}
        path = by_id.get(revisions[-1]) if revisions else None
        return str(path.relative_to(REPO_ROOT)) if path else None
    if named := next((m.group(1) for line in lines if (m := RUNNER_FAILED.match(line))), None):
        return named
    query = failed_drizzle_query(lines)
    if pending is not None:
        candidates = [REPO_ROOT / migration.path for migration in pending]
    else:
        candidates = sorted(systems.load().frontend.migrations_path.glob("*.sql"))
    matching = [path for path in candidates if query and query in path.read_text()]
    return str(matching[0].relative_to(REPO_ROOT)) if matching else None


def failed_drizzle_query(lines: list[str]) -> str | None:
    """The first line of the statement drizzle-orm reports after "Failed query:"."""
    for index, line in enumerate(lines):
        if "Failed query:" in line:
            rest = line.split("Failed query:", 1)[1].strip()
            following = [later.strip() for later in lines[index + 1 :] if later.strip()]
            return rest or (following[0] if following else None)
    return None


def describe(state: DatabaseState) -> str:
    """What is applied now, system by system: each migration applies in a transaction of its own."""
    lines = ["  Now in the database:"]
    for system in state.systems:
        pending = ", ".join(m.id for m in system.pending)
        lines.append(
            f"    {system.name}: {len(system.applied)} of {len(system.migrations)} applied"
            + (f"; not applied: {pending}" if pending else " (up to date)")
        )
    return "\n".join(lines)


def hint_for(cause: str) -> str:
    if "lock timeout" in cause:
        return (
            "a table it changes stayed locked through every attempt (DB_LOCK_TIMEOUT, DB_LOCK_RETRIES): see which "
            "session holds it above; end that session (a long transaction, an idle one) or retry when it is done"
        )
    if "statement timeout" in cause:
        return "a statement ran longer than DB_STATEMENT_TIMEOUT: raise it for this run, e.g. DB_STATEMENT_TIMEOUT=2h"
    return "what each system had applied is above; fix the cause and run the command again"
