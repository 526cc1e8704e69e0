"""``make db-up`` / ``db-down`` / ``db-status``: the local database, in Docker or not (scripts/database/dbserver.py)."""

from __future__ import annotations

import argparse

from scripts.core import config
from scripts.database.dbserver import down, status, up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args()
    settings = config.settings()
    url = config.database_url(settings)
    if args.action == "up":
        up(url, settings)
    elif args.action == "down":
        down(url, settings)
    else:
        return status(url, settings)
    return 0
