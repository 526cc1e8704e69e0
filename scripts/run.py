"""Run the real tools against DATABASE_URL: pre-flight first, then each step in order.

    python -m scripts.run --lock --check --step nextjs "drizzle-kit migrate" --step backend "alembic upgrade head"
    python -m scripts.run --in backend -- alembic revision --autogenerate -m "add tags"

Each step runs in its folder with DATABASE_URL in the one form both tools read
(postgresql://, see app.database_url) and the libpq variables psql reads. The
tools' output is passed through with passwords masked and stack traces left
out; a failing step ends the run with one line saying which step failed and why.
"""

from __future__ import annotations

import argparse
import re
import shlex
import time
from contextlib import ExitStack

from app.database_url import for_libpq
from app.settings import REPO_ROOT
from scripts import config
from scripts.backup import backup_wanted, take_backup
from scripts.check import find_problems
from scripts.errors import Failure, StepFailed, UsageError, entry_point, report_all
from scripts.lock import migration_lock
from scripts.migration_state import DatabaseState, SystemState, read_database_state
from scripts.preflight import Database, run_preflight
from scripts.tools import child_environment, libpq_variables, run_interactive, run_tool

# Which migration system a step's folder belongs to, to say what a failure left behind.
SYSTEM_OF_FOLDER = {"nextjs": "frontend", "backend": "backend"}
ALEMBIC_RUNNING = re.compile(r"Running (?:upgrade|downgrade) .*?-> (\w+)")


def run_step(folder: str, argv: list[str], env: dict[str, str], database: Database | None) -> None:
    label = f"{folder}: {shlex.join(argv)}"
    print(f"→ {label}", flush=True)
    started = time.monotonic()
    result = run_tool(folder, argv, env, echo=True)
    if result.code == 0:
        print(f"✓ {label} ({time.monotonic() - started:.1f} s)", flush=True)
        return
    where = ""
    if database is not None and folder in SYSTEM_OF_FOLDER:
        try:
            state = read_database_state(database.url)
        except Failure as unreadable:
            print(f"  (what is applied now cannot be read: {unreadable.message})")
        else:
            system = getattr(state, SYSTEM_OF_FOLDER[folder])
            if failed_file := failed_migration(system, result.lines):
                where = f" in {failed_file}"
            print(describe(state))
    raise StepFailed(
        f"{label} failed{where} (exit {result.code}): {result.cause}",
        hint_for(result.cause),
    )


def failed_migration(system: SystemState, lines: list[str]) -> str | None:
    """The file of the migration that failed, from what the tool printed."""
    if system.tool == "alembic":
        revisions = [m.group(1) for line in lines if (m := ALEMBIC_RUNNING.search(line))]
        by_id = {m.id: m.path for m in system.migrations}
        return by_id.get(revisions[-1]) if revisions else None
    query = failed_drizzle_query(lines)
    if query:
        for migration in system.pending:
            if query in (REPO_ROOT / migration.path).read_text():
                return migration.path
    return None


def failed_drizzle_query(lines: list[str]) -> str | None:
    """The first line of the statement drizzle-orm reports after "Failed query:"."""
    for index, line in enumerate(lines):
        if "Failed query:" in line:
            rest = line.split("Failed query:", 1)[1].strip()
            following = [later.strip() for later in lines[index + 1 :] if later.strip()]
            return rest or (following[0] if following else None)
    return None


def describe(state: DatabaseState) -> str:
    """What is applied now, system by system: each applies in one transaction."""
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
            "a table it changes is busy (DB_LOCK_TIMEOUT): retry when traffic is low, or give this run "
            "more time: make migrate DB_LOCK_TIMEOUT=60s"
        )
    if "statement timeout" in cause:
        return "a statement ran longer than DB_STATEMENT_TIMEOUT: raise it for this run, e.g. DB_STATEMENT_TIMEOUT=2h"
    return "what each system had applied is above; fix the cause and run the command again"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--step", nargs=2, action="append", default=[], metavar=("FOLDER", "COMMAND"),
        help="run COMMAND in FOLDER (relative to the repository root); repeat for more steps",
    )
    parser.add_argument("--in", dest="folder", help="with a command after --: the folder to run it in")
    parser.add_argument("--lock", action="store_true",
                        help="hold the migration lock for the whole run; bound the steps' lock and statement waits")
    parser.add_argument("--check", action="store_true", help="run migrate-check first; stop on any problem")
    parser.add_argument("--backup", action="store_true",
                        help="take a backup first when ENV=production (unless BACKUP=skip)")
    parser.add_argument("--offline", action="store_true",
                        help="the steps do not connect: skip pre-flight, pass DATABASE_URL through if set")
    parser.add_argument("--interactive", action="store_true", help="one step, attached to the terminal (psql)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARG...: one step")
    args = parser.parse_args()
    steps = [(folder, shlex.split(command)) for folder, command in args.step]
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command:
        steps.append((args.folder or ".", command))
    if not steps or (args.interactive and len(steps) != 1):
        raise UsageError("give one command (--in FOLDER -- COMMAND) or one or more --step FOLDER COMMAND")

    if args.offline:
        settings = config.settings()
        url = config.database_url(settings) if settings.database_url else None
        env = child_environment(settings, for_libpq(url) if url else None)
        for folder, argv in steps:
            run_step(folder, argv, env, database=None)
        return 0

    database = run_preflight()
    env = {**child_environment(database.settings, database.libpq_url), **libpq_variables(database.url)}
    if args.interactive:
        return run_interactive(*steps[0], env)
    with ExitStack() as stack:
        if args.lock:
            wait = config.seconds(database.settings, "MIGRATE_LOCK_TIMEOUT", "60")
            stack.enter_context(migration_lock(database.libpq_url, wait))
            options = config.migration_session_options(database.settings)
            env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {options}".strip()
        if args.check:
            problems = find_problems(read_database_state(database.url), env)
            if problems:
                print("✗ migrate-check found problems; nothing was applied:")
                return report_all(problems)
        if args.backup and backup_wanted(database.settings):
            take_backup(database)
        for folder, argv in steps:
            run_step(folder, argv, env, database)
    return 0


if __name__ == "__main__":
    entry_point(main)
