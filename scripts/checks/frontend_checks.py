"""The frontend's three checks in ``make migrate-check``, each by the real tool, none writing into the repository.

- 36: Better Auth's config is ahead of its generated schema: ``auth generate`` into a
  temporary file, compared with the committed ``auth-schema.ts``.
- 37: the Drizzle schema is ahead of its migrations: ``drizzle-kit generate`` against a
  temporary copy of the migrations folder, through a temporary config extending
  ``drizzle.config.ts``; whatever it writes there is what a migration lacks.
- 38: the frontend's tables in the database differ from what the applied migrations
  produce: the applied migrations replayed (in the combined order of both systems) into a
  scratch database on the same server, and the two catalogs compared (scripts/database/catalog.py).

Each starts Node, so each remembers (in the git-ignored ``.cache/``) the fingerprint of
what it read when it last passed, and runs again only when that changed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from scripts.checks import backend_replay
from scripts.core import cache, config, database_url, systems
from scripts.core.config import load_settings
from scripts.core.errors import (
    AuthSchemaStale,
    DrizzleSchemaAhead,
    Failure,
    FrontendDrift,
    StepFailed,
)
from scripts.database import catalog, session_settings
from scripts.database.tools import database_urls, run_tool
from scripts.history import drizzle_snapshot, frontend_sources, merge_state
from scripts.history.fingerprint import database_key, fingerprint
from scripts.history.migrations import DatabaseState

MAX_NAMED = 4  # differences named in the message; the rest are counted
# The Better Auth CLI's Drizzle output: `export const user = pgTable("user", {` and `  email: text("email")...`.
AUTH_TABLE = re.compile(r'^export const \w+ = pgTable\(\s*"([^"]+)"')
AUTH_COLUMN = re.compile(r'^\s+\w+: \w+\(\s*"([^"]+)"')
# drizzle-kit generate, when it cannot tell a rename from a drop and an add, asks (and, without a terminal, stops).
RENAME_QUESTION = re.compile(r"(Is \S+ (?:column|table|enum|sequence|view|schema|policy|role).*\?)")
# What each statement drizzle-kit generate writes does, named: "add column user.username".
STATEMENT_NAMES = [
    (re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(\S+)"), "create table {0}"),
    (re.compile(r"^DROP TABLE (?:IF EXISTS )?(\S+)"), "drop table {0}"),
    (re.compile(r"^ALTER TABLE (\S+) RENAME TO (\S+)"), "rename table {0} to {1}"),
    (re.compile(r"^ALTER TABLE (\S+) RENAME COLUMN (\S+) TO (\S+)"), "rename column {0}.{1} to {2}"),
    (re.compile(r"^ALTER TABLE (\S+) ADD COLUMN (\S+)"), "add column {0}.{1}"),
    (re.compile(r"^ALTER TABLE (\S+) DROP COLUMN (\S+)"), "drop column {0}.{1}"),
    (re.compile(r"^ALTER TABLE (\S+) ALTER COLUMN (\S+)"), "alter column {0}.{1}"),
    (re.compile(r"^ALTER TABLE (\S+) ADD CONSTRAINT (\S+)"), "add constraint {1} on {0}"),
    (re.compile(r"^ALTER TABLE (\S+) DROP CONSTRAINT (\S+)"), "drop constraint {1} on {0}"),
    (re.compile(r"^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(\S+) ON (\S+)"), "index {0} on {1}"),
    (re.compile(r"^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(\S+)"), "drop index {0}"),
    (re.compile(r"^CREATE TYPE (\S+)"), "create type {0}"),
    (re.compile(r"^ALTER TYPE (\S+) ADD VALUE (\S+)"), "add value {1} to type {0}"),
]


# ---- 36: Better Auth's config ahead of auth-schema.ts ------------------------------------------


def better_auth_schema(env: dict[str, str]) -> list[Failure]:
    return cache.unless_passed(
        "better-auth-schema", fingerprint(frontend_sources.auth_config_sources()), lambda: _auth(env)
    )


def _auth(env: dict[str, str]) -> list[Failure]:
    frontend = systems.load().frontend
    config, committed = frontend.shown(frontend_sources.AUTH_CONFIG), frontend.path / frontend_sources.AUTH_SCHEMA
    with tempfile.TemporaryDirectory(prefix="migrate-check-") as folder:
        generated = Path(folder) / frontend_sources.AUTH_SCHEMA
        argv = ["auth", "generate", "--config", frontend_sources.AUTH_CONFIG, "--output", str(generated), "--yes"]
        result = run_tool(frontend.folder, argv, env, echo=False)
        if result.code != 0 or not generated.is_file():
            return [
                StepFailed(
                    f"frontend: the Better Auth CLI could not generate the schema from {config}: {result.cause}",
                    "run make auth-schema and fix what it reports in the config",
                )
            ]
        new = generated.read_text()
    old = committed.read_text() if committed.is_file() else ""
    if new == old or _same_when_formatted(new, old):
        return []
    return [
        AuthSchemaStale(
            f"frontend: Better Auth's config ({config}) is ahead of {frontend.shown(frontend_sources.AUTH_SCHEMA)}: "
            + _named(_auth_schema_changes(old, new), "its generated tables differ"),
            "run make auth-schema, then make migration-frontend, then make migrate",
        )
    ]


def _same_when_formatted(new: str, old: str) -> bool:
    formatted = _formatted(new)
    return formatted is not None and formatted == _formatted(old)


def _formatted(text: str) -> str | None:
    """The text as the frontend's Biome formats it: a reformatted auth-schema.ts is no stale one."""
    biome = systems.load().node_bin / "biome"
    try:
        done = subprocess.run(
            [str(biome), "format", "--stdin-file-path=auth-schema.generated.ts"],
            input=text,
            cwd=systems.load().frontend.path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _auth_schema_changes(old: str, new: str) -> list[str]:
    """The columns (table.column) and tables the regenerated file adds or drops."""
    changes = []
    for sign, label in (("+", "adds"), ("-", "drops")):
        table = None
        for line in difflib.ndiff(old.splitlines(), new.splitlines()):
            text = line[2:]
            if match := AUTH_TABLE.match(text):
                table = match.group(1)
                if line.startswith(sign):
                    changes.append(f"{label} table {table}")
            elif (match := AUTH_COLUMN.match(text)) and line.startswith(sign) and table:
                changes.append(f"{label} {table}.{match.group(1)}")
    return changes


# ---- 37: the Drizzle schema ahead of its migrations ---------------------------------------------


def drizzle_schema(env: dict[str, str]) -> list[Failure]:
    frontend = systems.load().frontend
    key = fingerprint([*frontend_sources.drizzle_schema_sources(), frontend.migrations_folder])
    return cache.unless_passed("drizzle-schema", key, lambda: _generate(env))


def _generate(env: dict[str, str]) -> list[Failure]:
    frontend = systems.load().frontend
    with tempfile.TemporaryDirectory(prefix="migrate-check-") as folder:
        out = Path(folder) / "migrations"
        shutil.copytree(frontend.migrations_path, out)
        before = set(out.glob("*.sql"))
        config = extended_config(Path(folder), out)
        result = run_tool(frontend.folder, ["drizzle-kit", "generate", "--config", str(config)], env, echo=False)
        written = sorted(set(out.glob("*.sql")) - before)
        statements = [s for file in written for s in file.read_text().split("--> statement-breakpoint") if s.strip()]
    ahead = f"frontend: the Drizzle schema is ahead of {frontend.migrations_folder}: drizzle-kit generate would "
    hint = merge_state.merge_hint("run make migration-frontend (name=...), review the SQL it writes, then make migrate")
    if statements:
        return [DrizzleSchemaAhead(ahead + "write " + _named([_statement_name(s) for s in statements], ""), hint)]
    question = next((m.group(1) for line in result.lines if (m := RENAME_QUESTION.search(line))), None)
    if question:
        return [DrizzleSchemaAhead(f'{ahead}ask "{question}"', f"{hint}; it asks that question: answer it there")]
    if result.code == 0 and any("No schema changes" in line for line in result.lines):
        return []
    return [
        StepFailed(
            f"frontend: drizzle-kit generate (checking the schema against the migrations) failed: {result.cause}",
            merge_state.merge_hint(
                f"run make migration-frontend and fix what it reports (in {frontend.shown('lib')} or drizzle.config.ts)"
            ),
        )
    ]


def _statement_name(statement: str) -> str:
    text = " ".join(statement.replace('"public".', "").replace('"', "").split())
    for pattern, name in STATEMENT_NAMES:
        if match := pattern.match(text):
            return name.format(*match.groups())
    return text[:60]


# ---- 38: the database's frontend tables differ from the applied migrations -----------------------


def frontend_drift(state: DatabaseState, env: dict[str, str]) -> list[Failure]:
    """Drift from what the server builds of the applied migrations.

    Why this method: a schema's text (a migration's ``pg_catalog.gen_random_uuid()``, drizzle-kit's
    snapshot, drizzle-kit pull's reading) is not what the server made of it, and a comparison of
    two texts misfires wherever the server normalises one spelling into another. So the applied
    migrations are replayed, in the combined order of both systems (scripts/history/order.py), by the real
    tools, into a scratch database on the same server (scripts/checks/backend_replay.py), and the two
    catalogs are compared (scripts/database/catalog.py). The replay runs only when what it reads changed:
    the migrations, the tools' versions, the database's frontend schema. Only the frontend's
    schema is read (systems.env), never the backend's or the bookkeeping schemas. Not checked
    while the frontend's history itself has a problem (an unknown, edited or skipped migration):
    what its migrations produce is then unknown.
    """
    frontend = systems.load().frontend
    if state.frontend.problems:
        return []
    applied = state.frontend.applied
    url = env["DATABASE_URL"]
    live = _live_schema(url)
    if not applied and not live.tables and not live.enums and not live.sequences:
        return []  # an empty database: nothing applied, nothing there
    last_applied = applied[-1].id if applied else None
    # What the replay reads: both systems' migrations (backend revisions interleave with the
    # frontend's) and the tools' versions; and the live side: the database and its schema.
    backend = systems.load().backend
    files = fingerprint(
        [
            frontend.migrations_folder,
            frontend.shown("drizzle.config.ts"),
            frontend.shown("package-lock.json"),
            backend.migrations_folder,
            "uv.lock",
            "systems.env",
            # ... and how it compares: a pass under an older comparison is no pass under this one.
            "scripts/database/catalog.py",
            "scripts/checks/backend_replay.py",
        ]
    )
    live_digest = hashlib.sha256("\n".join(live.as_lines()).encode()).hexdigest()
    state_key = [files, database_key(url), live_digest, last_applied]
    key = hashlib.sha256(json.dumps(state_key).encode()).hexdigest()
    return cache.unless_passed("frontend-drift", key, lambda: _drift(live, last_applied, env))


def _drift(live: catalog.Schema, last_applied: str | None, env: dict[str, str]) -> list[Failure]:
    frontend = systems.load().frontend
    if last_applied is None:
        produced = catalog.Schema()
    else:
        try:
            url = database_url.parse(env["DATABASE_URL"])
            produced = backend_replay.frontend_schema_produced(url, load_settings(), last_applied)
        except Failure:
            # No replay: a role that may not create a database (PermissionDenied), a scratch database
            # the server or a pooler will not serve, a migration needing what only the real database
            # has (an extension installed by its administrator). drizzle-kit's snapshot of the last
            # applied migration is then the next best record of what they produce.
            return _drift_by_snapshot(last_applied, env)
    found = catalog.differences(produced, live, frontend.schema)
    return [_drift_failure(found, last_applied)] if found else []


def _drift_failure(found: list[str], last_applied: str | None) -> FrontendDrift:
    frontend = systems.load().frontend
    produced = f"the applied migrations (up to {last_applied})" if last_applied else "no applied migration"
    hint = (
        "if the migrations are right, undo that change in the database (make db-shell) or restore a backup; "
        f"if the database is right, put it in {frontend.shown('lib/schema.ts')}, run make migration-frontend, "
        "and undo it by hand before make migrate applies the migration"
    )
    if last_applied is None:  # tables, and no record of any migration: a database made before or without them
        hint = (
            "an existing database, made without these migrations (drizzle-kit push, by hand)? make migrate-baseline "
            "records the migrations its tables already match (docs/migrations.md#adopting-an-existing-database); "
            "if not, undo that change in the database (make db-shell) or restore a backup"
        )
    return FrontendDrift(
        f"frontend: the database's {frontend.schema} schema differs from what {produced} produce: " + _named(found, ""),
        hint,
    )


def _live_schema(url: str) -> catalog.Schema:
    bounds = config.migration_bounds(config.settings())  # bounded, as every session of the tooling
    connection = session_settings.open_session(url, connect_timeout=5, bounds=bounds, role="check")
    try:
        with connection.cursor() as cursor:
            return catalog.read(cursor, systems.load().frontend.schema, backend_replay.frontend_ignored_tables())
    finally:
        connection.close()


def _drift_by_snapshot(last_applied: str, env: dict[str, str]) -> list[Failure]:
    """The snapshot drizzle-kit wrote with the last applied migration, against drizzle-kit pull's reading."""
    frontend = systems.load().frontend
    snapshot = snapshot_of(last_applied)
    if snapshot is None:  # a migration without its snapshot: nothing to compare with
        return []
    node_env = {**env, **database_urls(database_url.for_node(database_url.parse(env["DATABASE_URL"])))}
    try:
        live = pulled_snapshot(node_env)
    except StepFailed as failure:
        return [failure]
    in_schema = frontend.bookkeeping_schema == frontend.schema
    ignored = frozenset({f"{frontend.schema}.{frontend.bookkeeping_table}"} if in_schema else ())
    found = drizzle_snapshot.differences(snapshot, live, ignored_tables=ignored)
    return [_drift_failure(found, last_applied)] if found else []


def pulled_snapshot(node_env: dict[str, str]) -> dict:
    """The live frontend schema as drizzle-kit's own introspection reads it (drizzle-kit pull, into
    a temporary folder): a snapshot in the form drizzle-kit writes with each migration."""
    frontend = systems.load().frontend
    with tempfile.TemporaryDirectory(prefix="migrate-pull-") as folder:
        out = Path(folder) / "pulled"
        config = extended_config(Path(folder), out)
        result = run_tool(frontend.folder, ["drizzle-kit", "pull", "--config", str(config)], node_env, echo=False)
        pulled = out / "meta" / "0000_snapshot.json"
        if result.code != 0 or not pulled.is_file():
            raise StepFailed(
                f"frontend: drizzle-kit pull (reading the frontend's tables to compare) failed: {result.cause}",
                f"check that DATABASE_URL's role may read the schema {frontend.schema}; details: cd "
                f"{frontend.folder} && npx drizzle-kit pull --out /tmp/pulled",
            )
        return json.loads(pulled.read_text())


def snapshot_of(tag: str) -> dict | None:
    """The snapshot drizzle-kit wrote with migration ``tag``: meta/PREFIX_snapshot.json, PREFIX its tag's first part."""
    path = systems.load().frontend.migrations_path / "meta" / f"{tag.split('_', 1)[0]}_snapshot.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---- shared ---------------------------------------------------------------------------------------


def extended_config(folder: Path, out: Path) -> Path:
    """A drizzle-kit config that is the project's own, writing to ``out`` instead of its migrations folder.

    drizzle-kit reads ``out`` relative to the folder it runs in, hence the relative path.
    """
    project_config = systems.load().frontend.path / "drizzle.config.ts"
    relative_out = os.path.relpath(out, systems.load().frontend.path)
    config = folder / "drizzle.config.ts"
    config.write_text(
        f"import config from {json.dumps(str(project_config))};\n\n"
        f"export default {{ ...config, out: {json.dumps(relative_out)} }};\n"
    )
    return config


def _named(items: list[str], fallback: str) -> str:
    unique = list(dict.fromkeys(items))
    if not unique:
        return fallback
    more = len(unique) - MAX_NAMED
    return "; ".join(unique[:MAX_NAMED]) + (f" (and {more} more)" if more > 0 else "")
