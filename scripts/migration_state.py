"""What is applied, what is pending, and what is wrong, for both migration systems.

Compares what the repository holds (Drizzle's journal and SQL files, Alembic's
revision files) with what the database recorded (``drizzle.__drizzle_migrations``,
``api.alembic_version``). Read-only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL

from app.settings import REPO_ROOT
from models.base import SCHEMA as BACKEND_SCHEMA
from scripts.errors import (
    ChangedMigration,
    DrizzleJournalInconsistent,
    Failure,
    MultipleHeads,
    SkippedMigration,
    UnknownAppliedMigration,
)
from scripts.preflight import connect

DRIZZLE_DIR = REPO_ROOT / "nextjs" / "drizzle"
ALEMBIC_INI = REPO_ROOT / "backend" / "alembic.ini"


@dataclass(frozen=True)
class Migration:
    id: str
    description: str
    path: str
    applied: bool


@dataclass
class SystemState:
    name: str
    tool: str
    migrations: list[Migration] = field(default_factory=list)
    current: str | None = None
    head: str | None = None
    problems: list[Failure] = field(default_factory=list)

    @property
    def applied(self) -> list[Migration]:
        return [m for m in self.migrations if m.applied]

    @property
    def pending(self) -> list[Migration]:
        return [m for m in self.migrations if not m.applied]

    def as_json(self) -> dict:
        return {
            "tool": self.tool,
            "current": self.current,
            "head": self.head,
            "applied": [_migration_json(m) for m in self.applied],
            "pending": [_migration_json(m) for m in self.pending],
            "problems": [_problem_json(p) for p in self.problems],
        }


@dataclass
class DatabaseState:
    frontend: SystemState
    backend: SystemState

    @property
    def systems(self) -> tuple[SystemState, SystemState]:
        return (self.frontend, self.backend)

    @property
    def problems(self) -> list[Failure]:
        return self.frontend.problems + self.backend.problems

    @property
    def pending(self) -> list[Migration]:
        return self.frontend.pending + self.backend.pending


def read_state(cursor) -> DatabaseState:
    return DatabaseState(frontend=frontend_state(cursor), backend=backend_state(cursor))


def read_database_state(url: URL) -> DatabaseState:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            return read_state(cursor)
    finally:
        connection.close()


def drizzle_hash(sql_file: Path) -> str:
    """The hash drizzle-orm's migrator records: sha256 of the file's text."""
    return hashlib.sha256(sql_file.read_bytes()).hexdigest()


def frontend_state(cursor) -> SystemState:
    state = SystemState(name="frontend", tool="drizzle-kit")
    journal_file = DRIZZLE_DIR / "meta" / "_journal.json"
    try:
        entries = json.loads(journal_file.read_text())["entries"]
    except (OSError, ValueError, KeyError) as error:
        state.problems.append(
            DrizzleJournalInconsistent(
                f"frontend: {_shown(journal_file)} cannot be read ({error.__class__.__name__})",
                "restore it from git, or regenerate the migrations: make migration-frontend",
            )
        )
        return state

    applied = _applied_drizzle_rows(cursor)  # created_at -> hash
    newest_applied = max(applied, default=None)
    known_times = set()
    for entry in sorted(entries, key=lambda e: e["idx"]):
        sql_file = DRIZZLE_DIR / f"{entry['tag']}.sql"
        known_times.add(entry["when"])
        if not sql_file.is_file():
            state.problems.append(
                DrizzleJournalInconsistent(
                    f"frontend: the journal lists {entry['tag']}, but {_shown(sql_file)} is missing",
                    "restore the file from git, or remove its entry from nextjs/drizzle/meta/_journal.json",
                )
            )
            continue
        is_applied = entry["when"] in applied
        if is_applied and applied[entry["when"]] != drizzle_hash(sql_file):
            state.problems.append(
                ChangedMigration(
                    f"frontend: {_shown(sql_file)} was changed after it was applied to this database",
                    "restore the applied version (git log -p -- that file); put new changes in a new migration",
                )
            )
        elif not is_applied and newest_applied is not None and entry["when"] <= newest_applied:
            state.problems.append(
                SkippedMigration(
                    f"frontend: {_shown(sql_file)} is older than the newest applied migration, "
                    "so drizzle-kit migrate would never apply it",
                    f'give it a newer timestamp: set its "when" in nextjs/drizzle/meta/_journal.json '
                    f"above {newest_applied} (after checking it does not conflict), or regenerate it",
                )
            )
        state.migrations.append(
            Migration(entry["tag"], entry["tag"], _shown(sql_file), applied=is_applied)
        )
    for unknown in sorted(set(applied) - known_times):
        state.problems.append(
            UnknownAppliedMigration(
                f"frontend: the database has a Drizzle migration (created_at {unknown}) "
                "that nextjs/drizzle does not have",
                "check out the branch that applied it, or restore a backup taken before it",
            )
        )
    state.current = next((m.id for m in reversed(state.migrations) if m.applied), None)
    state.head = state.migrations[-1].id if state.migrations else None
    return state


def backend_state(cursor) -> SystemState:
    # Imported here: only this function needs Alembic (a costly import).
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    state = SystemState(name="backend", tool="alembic")
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    heads = script.get_heads()
    if len(heads) > 1:
        state.problems.append(
            MultipleHeads(
                f"backend: Alembic has {len(heads)} heads ({', '.join(sorted(heads))}): two branches each added a migration",
                'merge them: cd backend && uv run alembic merge heads -m "merge heads" (then review the file)',
            )
        )
    current = _applied_alembic_revisions(cursor)
    applied_ids: set[str] = set()
    for revision_id in current:
        try:
            applied_ids.update(r.revision for r in script.iterate_revisions(revision_id, "base"))
        except (CommandError, RevisionError):
            state.problems.append(
                UnknownAppliedMigration(
                    f"backend: the database is at revision {revision_id}, which backend/alembic/versions does not have",
                    "check out the branch that applied it, or downgrade there before switching",
                )
            )
    for revision in reversed(list(script.walk_revisions())):
        state.migrations.append(
            Migration(
                revision.revision,
                (revision.doc or "").strip(),
                _shown(Path(revision.path)),
                applied=revision.revision in applied_ids,
            )
        )
    state.current = ", ".join(current) or None
    state.head = ", ".join(heads) or None
    return state


def _applied_drizzle_rows(cursor) -> dict[int, str]:
    cursor.execute("SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return {}
    cursor.execute("SELECT created_at, hash FROM drizzle.__drizzle_migrations")
    return {int(created_at): hash_ for created_at, hash_ in cursor.fetchall()}


def _applied_alembic_revisions(cursor) -> list[str]:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{BACKEND_SCHEMA}.alembic_version",))
    if not cursor.fetchone()[0]:
        return []
    cursor.execute(f'SELECT version_num FROM "{BACKEND_SCHEMA}".alembic_version ORDER BY 1')
    return [row[0] for row in cursor.fetchall()]


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _migration_json(migration: Migration) -> dict:
    return {"id": migration.id, "description": migration.description, "path": migration.path}


def _problem_json(problem: Failure) -> dict:
    return {"exit_code": problem.exit_code, "message": problem.message, "hint": problem.hint}
