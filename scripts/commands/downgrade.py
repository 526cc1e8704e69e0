"""``make rollback-backend``: Alembic's downgrade, under the migration lock, after a backup where ENV=production.

python -m scripts downgrade --in backend -- alembic downgrade -1
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from scripts.core import config
from scripts.core.arguments import add_one_step, step_of
from scripts.database.applying import apply, environments, hold_migration_lock
from scripts.database.backup import backup_wanted, take_backup
from scripts.database.preflight import run_preflight


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_one_step(parser)
    step = step_of(parser.parse_args())
    database = run_preflight(config.settings())
    envs = environments(database)
    with ExitStack() as stack:
        hold_migration_lock(stack, database, envs)
        if backup_wanted(database.settings):
            take_backup(database)
        apply([step], envs, database, before=None)
    return 0
