"""``make migrate-frontend`` / ``migrate-backend``: one system's pending migrations, by its own tool.

    python -m scripts migrate-one --in backend -- alembic upgrade head

Pre-flight, the migration lock, migrate-check (and a refusal where the combined order would be
broken: a migration applied before the other system's migration it was written after), a backup
where ENV=production, then the command.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from scripts.checks.gate import Passed, gate
from scripts.core import config
from scripts.core.arguments import add_one_step, step_of
from scripts.database.applying import apply, environments, hold_migration_lock, refusals_of_order
from scripts.database.backup import backup_wanted, take_backup
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import run_preflight


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_one_step(parser)
    step = step_of(parser.parse_args())
    database = run_preflight(config.settings())
    envs = environments(database)
    with ExitStack() as stack:
        hold_migration_lock(stack, database, envs)
        state = read_database_state(database.url)
        passed = gate(database, state, envs.python, refusals=refusals_of_order(state, [step]))
        if not isinstance(passed, Passed):
            return passed
        if backup_wanted(database.settings):
            take_backup(database)
        apply([step], envs, database, before=state)
    return 0
