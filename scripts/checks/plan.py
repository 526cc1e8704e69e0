"""The plan: the pending migrations of both systems, applied first to a scratch copy of the schema.

Each system's checks see only its own side. A frontend migration that renames or drops a
column the backend uses (its models' stub of a frontend table, a view, a foreign key) passes
them, applies, and the backend fails at run time; PostgreSQL even rewrites a dependent view
silently. So before anything is applied, ``make migrate-check`` (and so ``make migrate``):

1. copies the live database's schema, with both tools' bookkeeping rows, into a scratch
   database on the same server (``pg_dump --schema-only`` into ``psql``; no table's rows);
2. applies the pending migrations there with the real tools, one at a time, in the combined
   order (scripts/history/order.py);
3. after each, reads from the catalog what the other system relies on: the frontend columns
   the backend's models name (printed by the backend's own Python: the tooling never imports
   the app), and every view and foreign key of one system's schema over the other's columns
   (pg_depend, pg_rewrite, pg_constraint), compared by definition;
4. drops the scratch database, whatever happened.

A migration that makes a column the models name disappear, or drops or rewrites the other
system's view or foreign key, is refused (CrossSystemBreak) naming the migration, what uses
it and the fix: expand, migrate the other system, then contract. A migration that fails on
the copy is refused too (PlanFailed): ``make migrate`` would stop there, half applied.

The plan runs only when something is pending on a database that has migrations applied (on
an empty one nothing runs yet that could break), and a pass is remembered by the fingerprint
of the repository's files and of the live schema, so a repeated check costs one query.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import errors, sql

from scripts.core import cache, config, systems
from scripts.core.config import REPO_ROOT
from scripts.core.database_url import DatabaseUrl, for_libpq, for_node, parse
from scripts.core.errors import CrossSystemBreak, Failure, PlanFailed
from scripts.database.lock import process_runs
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import connect
from scripts.database.state_query import read_database
from scripts.database.tools import database_urls, libpq_variables, run_tool
from scripts.history import order
from scripts.history.fingerprint import database_key, fingerprint
from scripts.history.migrations import DatabaseState, Migration

RECIPE = 'docs/migrations.md, "Renaming a column the other system uses"'
MODEL_NAMES_MARK = "plan-model-names:"
# Run by the backend's own Python in its folder: the frontend tables and columns its models name.
MODEL_NAMES = f"""
import json, sys
from models import Base
named = {{}}
for table in Base.metadata.tables.values():
    if table.schema in (None, sys.argv[1]):
        named[table.name] = sorted(column.name for column in table.columns)
print({MODEL_NAMES_MARK!r} + json.dumps(named))
"""
# Every view and foreign key of one system's schema over the other's columns, with its definition.
DEPENDENTS = """
WITH owners(nspname, system) AS (SELECT * FROM unnest(%(schemas)s::text[], %(systems)s::text[])),
rels AS (
  SELECT c.oid, c.relname, n.nspname, o.system
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN owners o ON o.nspname = n.nspname
)
SELECT 'view ' || v.nspname || '.' || v.relname, v.system, pg_get_viewdef(v.oid),
       string_agg(DISTINCT r.nspname || '.' || r.relname || '.' || a.attname, ', ')
  FROM pg_depend d
  JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND w.oid = d.objid
  JOIN rels v ON v.oid = w.ev_class
  JOIN rels r ON d.refclassid = 'pg_class'::regclass AND r.oid = d.refobjid
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.refobjsubid
 WHERE v.system <> r.system AND d.refobjsubid > 0
 GROUP BY 1, 2, 3
