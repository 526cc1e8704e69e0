"""What the commands that apply migrations share (scripts/commands/migrate.py, migrate_one.py, downgrade.py):
the tools' environments, the migration lock held for the run, the steps in the combined order, and the
checksums of what was applied, kept in the ledger.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack

from scripts.core import config, systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import Failure, UnknownAppliedMigration
from scripts.database import ledger, session_settings
from scripts.database.lock import migration_lock
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import Database, connect
from scripts.database.session_settings import application_name
from scripts.database.steps import run_step
from scripts.database.tools import ToolEnvironments
from scripts.history import order
from scripts.history.migrations import DatabaseState

Steps = list[tuple[str, list[str]]]


def environments(database: Database) -> ToolEnvironments:
    """What each step's tool is given (scripts/database/tools.py), for the database that passed pre-flight."""
    return ToolEnvironments(database.settings, database.url)


def hold_migration_lock(stack: ExitStack, database: Database, envs: ToolEnvironments) -> bool:
    """The migration lock, held until ``stack`` closes; whether the run waited for it. The tools are told
    the bounds of their sessions and how to retry a lock timeout."""
    wait = config.seconds(database.settings, "MIGRATE_LOCK_TIMEOUT", "60")
    connect_timeout = config.seconds(database.settings, "DB_CONNECT_TIMEOUT", "5")
    lock_timeout = config.duration_seconds(config.migration_bounds(database.settings)["lock_timeout"])
    waited = stack.enter_context(migration_lock(database.libpq_url, wait, connect_timeout, lock_timeout or None))
    # The tools SET them at the start of their session (env.py, drizzle_migrate.mjs): a SET
    # reaches the server through any pooler, where PGOPTIONS does not (pre-flight checked).
    envs.set("MIGRATION_BOUNDS", config.bounds_variable(config.migration_bounds(database.settings)))
    # A migration that times out on a lock is tried again (env.py, drizzle_migrate.mjs).
    envs.set("MIGRATION_LOCK_RETRIES", config.settings_variable(config.lock_retries(database.settings)))
    envs.session_names = migration_sessions(database)
    envs.set("MIGRATION_SESSION", envs.session_names("check"))
    # The checks' other sessions (drizzle-kit pull, ...) carry the run's name too, unless the URL sets one.
    for environment in (envs.python, envs.node):
        environment.setdefault("PGAPPNAME", application_name("check"))
    return waited


def migration_sessions(database: Database) -> Callable[[str], str]:
    """``MIGRATION_SESSION`` for a tool's session of a role: its application_name, and where the
    server has it, client_connection_check_interval (a killed tool's statement ends within seconds)."""
    probe = connect(database.url)
    try:
        extra = session_settings.session_settings("probe", probe)
    finally:
        probe.close()
    return lambda role: config.settings_variable({**extra, "application_name": application_name(role)})


def apply(steps: Steps, envs: ToolEnvironments, database: Database, before: DatabaseState | None) -> list[str]:
    """Each step in turn; then the checksums of the Alembic revisions now applied, kept (even after a failure).
    What the steps printed."""
    printed: list[str] = []
    try:
        for folder, argv in steps:
            printed += run_step(folder, argv, envs.for_step(folder), database)
        return printed
    finally:
        keep_checksums(database, before, step_failed=sys.exc_info()[0] is not None)


def refusals_of_order(state: DatabaseState, steps: Steps) -> list[Failure]:
    """A run of one system's migrate (make migrate-backend, migrate-frontend) that would apply a
    migration before the other system's migration it was written after."""
    owners = {owner for folder, _ in steps if (owner := systems.load().of_folder(folder))}
    return [problem for owner in sorted(owners, key=lambda s: s.name) for problem in order.out_of_order(state, owner)]


def ordered_steps(steps: Steps, state: DatabaseState) -> Steps:
    """The two migrate steps, run once per segment of the combined order (scripts/history/order.py):
    the frontend's runner ``--to`` the segment's last tag, ``alembic upgrade`` to each
    revision of the segment that no later one of it descends from."""
    declared = systems.load()
    commands = {owner.name: (folder, argv) for folder, argv in steps if (owner := declared.of_folder(folder))}
    ordered, _ = order.combined(state)
    planned: Steps = []
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


def keep_checksums(database: Database, before: DatabaseState | None, *, step_failed: bool) -> None:
    """Record the checksums of newly applied Alembic revisions (scripts/database/ledger.py)."""
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
