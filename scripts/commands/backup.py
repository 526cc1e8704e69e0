"""``make db-backup`` / ``db-restore`` / ``rollback-frontend``: pg_dump and pg_restore (scripts/database/backup.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.core.config import REPO_ROOT
from scripts.core.errors import NoFrontendRollback
from scripts.database.backup import newest_backups, restore, take_backup
from scripts.database.preflight import run_preflight


def rollback_frontend() -> None:
    raise NoFrontendRollback(
        "Drizzle has no down migrations: a frontend migration cannot be undone by a command",
        f"restore the backup taken before it (make db-restore file=...; newest: {newest_backups()}), "
        'or write a forward migration that reverts it (docs/migrations.md, "Rolling back")',
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dump", help="back up the database to backups/")
    restore_parser = commands.add_parser("restore", help="restore a dump into the database")
    restore_parser.add_argument("file", type=Path)
    restore_parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("rollback-frontend", help="explain how to undo a frontend migration")
    args = parser.parse_args()

    if args.command == "rollback-frontend":
        rollback_frontend()
    database = run_preflight(quiet=True)
    if args.command == "dump":
        take_backup(database)
    else:
        restore(database, args.file if args.file.is_absolute() else REPO_ROOT / args.file, args.yes)
