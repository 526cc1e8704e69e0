"""One order across both migration systems, recorded in the migrations themselves.

Applying "all frontend, then all backend" is right for an incremental run, and wrong on
an empty database whenever a backend migration was written against a frontend state
that a later frontend migration changed. So each migration records, when it is
created, the other system's newest migration at that moment:

- a backend revision, a module-level name beside ``down_revision``:
  ``after_frontend = "0003_uuid_ids"``;
- a frontend migration, a SQL comment on its first line:
  ``-- after_backend: 4f2a9c1d7e10``.

``make migration-backend`` and ``make migration-frontend`` write them (``record``).
The combined order puts every migration after its own system's earlier ones and after
the migrations it names; where that leaves a choice, the frontend's first, the order
of old. After two branches that each added migrations are merged, ``make migrate-merge``
(scripts/commands/merge.py) joins Alembic's heads and renumbers one side's Drizzle migrations; each
side's names still hold (those of a renumbered migration follow it), and the order interleaves them.
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems
from scripts.core.config import shown_path
from scripts.core.errors import Failure, MigrationOrderBroken, MigrationOrderUnknown
from scripts.core.systems import System
from scripts.history import merge_state
from scripts.history.alembic import alembic_revisions
from scripts.history.drizzle_journal import journal_tags
from scripts.history.migrations import DatabaseState, Migration

# The frontend's marker of its place in the combined order, a SQL comment on its first line.
AFTER_BACKEND = re.compile(r"^-- after_backend: ([\w, ]+)$", re.MULTILINE)


def after_backend(sql: str) -> tuple[str, ...]:
    found = AFTER_BACKEND.search(sql)
    return tuple(name.strip() for name in found.group(1).split(",") if name.strip()) if found else ()


@dataclass(frozen=True)
class Placed:
    system: str  # "frontend" or "backend"
    migration: Migration


def combined(state: DatabaseState) -> tuple[list[Placed], list[Failure]]:
    """Every migration of both systems in the combined order, and what makes it unknowable."""
    other = {"frontend": "backend", "backend": "frontend"}
    placed = {(name, m.id): Placed(name, m) for name in ("frontend", "backend") for m in _migrations(state, name)}
    problems: list[Failure] = []
    before: dict[tuple[str, str], set[tuple[str, str]]] = {key: set() for key in placed}
    frontend = [m.id for m in state.frontend.migrations]
    for earlier, later in itertools.pairwise(frontend):
        before[("frontend", later)].add(("frontend", earlier))
    known_backend = {key[1] for key in placed if key[0] == "backend"}
    for revision in state.backend.migrations:
        for down in revision.parents:
            if down in known_backend:
                before[("backend", revision.id)].add(("backend", down))
    for key, item in placed.items():
        for name in item.migration.after:
            prerequisite = (other[item.system], name)
            if prerequisite in placed:
                before[key].add(prerequisite)
            elif not item.migration.applied:  # an applied one's place no longer matters to this database
                problems.append(
                    MigrationOrderUnknown(
                        f"{item.system}: {item.migration.path} is marked to come after {other[item.system]} "
                        f"migration {name}, which {_folder(other[item.system])} does not have",
                        merge_state.merge_hint(
                            "name one it has (its newest when the file was written), or remove the marker, "
                            "before it is applied (docs/migrations.md, The combined order)"
                        ),
                    )
                )
    # Ties: the frontend first, then each system's own order (the journal, Alembic's base to heads).
    rank = {key: (0 if key[0] == "frontend" else 1, index) for index, key in enumerate(placed)}
    waiting = {key: set(keys) for key, keys in before.items()}
    followers: dict[tuple[str, str], list[tuple[str, str]]] = {key: [] for key in placed}
    for key, keys in before.items():
        for prerequisite in keys:
            followers[prerequisite].append(key)
    ready = [(rank[key], key) for key, keys in waiting.items() if not keys]
    heapq.heapify(ready)
    ordered: list[Placed] = []
    while ready:
        _, key = heapq.heappop(ready)
        ordered.append(placed[key])
        for follower in followers[key]:
            waiting[follower].discard(key)
            if not waiting[follower]:
                heapq.heappush(ready, (rank[follower], follower))
    if len(ordered) < len(placed):
        stuck = [placed[key].migration.path for key in placed if waiting[key]]
        problems.append(
            MigrationOrderUnknown(
                f"the migrations' order markers contradict each other: {', '.join(sorted(stuck))}",
                "each marker names the other system's newest migration when the file was written: fix the one "
                "edited by hand (docs/migrations.md, The combined order)",
            )
        )
        ordered += [placed[key] for key in placed if waiting[key]]
    return ordered, problems


def segments(order: list[Placed]) -> list[tuple[str, list[Migration]]]:
    """The pending migrations in the combined order, as runs of one system each."""
    runs: list[tuple[str, list[Migration]]] = []
    for item in order:
        if item.migration.applied:
            continue
        if runs and runs[-1][0] == item.system:
            runs[-1][1].append(item.migration)
        else:
            runs.append((item.system, [item.migration]))
    return runs


def segment_targets(migrations: list[Migration]) -> list[str]:
    """The revisions to upgrade to for a segment of backend migrations: each one no later
    revision of the segment descends from (one, unless branches meet in the segment).

    Every revision between two of the segment is in the segment too (it comes after the
    one and before the other in the combined order), so the segment's own parents suffice."""
    parents = {migration.id: migration.parents for migration in migrations}
    ids = [migration.id for migration in migrations]
    ancestors: set[str] = set()
    for revision in ids:
        stack = list(parents.get(revision, ()))
        while stack:
            ancestor = stack.pop()
            if ancestor not in ancestors:
                ancestors.add(ancestor)
                stack.extend(parents.get(ancestor, ()))
    return [revision for revision in ids if revision not in ancestors]


