"""Run the real tools against DATABASE_URL: pre-flight first, then each step in order.

    python -m scripts run --lock --check --step nextjs "node $PWD/scripts/drizzle_migrate.mjs" \\
        --step backend "alembic upgrade head"
    python -m scripts run --in backend -- alembic revision --autogenerate -m "add tags"

(FOLDER: an app's folder, as systems.env names it.)

Each step runs in its folder with DATABASE_URL in the one form both tools read
(postgresql://, see scripts/core/database_url.py) and the libpq variables psql reads. The
tools' output is passed through with passwords masked and stack traces left
out; a failing step ends the run with one line saying which step failed and why.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from scripts import fastpath
from scripts.core import systems
from scripts.core.config import REPO_ROOT, Settings
from scripts.core.errors import Failure, UnknownAppliedMigration, UsageError
from scripts.core.report import report_all
from scripts.database import session_settings
from scripts.database.session_settings import application_name
from scripts.database.steps import run_step
from scripts.history.fingerprint import fingerprint

if TYPE_CHECKING:
    from scripts.database.preflight import Database
    from scripts.history.migrations import DatabaseState

# The rest (tenacity, the checks, ...) is imported after the fast path (scripts/fastpath.py)
# had its chance: a no-op run should cost one database round trip and little else.


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--step",
        nargs=2,
        action="append",
        default=[],
        metavar=("FOLDER", "COMMAND"),
        help="run COMMAND in FOLDER (relative to the repository root); repeat for more steps",
    )
    parser.add_argument("--in", dest="folder", help="with a command after --: the folder to run it in")
    parser.add_argument(
        "--fast", action="store_true", help="answer at once when nothing changed since a full run found nothing to do"
    )
    parser.add_argument(
        "--lock",
        action="store_true",
        help="hold the migration lock for the whole run; bound the steps' lock and statement waits",
    )
    parser.add_argument("--check", action="store_true", help="run migrate-check first; stop on any problem")
    parser.add_argument(
        "--backup", action="store_true", help="take a backup first when ENV=production (unless BACKUP=skip)"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="the steps do not connect: skip pre-flight, pass DATABASE_URL through if set",
    )
    parser.add_argument(
        "--ordered",
        action="store_true",
        help="with --check: apply the pending migrations of both systems in their combined order "
        "(scripts/history/order.py), each step's command run once per segment, up to that segment's last migration",
    )
    parser.add_argument(
        "--record-order",
        action="store_true",
        help="mark the migration files the command creates with their place in the combined order",
    )
    parser.add_argument("--interactive", action="store_true", help="one step, attached to the terminal (psql)")
    parser.add_argument(
        "--generates",
        metavar="PATH",
        help="the command generates this file or folder: a failure unless it writes it or says there is "
        "nothing to generate; attached to the terminal, if there is one, to answer its questions",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARG...: one step")
    args = parser.parse_args()
    steps = [(folder, shlex.split(command)) for folder, command in args.step]
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command:
        steps.append((args.folder or ".", command))
    if not steps or (args.interactive and len(steps) != 1):
        raise UsageError("give one command (--in FOLDER -- COMMAND) or one or more --step FOLDER COMMAND")

    from scripts.core import config

    settings = config.settings()
    if args.fast and (record := fastpath.up_to_date(settings)):
        print(f"✓ up to date: {record['summary']} (nothing changed since the last full check)")
        return 0
    if args.offline:
        return run_offline(settings, steps, record_order=args.record_order, generates=args.generates)
    return run_online(settings, steps, args)


def run_offline(
    settings: Settings, steps: list[tuple[str, list[str]]], *, record_order: bool = False, generates: str | None = None
) -> int:
    from scripts.core import config
    from scripts.core.database_url import for_libpq, for_node
    from scripts.database.tools import child_environment

    url = config.database_url(settings) if settings.migration_database_url else None
    frontend = systems.load().frontend
    for folder, argv in steps:
        form = for_node if systems.load().of_folder(folder) == frontend else for_libpq
        env = child_environment(settings, form(url) if url else None)
        run_step(folder, argv, env, database=None, record_order=record_order, generates=generates)
    return 0


def run_online(settings: Settings, steps: list[tuple[str, list[str]]], args: argparse.Namespace) -> int:
    from scripts.checks import accept
    from scripts.checks.check import find_problems
    from scripts.core import config
    from scripts.core.database_url import for_node
    from scripts.database.backup import backup_wanted, take_backup
    from scripts.database.lock import migration_lock
    from scripts.database.migration_state import read_database_state
    from scripts.database.preflight import run_preflight
    from scripts.database.tools import child_environment, database_urls, libpq_variables, run_interactive

    database = run_preflight(settings)
    env = {**child_environment(database.settings, database.libpq_url), **libpq_variables(database.url)}
    # node-postgres gets the URL with libpq's meaning of sslmode (scripts.core.database_url.for_node).
    node_env = {**env, **database_urls(for_node(database.url))}
    frontend = systems.load().frontend
    if args.interactive:
        return run_interactive(*steps[0], env)
    with ExitStack() as stack:
        if args.lock:
            wait = config.seconds(database.settings, "MIGRATE_LOCK_TIMEOUT", "60")
            connect_timeout = config.seconds(database.settings, "DB_CONNECT_TIMEOUT", "5")
            lock_timeout = config.duration_seconds(config.migration_bounds(database.settings)["lock_timeout"])
            waited = stack.enter_context(
                migration_lock(database.libpq_url, wait, connect_timeout, lock_timeout or None)
            )
            # The run that held the lock may have applied everything and left a fresh record.
            if waited and args.fast and (record := fastpath.up_to_date(database.settings, holding_lock=True)):
                print(f"✓ up to date: {record['summary']} (the run before this one left nothing to do)")
                return 0
            # The tools SET them at the start of their session (env.py, drizzle_migrate.mjs): a SET
            # reaches the server through any pooler, where PGOPTIONS does not (pre-flight checked).
            bounds = config.bounds_variable(config.migration_bounds(database.settings))
            env["MIGRATION_BOUNDS"] = node_env["MIGRATION_BOUNDS"] = bounds
            # A migration that times out on a lock is tried again (env.py, drizzle_migrate.mjs).
            retries = config.settings_variable(config.lock_retries(database.settings))
            env["MIGRATION_LOCK_RETRIES"] = node_env["MIGRATION_LOCK_RETRIES"] = retries
            session_names = migration_sessions(database)
            env["MIGRATION_SESSION"] = node_env["MIGRATION_SESSION"] = session_names("check")
            # The checks' other sessions (drizzle-kit pull, ...) carry the run's name too, unless the URL sets one.
            for environment in (env, node_env):
                environment.setdefault("PGAPPNAME", application_name("check"))
        state = checked = None
        accepted: frozenset[str] = frozenset()
        if args.check:
            files_fingerprint = fingerprint()
            checked = fastpath.snapshot(database.settings)
            state = read_database_state(database.url)
            accepted = accept.requested(database.settings)
            problems = find_problems(state, env, accepted)
            if not args.ordered:
                problems += refusals_of_order(state, steps)
            problems, waived = accept.waived(problems, accepted)
            if problems:
                print("✗ migrate-check found problems; nothing was applied:")
                return report_all(accept.with_way_past(problems))
            if waived:
                record_accepted(database, waived)
                checked = None  # no fast-path record for a run that waived a check: the next run checks again
            accept.warn(waived, accepted)
        if args.backup and backup_wanted(database.settings):
            take_backup(database)
        backend_pending = args.fast and state is not None and state.backend.pending
        drift_folder = (
            stack.enter_context(tempfile.TemporaryDirectory(prefix="migrate-drift-")) if backend_pending else None
        )
        drift_report = Path(drift_folder) / "drift" if drift_folder else None
        if drift_report:
            env["MIGRATE_DRIFT_REPORT"] = node_env["MIGRATE_DRIFT_REPORT"] = str(drift_report)
        if args.ordered and state is not None:
            steps = ordered_steps(steps, state)
            if not steps:
                at = ", ".join(f"{system.name} at {system.current or 'nothing'}" for system in state.systems)
                print(f"✓ nothing to apply: {at} (checked in full)")
        try:
            for folder, argv in steps:
                step_env = node_env if systems.load().of_folder(folder) == frontend else env
                if args.lock:  # each tool's session is named for its system: a killed run's are told apart
                    owner = systems.load().of_folder(folder)
                    step_env = {**step_env, "MIGRATION_SESSION": session_names(owner.name if owner else "tool")}
                run_step(folder, argv, step_env, database, record_order=args.record_order, generates=args.generates)
        finally:
            if args.lock:
                keep_checksums(database, state, step_failed=sys.exc_info()[0] is not None)
        if args.fast and state is not None:
            if state.pending:
                models_agree = models_match(drift_report, database, accepted)  # fails on a difference not accepted
                if state.frontend.pending:
                    # Check 38 compares the tables with the applied migrations replayed into a scratch database
                    # (seconds): whether the SQL just applied made them so is for the next run to check.
                    return 0
                # What is in the database now is what the record must hold.
                state, checked = read_database_state(database.url), fastpath.snapshot(database.settings)
                if state.pending or state.problems or not models_agree:
                    return 0
            if checked is not None:
                # Nothing is pending and every check passed: the next run may take the fast path.
                summary = ", ".join(f"{system.name} at {system.current or 'nothing'}" for system in state.systems)
                fastpath.remember(database.settings, files_fingerprint, checked, summary)
    return 0


def migration_sessions(database: Database) -> Callable[[str], str]:
    """``MIGRATION_SESSION`` for a tool's session of a role: its application_name, and where the
    server has it, client_connection_check_interval (a killed tool's statement ends within seconds)."""
    from scripts.core import config
    from scripts.database.preflight import connect

    probe = connect(database.url)
    try:
        extra = session_settings.session_settings("probe", probe)
    finally:
        probe.close()
    return lambda role: config.settings_variable({**extra, "application_name": application_name(role)})


def refusals_of_order(state: DatabaseState, steps: list[tuple[str, list[str]]]) -> list[Failure]:
    """A run of one system's migrate (make migrate-backend, migrate-frontend) that would apply a
    migration before the other system's migration it was written after."""
    from scripts.history import order

    owners = {owner.name for folder, _ in steps if (owner := systems.load().of_folder(folder))}
    return [problem for owner in sorted(owners) for problem in order.out_of_order(state, owner)]


def ordered_steps(steps: list[tuple[str, list[str]]], state: DatabaseState) -> list[tuple[str, list[str]]]:
    """The two migrate steps, run once per segment of the combined order (scripts/history/order.py):
    the frontend's runner ``--to`` the segment's last tag, ``alembic upgrade`` to each
    revision of the segment that no later one of it descends from."""
    from scripts.history import order

    declared = systems.load()
    commands = {owner.name: (folder, argv) for folder, argv in steps if (owner := declared.of_folder(folder))}
    ordered, _ = order.combined(state)
    planned: list[tuple[str, list[str]]] = []
    # A system with no migrations at all (the sample removed before a first model): its tool runs
    # once anyway, as without the order, so that its bookkeeping table exists.
    for system in state.systems:
        if not system.migrations and system.name in commands:
            planned.append(commands[system.name])
    for system, migrations in order.segments(ordered):
        folder, argv = commands[system]
        if system == "frontend":
            planned.append((folder, [*argv, "--to", migrations[-1].id]))
        else:
            planned += [(folder, [*argv[:-1], target]) for target in order.segment_targets(migrations)]
    return planned


def record_accepted(database: Database, waived: list[Failure]) -> None:
    """Each waived problem in the ledger (scripts/database/ledger.py, ``accepted``), before anything is applied."""
    from scripts.checks import accept
    from scripts.core.redact import redact
    from scripts.database import ledger
    from scripts.database.preflight import connect

    who, env = accept.who(), database.settings.get("ENV", "development")
    connection = connect(database.url)
    try:
        with connection, connection.cursor() as cursor:
            for problem in waived:
                ledger.record_accepted(cursor, accept.name_of(problem) or "", redact(problem.message), who, env)
    finally:
        connection.close()


def keep_checksums(database: Database, before: DatabaseState | None, *, step_failed: bool) -> None:
    """Record the checksums of newly applied Alembic revisions (scripts/database/ledger.py)."""
    from scripts.database import ledger
    from scripts.database.migration_state import read_database_state
    from scripts.database.preflight import connect

    try:
        backend = read_database_state(database.url).backend
        if any(isinstance(problem, UnknownAppliedMigration) for problem in backend.problems):
            return  # at a revision this checkout lacks: what is applied cannot be told, so keep every row
        applied = {m.id: REPO_ROOT / m.path for m in backend.applied}
        # Applied by this run, perhaps after a raw downgrade and an edit: its checksum is the file's now.
        reapplied = {m.id for m in before.backend.pending} & set(applied) if before is not None else set()
        connection = connect(database.url)
        try:
            with connection, connection.cursor() as cursor:
                recorded = ledger.synchronise(cursor, applied, {m.id for m in backend.migrations}, reapplied)
        finally:
            connection.close()
    except Exception as error:  # a failed step's own message comes first
        if not step_failed:
            raise
        print(f"  (checksums of applied revisions not recorded: {str(error).strip().splitlines()[0]})")
        return
    earlier = {m.id for m in before.backend.applied} if before is not None else set()
    if adopted := [revision for revision in recorded if revision in earlier]:
        print(
            f"✓ recorded the checksums of {len(adopted)} Alembic revision(s) applied before checksums were kept "
            f"({', '.join(adopted)}): an edit to them is caught from now on"
        )


def models_match(drift_report: Path | None, database: Database, accepted: frozenset[str]) -> bool:
    """After applying, whether the models match the migrated database (the question of
    ``alembic check``, which could not be asked while revisions were pending).

    Alembic's env.py answers it at the end of its upgrade (MIGRATE_DRIFT_REPORT), in the
    same process: a second Alembic start would cost as much again as the whole upgrade.
    A difference fails the run (exit 31) as it fails the next one, with the same message: what
    was applied stays applied, but the app's models expect what no migration makes, and the
    next step (a model written before the database was at head) is to generate its migration.
    ``ACCEPT=backend-drift`` waives it here as before applying: warned, recorded, and no record.
    """
    from scripts.checks import accept
    from scripts.checks.check import drift_problem

    if drift_report is None:
        return True  # the backend had nothing to apply: its models were checked before
    if not drift_report.is_file():
        return False  # an env.py without the report: the next run checks in full
    if problem := drift_problem(drift_report.read_text()):
        if accept.name_of(problem) not in accepted:
            raise accept.with_way_past([problem])[0]
        record_accepted(database, [problem])
        accept.warn([problem], frozenset())
        return False
    return True