UNION ALL
SELECT 'foreign key ' || k.conname || ' on ' || t.nspname || '.' || t.relname, t.system, pg_get_constraintdef(k.oid),
       (SELECT string_agg(r.nspname || '.' || r.relname || '.' || a.attname, ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum = ANY(k.confkey))
  FROM pg_constraint k JOIN rels t ON t.oid = k.conrelid JOIN rels r ON r.oid = k.confrelid
 WHERE k.contype = 'f' AND t.system <> r.system
"""
FRONTEND_COLUMNS = """
SELECT c.relname, a.attname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""


@dataclass(frozen=True)
class Dependent:
    """A view or foreign key of ``system`` over the other system's columns (``uses``)."""

    system: str
    definition: str
    uses: str


@dataclass(frozen=True)
class Observed:
    columns: frozenset[tuple[str, str]]  # the frontend's (table, column)
    dependents: dict[str, Dependent]  # "view api.x" / "foreign key fk on api.t" -> what it is


def find_problems(state: DatabaseState, env: dict[str, str]) -> list[Failure]:
    """What the pending migrations would break, found on a scratch copy; [] when nothing is pending."""
    if not state.pending or not (state.frontend.applied or state.backend.applied):
        return []  # nothing pending, or nothing applied yet: no running app's tables to break
    url = parse(env["DATABASE_URL"])
    key = _key(url)
    if key is not None and cache.passed("plan", key):
        return []
    try:
        problems = plan(url, env)
    except PlanFailed as failure:  # a problem like any other: its hint names ACCEPT=plan, which waives it
        return [failure]
    except psycopg2.Error as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return [PlanFailed(f"the plan failed: the database refused a query: {first_line}", None)]
    if not problems and key is not None:
        cache.remember_pass("plan", key)
    return problems


def _bounds() -> dict[str, str]:
    """The migrations' own lock and statement timeouts (DB_LOCK_TIMEOUT, DB_STATEMENT_TIMEOUT)."""
    return config.migration_bounds(config.settings())


def _key(url: DatabaseUrl) -> str | None:
    """The repository's files, the database, its bookkeeping, schemas and cross-system dependents."""
    try:
        state = read_database(for_libpq(url), _bounds(), holding_lock=True)
        with _session(url) as cursor:
            dependents = sorted(map(list, _dependents(cursor).items()), key=str)
    except (psycopg2.Error, Failure):  # no key, no cache: the plan runs
        return None
    parts = [fingerprint(), database_key(for_libpq(url)), state, str(dependents)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def plan(url: DatabaseUrl, env: dict[str, str]) -> list[Failure]:
    declared = systems.load()
    named = model_names(env)
    with scratch_copy(url, env) as scratch:
        scratch_env = {**env, **libpq_variables(scratch), **database_urls(for_libpq(scratch))}
        node_env = {**scratch_env, **database_urls(for_node(scratch))}
        ordered, problems = order.combined(read_database_state(scratch))
        if problems:
            return problems
        runner = ["node", str(REPO_ROOT / "scripts" / "drizzle_migrate.mjs")]
        with _session(scratch) as cursor:
            before = observe(cursor)
        for system, migrations in order.segments(ordered):
            for migration in migrations:
                if system == "frontend":
                    step = (declared.frontend.folder, [*runner, "--to", migration.id], node_env)
                else:
                    step = (declared.backend.folder, ["alembic", "upgrade", migration.id], scratch_env)
                result = run_tool(*step, echo=False)
                if result.code != 0:
                    return [_failed(system, migration, result.cause)]
                with _session(scratch) as cursor:
                    after = observe(cursor)
                if broken := breaks(system, before, after, named):
                    return [_refusal(system, migration, broken)]
                before = after
    return []


def observe(cursor) -> Observed:
    frontend = systems.load().frontend
    cursor.execute(FRONTEND_COLUMNS, {"schema": frontend.schema})
    return Observed(frozenset(cursor.fetchall()), _dependents(cursor))


def _dependents(cursor) -> dict[str, Dependent]:
    frontend, backend = systems.load().all
    cursor.execute(DEPENDENTS, {"schemas": [frontend.schema, backend.schema], "systems": [frontend.name, backend.name]})
    return {name: Dependent(system, definition, uses) for name, system, definition, uses in cursor.fetchall()}


def breaks(system: str, before: Observed, after: Observed, named: dict[str, list[str]]) -> list[str]:
    """What a migration of ``system`` took from the other system, each in a phrase."""
    found = []
    for table, columns in sorted(named.items()):
        for column in columns:
            if (table, column) in before.columns and (table, column) not in after.columns:
                found.append(f'column "{table}".{column}, which the backend\'s models name')
    for name, dependent in sorted(before.dependents.items()):
        if dependent.system == system:
            continue  # a system may change its own views and keys
        now = after.dependents.get(name)
        if now is None:
            found.append(f"{dependent.system}'s {name} (over {dependent.uses}), which it would drop")
        elif now.definition != dependent.definition:
            gone = sorted(set(dependent.uses.split(", ")) - set(now.uses.split(", ")))
            new = sorted(set(now.uses.split(", ")) - set(dependent.uses.split(", ")))
            change = f"to read {', '.join(new)} instead" if gone and new else "and change its definition"
            found.append(
                f"{dependent.system}'s {name} (over {', '.join(gone) or dependent.uses}), which PostgreSQL would "
                f"rewrite silently {change}"
            )
    return found


def _refusal(system: str, migration: Migration, broken: list[str]) -> CrossSystemBreak:
    other = "backend" if system == "frontend" else "frontend"
    return CrossSystemBreak(
        f"{system}: {migration.path} renames or drops what the {other} uses: {'; '.join(broken)} "
        "(found by applying the pending migrations to a scratch copy of the schema)",
        f"expand, migrate the {other}, then contract: add the new column beside the old one and backfill it, "
        f"switch the {other} to the new one and release; drop the old one in a later release ({RECIPE})",
    )


def _failed(system: str, migration: Migration, cause: str) -> Failure:
    if "depend on it" in cause:  # DROP of a column or table another object needs
        return CrossSystemBreak(
            f"{system}: {migration.path} drops what other objects use, so it fails on a scratch copy of the "
            f"schema: {cause}",
            f"expand, migrate the other system, then contract ({RECIPE})",
        )
    return PlanFailed(
        f"{system}: {migration.path} fails on a scratch copy of the schema (no rows), so make migrate would "
        f"stop there, after the migrations before it: {cause}",
        "fix the migration (make test replays every migration into a fresh database)",
    )


def model_names(env: dict[str, str]) -> dict[str, list[str]]:
    """The frontend tables and columns the backend's models name, by the backend's own Python."""
    declared = systems.load()
    argv = [sys.executable, "-c", MODEL_NAMES, declared.frontend.schema]
    result = run_tool(declared.backend.folder, argv, env, echo=False)
    line = next((line for line in result.lines if line.startswith(MODEL_NAMES_MARK)), None)
    if result.code != 0 or line is None:
        raise PlanFailed(
            f"backend: its models could not be read (to see which frontend columns they name): {result.cause}",
            f"run: cd {declared.backend.folder} && uv run python -c 'import models' and fix what it reports",
        )
    return json.loads(line.removeprefix(MODEL_NAMES_MARK))


@contextmanager
def _session(url: DatabaseUrl) -> Iterator:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


@contextmanager
def scratch_copy(url: DatabaseUrl, env: dict[str, str]) -> Iterator[DatabaseUrl]:
    """A database beside the live one with its schema and both tools' bookkeeping rows, dropped on the way out."""
    from scripts.core.errors import BackupFailed
    from scripts.database.backup import client_for_server

    name = f"{url.database or 'db'}_plan_{os.getpid()}"[:63]
    session = connect(url)
    try:
        major = session.server_version // 10000
        try:
            pg_dump = client_for_server("pg_dump", major)
        except BackupFailed as missing:
            raise PlanFailed(f"the plan needs pg_dump: {missing.message}", missing.hint) from None
        with session.cursor() as cursor:
            bookkeeping = _bookkeeping_relations(cursor)
            _drop_killed_runs_copies(cursor, f"{url.database or 'db'}_plan_")
            try:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
            except errors.InsufficientPrivilege:
                raise PlanFailed(
                    f"the role {url.username} may not create a database, which the plan needs (the pending "
                    "migrations are applied first to a scratch copy of the schema on the same server, then dropped)",
                    f'let it, as a superuser: ALTER ROLE "{url.username}" CREATEDB',
                ) from None
        try:
            query = {key: value for key, value in url.query.items() if key != "dbname"}
            scratch = url.set(database=name, query=query)
            _copy_schema(pg_dump, url, scratch, bookkeeping, env)
            yield scratch
        finally:
            with session.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        session.close()


def _drop_killed_runs_copies(cursor, prefix: str) -> None:
    """Drop the scratch copies of plans whose run was killed (SIGKILL leaves nothing to drop them):
    unused, and named for a process that no longer runs here."""
    cursor.execute(
        "SELECT d.datname FROM pg_database d WHERE starts_with(d.datname, %s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        (prefix,),
    )
    for (stale,) in cursor.fetchall():
        pid = stale.removeprefix(prefix)
        if pid.isdigit() and not process_runs(int(pid)):
            print(f"… dropping {stale}: the scratch copy of a plan whose run was killed", flush=True)
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(stale)))


