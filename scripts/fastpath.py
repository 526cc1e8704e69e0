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
(through scripts.settings) and psycopg2.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from scripts import config, frontend_sources, session_settings, systems
from scripts.lock import LOCK_KEY
from scripts.settings import REPO_ROOT, Settings

SECONDS_SETTINGS = [("DB_WAIT_SECONDS", "0"), ("DB_CONNECT_TIMEOUT", "5"), ("MIGRATE_LOCK_TIMEOUT", "60")]

RECORD_FILE = REPO_ROOT / ".cache" / "migrate-up-to-date.json"
RECORD_VERSION = 2
# Libpq reads the same URL; only the scheme differs between the accepted forms.
SCHEME = re.compile(r"^(postgres|postgresql|postgresql\+psycopg2)://", re.IGNORECASE)
PASSWORD = re.compile(r"^([^:/]+://[^:/@]*):[^@]*@")
PASSWORD_PARAMETER = re.compile(r"([?&])password=[^&]*")
# Everything in the database the checks compare: bookkeeping rows and both apps' schemas.
STATE_QUERY = """
SELECT
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((classid::bigint << 32) | objid::bigint) = %(lock_key)s),
  -- What pre-flight's permission check reads: the role and its privileges.
  json_build_array(current_user, has_database_privilege(current_database(), 'CREATE'),
    (SELECT json_agg(json_build_array(nspname, has_schema_privilege(oid, 'CREATE')) ORDER BY nspname)
       FROM pg_namespace WHERE nspname = ANY(%(schemas)s))),
  (SELECT coalesce(json_agg(version_num ORDER BY version_num), '[]') FROM {backend_bookkeeping}),
  (SELECT coalesce(json_agg(json_build_array(created_at, hash) ORDER BY created_at), '[]')
     FROM {frontend_bookkeeping}),
  (SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
     SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || ' ' || a.attnotnull || ' ' || a.attidentity::text || ' ' || a.attgenerated::text
            || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
            || ' ' || coalesce(col_description(c.oid, a.attnum), '')
            || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') AS item
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(owned)s))
     UNION ALL
     SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(owned)s))
     UNION ALL
     SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid)
       FROM pg_index JOIN pg_class c ON c.oid = indrelid
      WHERE c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(owned)s))
     UNION ALL  -- an enum value added by hand is frontend drift (scripts/frontend_checks.py)
     SELECT t.typname || ' ' || e.enumsortorder || ' ' || e.enumlabel
       FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
      WHERE t.typnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(owned)s))
  ) items)
"""


def libpq_url(raw: str) -> str:
    return SCHEME.sub("postgresql://", raw.strip())


def database_key(raw: str) -> str:
    """Which database a record is for; the password is no part of it."""
    without_password = PASSWORD_PARAMETER.sub(r"\1", PASSWORD.sub(r"\1@", libpq_url(raw)))
    return hashlib.sha256(without_password.encode()).hexdigest()


def fingerprint_sources() -> list[str]:
    """What the checks and the tools read: migration files, models, configuration, tool versions.

    Not the apps' own code (the backend's app/, the frontend's pages): editing an app
    changes no migration, and must not cost the next ``make migrate`` its fast answer.
    """
    frontend, backend = systems.load().all
    return [
        frontend.migrations_folder,
        frontend.shown("drizzle.config.ts"),
        frontend.shown("package-lock.json"),
        backend.shown("alembic"),
        backend.shown("alembic.ini"),
        backend.shown("models"),
        "systems.env",
        "scripts",
        "Makefile",
        "uv.lock",
        # What the frontend checks read: Better Auth's config, the Drizzle schema, what they import.
        *frontend_sources.auth_config_sources(),
        *frontend_sources.drizzle_schema_sources(),
    ]


def fingerprint(sources: list[str] | None = None, root: Path = REPO_ROOT) -> str:
    """A hash of the named files and folders (relative to ``root``), names and contents."""
    digest = hashlib.sha256()
    for path in _source_files(fingerprint_sources() if sources is None else sources, root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _source_files(sources: list[str], root: Path) -> Iterator[Path]:
    for source in sources:
        path = root / source
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def read_database(raw_url: str, bounds: dict[str, str], *, holding_lock: bool = False) -> list | None:
    """The database's side of the record, in one round trip; None while another migration runs.

    Bounded (``bounds``): its catalog functions (pg_get_indexdef) lock the tables, and a session
    holding ACCESS EXCLUSIVE on one would otherwise hold this query, and the run, without end.
    """
    connection = session_settings.open_session(libpq_url(raw_url), connect_timeout=2, bounds=bounds)
    try:
        with connection.cursor() as cursor:
            declared = systems.load()
            query = STATE_QUERY.format(
                backend_bookkeeping=declared.backend.bookkeeping, frontend_bookkeeping=declared.frontend.bookkeeping
            )
            owned = [declared.backend.schema, declared.frontend.schema]  # the frontend's: for its drift check
            parameters = {"lock_key": LOCK_KEY, "owned": owned, "schemas": list(declared.schemas)}
            cursor.execute(query, parameters)
            migrations_running, *state = cursor.fetchone()
    finally:
        connection.close()
    # Another run holds the lock: its changes are not visible yet, so nothing can be concluded.
    return None if migrations_running and not holding_lock else state


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
        record = json.loads(RECORD_FILE.read_text())
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
    RECORD_FILE.parent.mkdir(exist_ok=True)
    temporary = RECORD_FILE.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(RECORD_FILE)
