"""``make preflight``: is the database in DATABASE_URL ready to be migrated? (scripts/database/preflight.py)"""

from __future__ import annotations

from scripts.database.preflight import run_preflight


def main() -> None:
    run_preflight()