def out_of_order(state: DatabaseState, system: System) -> list[Failure]:
    """Why applying the pending migrations of ``system`` alone would break the combined order."""
    declared = systems.load()
    other = declared.backend if system == declared.frontend else declared.frontend
    pending_elsewhere = {m.id for m in _migrations(state, other.name) if not m.applied}
    problems: list[Failure] = []
    for migration in _migrations(state, system.name):
        if migration.applied:
            continue
        if blocking := [name for name in migration.after if name in pending_elsewhere]:
            problems.append(
                MigrationOrderBroken(
                    f"{system.name}: {migration.path} was written after {other.name} migration "
                    f"{', '.join(blocking)}, which is not applied yet",
                    f"apply both in their order: make migrate (or make migrate-{other.name} first)",
                )
            )
    return problems


def record(system: System, new_files: list[Path]) -> list[str]:
    """Write the marker into each new migration file of ``system``; returns the files marked."""
    marked = []
    if system == systems.load().backend:
        tags = journal_tags()
        if not tags:
            return []
        for path in new_files:
            text = path.read_text()
            if "\nafter_frontend" in text:
                continue
            anchor = "\ndepends_on" if "\ndepends_on" in text else "\ndown_revision"
            start = text.index(anchor) if anchor in text else -1
            if start < 0:
                continue
            end = text.find("\n", start + 1)
            end = len(text) if end < 0 else end
            line = "\n# Its place in the combined order of both systems' migrations (docs/migrations.md).\n"
            line += f'after_frontend = "{tags[-1]}"'
            path.write_text(text[:end] + line + text[end:])
            marked.append(shown_path(path))
        return marked
    heads = backend_heads()
    if not heads:
        return []
    for path in new_files:
        text = path.read_text()
        if text.startswith("-- after_backend:"):
            continue
        path.write_text(f"-- after_backend: {', '.join(heads)}\n{text}")
        marked.append(shown_path(path))
    return marked


def backend_heads() -> list[str]:
    revisions = alembic_revisions()
    parents = {down for revision in revisions for down in revision.down_revisions}
    return sorted(revision.revision for revision in revisions if revision.revision not in parents)


def migration_files(system: System) -> set[Path]:
    pattern = "*.sql" if system == systems.load().frontend else "*.py"
    return set(system.migrations_path.glob(pattern)) if system.migrations_path.is_dir() else set()


def _migrations(state: DatabaseState, system: str) -> list[Migration]:
    return getattr(state, system).migrations


def _folder(system: str) -> str:
    return getattr(systems.load(), system).migrations_folder
