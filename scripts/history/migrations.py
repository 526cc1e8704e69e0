"""The migrations of both systems, applied or pending, and what is wrong with them: plain data.

Built by scripts/database/migration_state.py from the histories (files) and the bookkeeping rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scripts.core.errors import Failure


@dataclass(frozen=True)
class Migration:
    id: str
    description: str
    path: str
    applied: bool
    # The other system's migrations this one was written after (scripts/history/order.py).
    after: tuple[str, ...] = ()
    # Its own system's migrations it follows: Alembic's down revisions (none for Drizzle, whose journal is a list).
    parents: tuple[str, ...] = ()


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
            "problems": [problem_json(p) for p in self.problems],
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


def _migration_json(migration: Migration) -> dict:
    return {"id": migration.id, "description": migration.description, "path": migration.path}


def problem_json(problem: Failure) -> dict:
    return {"exit_code": problem.exit_code, "message": problem.message, "hint": problem.hint}