def _bookkeeping_relations(cursor) -> list[str]:
    """Both tools' bookkeeping tables that exist, and the sequences they own (Drizzle's serial id)."""
    tables = [system.bookkeeping for system in systems.load().all]
    cursor.execute(
        """
        SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid = ANY(
          SELECT to_regclass(name) FROM unnest(%(tables)s::text[]) name)
        UNION ALL
        SELECT s.oid::regclass::text FROM pg_class s
          JOIN pg_depend d
            ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
         WHERE s.relkind = 'S' AND d.refobjid = ANY(SELECT to_regclass(name) FROM unnest(%(tables)s::text[]) name)
        """,
        {"tables": tables},
    )
    return [row[0] for row in cursor.fetchall()]


def _copy_schema(pg_dump: str, live: DatabaseUrl, scratch: DatabaseUrl, bookkeeping: list[str], env: dict) -> None:
    ledger = systems.load().ledger_schema
    live_env = {**env, **libpq_variables(live)}
    # Never queued behind a lock live traffic holds: given up after the migrations' own lock wait.
    lock_wait = _bounds()["lock_timeout"]
    common = ["--no-owner", "--no-privileges", "--no-publications", "--no-subscriptions"]
    common.append(f"--lock-wait-timeout={lock_wait}")
    schema = _run([pg_dump, "--schema-only", *common, f"--exclude-schema={ledger}"], live_env, "pg_dump")
    rows = ""
    if bookkeeping:
        tables = [f"--table={relation}" for relation in bookkeeping]
        rows = _run([pg_dump, "--data-only", *common, *tables], live_env, "pg_dump")
    psql = str(Path(pg_dump).with_name("psql"))
    restore = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"]
    _run(restore, {**env, **libpq_variables(scratch)}, "psql (into the scratch database)", schema + "\n" + rows)


def _run(argv: list[str], env: dict[str, str], what: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise PlanFailed(
            f"the plan could not copy the schema into a scratch database: {what} failed: {last}",
            "check that DATABASE_URL's role may read every object of the database",
        )
    return done.stdout
