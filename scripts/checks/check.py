"""``make migrate-check``: the gate before any migration is applied (and in CI).

Problems, each with its own exit code (scripts/core/errors.py):
Alembic has more than one head; the models differ from a database at head;
Drizzle's journal and snapshots disagree (``drizzle-kit check``); a Drizzle
migration would be skipped by its timestamp; an applied Drizzle migration file
was changed (or an applied Alembic revision's code); the database has a migration the
repository does not; the migrations' markers of the combined order name a migration that
does not exist, or contradict each other; Better Auth's config is ahead of its generated
schema, the Drizzle schema ahead of its migrations, or the frontend's tables differ from
them (scripts/checks/frontend_checks.py); a pending migration renames or drops what the other
system uses (the plan, scripts/checks/plan.py).

Each check has a name (scripts/checks/accept.py): ACCEPT=name waives it for one run.
"""

from __future__ import annotations

import re

from scripts.checks import accept, frontend_checks, plan
from scripts.core import cache, config, systems
from scripts.core.errors import (
    DrizzleJournalInconsistent,
    Failure,
    ModelDrift,
    StepFailed,
    UnknownAppliedMigration,
    UnrecordedTables,
)
from scripts.database import session_settings
from scripts.database.tools import run_tool
from scripts.history import merge_state, order
from scripts.history.fingerprint import fingerprint
from scripts.history.migrations import DatabaseState

DRIFT_OPERATION = re.compile(r"\('((?:add|remove|modify)_\w+)',\s*(?:'[^']*',\s*)?(?:Table\()?'([^']+)'")


def find_problems(state: DatabaseState, env: dict[str, str], accepted: frozenset[str] = frozenset()) -> list[Failure]:
    """Every problem, in the order a person should fix them; the plan last, once the rest
    passed or was ``accepted`` (scripts/checks/accept.py)."""
    problems = list(state.problems)
    problems += order.combined(state)[1]
    # Each check's own call, so that its tool failing to run (a StepFailed) is waived by its name too.
    problems += accept.named(drizzle_kit_check(env), "drizzle-journal")
    problems += accept.named(frontend_checks.better_auth_schema(env), "auth-schema-behind")
    problems += accept.named(frontend_checks.drizzle_schema(env), "drizzle-schema-behind")
    problems += accept.named(frontend_checks.frontend_drift(state, env), "frontend-drift")
    problems += accept.named(unrecorded_backend_tables(state, env), "unrecorded-tables")
    backend = state.backend
    backend_at_single_head = not backend.pending and backend.head and "," not in backend.head
    if backend_at_single_head and not any(isinstance(p, UnknownAppliedMigration) for p in backend.problems):
        problems += accept.named(model_drift(env), "backend-drift")
    if not accept.waived(problems, accepted)[0]:
        problems += plan.find_problems(state, env)
    return problems


def unrecorded_backend_tables(state: DatabaseState, env: dict[str, str]) -> list[Failure]:
    """Tables in the backend's schema, and no revision recorded: made before or without the
    migrations, where the first ``CREATE TABLE`` of alembic upgrade would fail."""
    backend = systems.load().backend
    if state.backend.applied or not state.backend.migrations or state.backend.problems:
        return []
    bounds = config.migration_bounds(config.settings())  # bounded, as every session of the tooling
    connection = session_settings.open_session(env["DATABASE_URL"], connect_timeout=5, bounds=bounds, role="check")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT (n.nspname = %s AND c.relname = %s) "
                "ORDER BY 1",
                (backend.schema, backend.bookkeeping_schema, backend.bookkeeping_table),
            )
            tables = [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    if not tables:
        return []
    shown = ", ".join(f"{backend.schema}.{name}" for name in tables[:5]) + (", ..." if len(tables) > 5 else "")
    return [
        UnrecordedTables(
            f"backend: the database has tables in {backend.schema} ({shown}) but no record of an applied "
            f"Alembic revision ({backend.bookkeeping}): alembic upgrade would fail on the first of them",
            "an existing database, made without these migrations? make migrate-baseline records the revisions "
            "its tables already match (docs/migrations.md#adopting-an-existing-database); if not, drop those tables "
            "or restore a backup",
        )
    ]


def drizzle_kit_check(env: dict[str, str]) -> list[Failure]:
    """`drizzle-kit check`, run only when the files it reads changed since it last passed."""
    frontend = systems.load().frontend
    # drizzle-kit check reads the journal and snapshots only; its verdict depends on its version.
    sources = [
        f"{frontend.migrations_folder}/meta",
        frontend.shown("drizzle.config.ts"),
        frontend.shown("package-lock.json"),
    ]
    key = fingerprint(sources)
    if cache.passed("drizzle-kit-check", key):
        return []
    result = run_tool(frontend.folder, ["drizzle-kit", "check"], env, echo=False)
    if result.code == 0 and any("Everything's fine" in line for line in result.lines):
        cache.remember_pass("drizzle-kit-check", key)
        return []
    return [
        DrizzleJournalInconsistent(
            f"frontend: drizzle-kit check: {result.cause}",
            merge_state.merge_hint(
                "two branches generated migrations from the same parent: keep the merged one, delete "
                "the other's SQL file, snapshot and journal entry, then run make migration-frontend"
            ),
        )
    ]


def model_drift(env: dict[str, str]) -> list[Failure]:
    folder = systems.load().backend.folder
    result = run_tool(folder, ["alembic", "check"], env, echo=False)
    if result.code == 0:
        return []
    text = "\n".join(result.lines)
    if "New upgrade operations detected" not in text:
        return [
            StepFailed(f"backend: alembic check failed: {result.cause}", f"run: cd {folder} && uv run alembic check")
        ]
    problem = drift_problem(text)
    return [problem] if problem else []


def drift_problem(differences: str) -> ModelDrift | None:
    """The models' differences from the database (Alembic's list of operations), as one problem."""
    operations = sorted({f"{op} {name}" for op, name in DRIFT_OPERATION.findall(differences)})
    if not operations and differences.strip() in ("", "[]"):
        return None
    return ModelDrift(
        "backend: the models differ from the database at head: " + (", ".join(operations) or "see alembic check"),
        'generate a migration: make migration-backend m="what changed" '
        f"(details: cd {systems.load().backend.folder} && uv run alembic check)",
    )
