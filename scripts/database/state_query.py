"""What a cached answer saw of the database, in one round trip: bookkeeping rows, privileges, both apps' schemas.

The fast path (scripts/fastpath.py) and the plan's cache (scripts/checks/plan.py) compare it with what they recorded.
"""

from __future__ import annotations

from scripts.core import systems
from scripts.core.database_url import for_libpq, parse
from scripts.database import session_settings
from scripts.database.lock import LOCK_KEY

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
     UNION ALL  -- an enum value added by hand is frontend drift (scripts/checks/frontend_checks.py)
     SELECT t.typname || ' ' || e.enumsortorder || ' ' || e.enumlabel
       FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
      WHERE t.typnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY(%(owned)s))
  ) items)
"""


def read_database(raw_url: str, bounds: dict[str, str], *, holding_lock: bool = False) -> list | None:
    """The database's side of the record, in one round trip; None while another migration runs.

    Bounded (``bounds``): its catalog functions (pg_get_indexdef) lock the tables, and a session
    holding ACCESS EXCLUSIVE on one would otherwise hold this query, and the run, without end.
    """
    connection = session_settings.open_session(for_libpq(parse(raw_url)), connect_timeout=2, bounds=bounds)
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
