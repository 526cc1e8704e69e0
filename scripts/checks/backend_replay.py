"""The backend's schema after each Alembic revision, by replaying the history into a scratch database.

Alembic keeps no record of what each revision produces (Drizzle's snapshots do that for the
frontend), and the revisions are code: the only sound way to know is to run them. So the real
tools run, in the combined order of both systems (scripts/history/order.py: a backend revision may need
the frontend's tables it was written against), into a scratch database on the same server,
and after each revision the backend's schema is read from the catalog. The scratch database is
dropped afterwards, whatever happened; the database being adopted is never written.

Why a scratch database rather than a scratch schema: the revisions name their schema
(``api``) themselves, and foreign keys reach the frontend's ``public`` tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import errors, sql

from scripts.core import systems
from scripts.core.config import REPO_ROOT, Settings
from scripts.core.database_url import DatabaseUrl
from scripts.core.errors import PermissionDenied, StepFailed
from scripts.database import catalog
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import connect
from scripts.database.tools import ToolEnvironments, run_tool
from scripts.history import order

# One line per thing a migration can make in a schema, keyed by (kind, table, name): what
# pg_dump --schema-only would show, read back from the catalog so that a difference can be named.
SCHEMA_ITEMS = """
WITH owned AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
SELECT 'table', c.relname, '', c.relkind::text
  FROM pg_class c
 WHERE c.relnamespace IN (SELECT oid FROM owned) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column', c.relname, a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
       || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relnamespace IN (SELECT oid FROM owned) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace IN (SELECT oid FROM owned) AND conrelid <> 0
UNION ALL
SELECT 'index', c.relname, i.relname, pg_get_indexdef(x.indexrelid)
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
 WHERE c.relnamespace IN (SELECT oid FROM owned)
UNION ALL
SELECT 'type', t.typname, '', string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace IN (SELECT oid FROM owned)
 GROUP BY t.typname
"""

Schema = dict[tuple[str, str, str], str]


def read_schema(cursor: psycopg2.extensions.cursor, schema: str, ignored_table: str) -> Schema:
    """The schema's tables, columns, constraints, indexes and enums; ``ignored_table`` (the
    bookkeeping table) left out."""
    cursor.execute(SCHEMA_ITEMS, {"schema": schema})
    items = {(kind, table.split(".")[-1].strip('"'), name): value for kind, table, name, value in cursor.fetchall()}
    return {key: value for key, value in items.items() if key[1] != ignored_table and key[1:] != ("", ignored_table)}


def differences(produced: Schema, live: Schema) -> list[str]:
    """Each difference in one phrase naming its table (and column): empty when the two agree."""
    found = []
    for key in sorted(live.keys() | produced.keys()):
        kind, table, name = key
        what = (
            f"{kind} {table}.{name}" if kind == "column" else f"{kind} {name} on {table}" if name else f"{kind} {table}"
        )
        if key not in produced:
            found.append(f"{what}: in the database only")
        elif key not in live:
            found.append(f"{what}: missing from the database")
        elif produced[key] != live[key]:
            found.append(f"{what}: is {live[key]} in the database, {produced[key]} in the migrations")
    return found


def schemas_after_each_revision(url: DatabaseUrl, settings: Settings) -> list[tuple[str | None, Schema]]:
    """(None, the schema before any revision), then (revision, the schema after it), in the combined order."""
    backend = systems.load().backend
    with scratch_database(url, settings) as scratch:
        produced: list[tuple[str | None, Schema]] = [(None, {})]
        for revision in _replayed_in_order(scratch, settings):
            session = connect(scratch)
            try:
                with session.cursor() as cursor:
                    produced.append((revision, read_schema(cursor, backend.schema, backend.bookkeeping_table)))
            finally:
                session.close()
    return produced


def frontend_schema_produced(url: DatabaseUrl, settings: Settings, through: str) -> catalog.Schema:
    """The frontend's schema as the server builds it from the migrations, up to frontend migration
    ``through``, replayed in the combined order (with the backend revisions that come before it)
    into a scratch database beside ``url``'s."""
    frontend = systems.load().frontend
    with scratch_database(url, settings, purpose="drift") as scratch:
        for _ in _replayed_in_order(scratch, settings, until_frontend=through):
            pass
        session = connect(scratch)
        try:
            with session.cursor() as cursor:
                return catalog.read(cursor, frontend.schema, frontend_ignored_tables())
        finally:
            session.close()


def frontend_ignored_tables() -> frozenset[str]:
    """Drizzle's own bookkeeping table, where systems.env puts it in the frontend's schema: no drift."""
    frontend = systems.load().frontend
    in_schema = frontend.bookkeeping_schema == frontend.schema
    return frozenset({frontend.bookkeeping_table} if in_schema else ())


def _replayed_in_order(scratch: DatabaseUrl, settings: Settings, until_frontend: str | None = None) -> Iterator[str]:
    """Every migration of both systems, by the real tools, into the empty ``scratch``, in the combined
    order; yields each backend revision once applied. Stops after frontend migration ``until_frontend``."""
    backend, frontend = systems.load().backend, systems.load().frontend
    envs = ToolEnvironments(settings, scratch)
    env, node_env = envs.python, envs.node
    ordered, problems = order.combined(read_database_state(scratch))
    if problems:
        raise problems[0]
    runner = ["node", str(REPO_ROOT / "scripts" / "drizzle_migrate.mjs")]
    for system, migrations in order.segments(ordered):
        if system == "frontend":
            tags = [migration.id for migration in migrations]
            target = until_frontend if until_frontend in tags else tags[-1]
            _replay(frontend.folder, [*runner, "--to", target], node_env)
            if target == until_frontend:
                return
            continue
        if until_frontend is not None:  # only the end matters: one upgrade per segment, as make migrate runs it
            for target in order.segment_targets(migrations):
                _replay(backend.folder, ["alembic", "upgrade", target], env)
            continue
        for migration in migrations:
            _replay(backend.folder, ["alembic", "upgrade", migration.id], env)
            yield migration.id


def _replay(folder: str, argv: list[str], env: dict[str, str]) -> None:
    result = run_tool(folder, argv, env, echo=False)
    if result.code != 0:
        raise StepFailed(
            f"replaying the migrations into a scratch database failed at {folder}: {' '.join(argv[-2:])}: "
            f"{result.cause}",
            "a fresh database must be able to run every migration: make test shows the same failure",
        )


@contextmanager
def scratch_database(url: DatabaseUrl, settings: Settings, purpose: str = "baseline") -> Iterator[DatabaseUrl]:
    """An empty database beside the one named by ``url``, dropped on the way out."""
    name = f"{url.database or 'db'}_{purpose}_{os.getpid()}"[:63]
    session = connect(url, variable=settings.migration_url_name)
    try:
        with session.cursor() as cursor:
            try:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except errors.InsufficientPrivilege:
                raise PermissionDenied(
                    f"the role {url.username} may not create a database, which adopting the backend needs "
                    "(its revisions are replayed into a scratch database on the same server, then dropped)",
                    f'let it, as a superuser: ALTER ROLE "{url.username}" CREATEDB',
                ) from None
        try:
            query = {key: value for key, value in url.query.items() if key != "dbname"}
            yield url.set(database=name, query=query)
        finally:
            with session.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        session.close()
