"""The no-op fast path of ``make migrate``: "up to date" in one database round trip.

Most runs have nothing to apply. After a full run has applied everything (or found
nothing to apply) and passed every check, it records what those checks read: a fingerprint of the
repository files they depend on, and the database's bookkeeping rows and
backend schema. A later run whose fingerprint and database read back exactly
the same has nothing to apply and nothing new to check, so it answers at once,
without Node, Alembic or SQLAlchemy (their start-up alone costs over a second).

Any doubt falls through to the full run: no record, another database, a changed
file, a pending or unknown migration, a changed backend schema, an unreachable
database, ENV=production (which must back up first), or any error at all.

This module must stay cheap to import: only the standard library, python-dotenv
(through scripts.core.config) and psycopg2.
"""

from __future__ import annotations

from scripts.core import cache, config
from scripts.core.config import Settings
from scripts.database.state_query import read_database
from scripts.history.fingerprint import database_key, fingerprint

SECONDS_SETTINGS = [("DB_WAIT_SECONDS", "0"), ("DB_CONNECT_TIMEOUT", "5"), ("MIGRATE_LOCK_TIMEOUT", "60")]

RECORD = "migrate-up-to-date"  # .cache/migrate-up-to-date.json (scripts/core/cache.py)
RECORD_VERSION = 2


def up_to_date(settings: Settings, *, holding_lock: bool = False) -> dict | None:
    """The record, if it proves that there is nothing to apply or check; else None.

    ``holding_lock``: asked by a run that has just waited for the lock, which the run
    before it may have left with nothing to do (and a fresh record).
    """
    raw = settings.migration_database_url
    if not raw or settings.get("ENV", "development") == "production":
        return None
    # The settings a full run would refuse are refused here too (InvalidSetting).
    for name, default in SECONDS_SETTINGS:
        config.seconds(settings, name, default)
    bounds = config.migration_bounds(settings)
    config.lock_retries(settings)
    try:
        record = cache.read_record(RECORD)
        if record.get("version") != RECORD_VERSION or record.get("database") != database_key(raw):
            return None
        if record.get("fingerprint") != fingerprint():
            return None
        state = read_database(raw, bounds, holding_lock=holding_lock)
        if state is None or state != record["state"]:
            return None
    except Exception:  # noqa: BLE001 - any doubt at all means: run the full path
        return None
    return record


def snapshot(settings: Settings) -> list | None:
    """The database's side of a record now, read by the run holding the lock; None if unreadable."""
    try:
        bounds = config.migration_bounds(settings)
        return read_database(settings.migration_database_url or "", bounds, holding_lock=True)
    except Exception:  # noqa: BLE001 - no snapshot, no record
        return None


def remember(settings: Settings, files_fingerprint: str, checked: list, summary: str) -> None:
    """Record a full run that left nothing pending and passed every check.

    ``checked`` is the database as the checks saw it: if anything changed it since
    (a raw tool outside the lock), or a file changed, nothing is recorded.
    """
    raw = settings.migration_database_url
    if not raw or fingerprint() != files_fingerprint or snapshot(settings) != checked:
        return
    record = {
        "version": RECORD_VERSION,
        "database": database_key(raw),
        "fingerprint": files_fingerprint,
        "state": checked,
        "summary": summary,
    }
    cache.write_record(RECORD, record)
