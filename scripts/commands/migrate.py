"""``make migrate``: every pending migration of both systems, in their combined order.

    python -m scripts migrate --step nextjs "node $PWD/scripts/drizzle_migrate.mjs" \\
        --step backend "alembic upgrade head"

"Up to date" at once when nothing changed since a full run left nothing to do (scripts/fastpath.py);
else pre-flight, the migration lock, migrate-check, a backup where ENV=production, then each step's
command once per segment of one system's pending migrations in the combined order
(scripts/history/order.py): the runner ``--to`` the segment's last tag, ``alembic upgrade`` to its
last revision in place of ``head``. Each step runs in its folder with DATABASE_URL in the form its
tool reads; a failing step ends the run with one line saying which migration failed and why.
"""

from __future__ import annotations

import argparse

from scripts import fastpath
from scripts.core import config
from scripts.core.arguments import add_steps, steps_of

# The rest (tenacity, the checks, ...) is imported after the fast path had its chance:
# a no-op run should cost one database round trip and little else.


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_steps(parser)
    steps = steps_of(parser.parse_args())
    settings = config.settings()
    if settings.values.get("ACCEPT"):
        # A misspelt name is a usage error even when the fast path would have nothing to waive.
        from scripts.checks.accept import requested

        requested(settings)
    if record := fastpath.up_to_date(settings):
        print(f"✓ up to date: {record['summary']} (nothing changed since the last full check)")
        return 0
    return migrate(settings, steps)


def migrate(settings: config.Settings, steps: list[tuple[str, list[str]]]) -> int:
    from contextlib import ExitStack

    from scripts.checks.gate import Passed, gate, models_match
    from scripts.database.applying import apply, environments, hold_migration_lock, ordered_steps
    from scripts.database.backup import backup_wanted, take_backup
    from scripts.database.migration_state import read_database_state
    from scripts.database.preflight import run_preflight
    from scripts.history.fingerprint import fingerprint

    database = run_preflight(settings)
    envs = environments(database)
    with ExitStack() as stack:
        # The run that held the lock may have applied everything and left a fresh record.
        if hold_migration_lock(stack, database, envs) and (
            record := fastpath.up_to_date(database.settings, holding_lock=True)
        ):
            print(f"✓ up to date: {record['summary']} (the run before this one left nothing to do)")
            return 0
        files_fingerprint = fingerprint()
        checked = fastpath.snapshot(database.settings)
        state = read_database_state(database.url)
        passed = gate(database, state, envs.python, refusals=[])
        if not isinstance(passed, Passed):
            return passed
        if passed.waived:
            checked = None  # no fast-path record for a run that waived a check: the next run checks again
        if backup_wanted(database.settings):
            take_backup(database)
        if state.backend.pending:  # Alembic's env.py compares the models with the database after upgrading
            envs.set("MIGRATE_REPORT_DRIFT", "1")
        planned = ordered_steps(steps, state)
        if not planned:
            at = ", ".join(f"{system.name} at {system.current or 'nothing'}" for system in state.systems)
            print(f"✓ nothing to apply: {at} (checked in full)")
        printed = apply(planned, envs, database, before=state)
        if state.pending:
            # Fails on a difference not accepted.
            models_agree = models_match(bool(state.backend.pending), printed, database, passed.accepted)
            if state.frontend.pending:
                # Frontend drift (exit 38) compares the tables with the applied migrations replayed into a
                # scratch database (seconds): whether the SQL just applied made them so is for the next run to check.
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
