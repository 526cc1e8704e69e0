"""Alembic's revision graph, read from the revision files without importing them (or Alembic)."""

from __future__ import annotations

import ast
import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems


@dataclass(frozen=True)
class AlembicRevision:
    revision: str
    down_revisions: tuple[str, ...]
    description: str
    path: Path
    after_frontend: str | None = None  # scripts/history/order.py
    branch_labels: tuple[str, ...] = ()  # alembic revision --branch-label


def alembic_revisions(versions_dir: Path | None = None) -> list[AlembicRevision]:
    """The revision files, read without importing them (or Alembic: a costly import).

    Parsed with ``ast``: the module-level ``revision`` and ``down_revision`` literals,
    and the docstring's first line, as Alembic's own script template writes them. Each file
    once per process while it is unchanged: the commands and checks ask again and again.
    """
    versions_dir = systems.load().backend.migrations_path if versions_dir is None else versions_dir
    revisions = []
    for path in sorted(versions_dir.glob("*.py")):
        stat = path.stat()
        if (revision := _parsed(path, stat.st_mtime_ns, stat.st_size)) is not None:
            revisions.append(revision)
    return revisions


@functools.cache
def _parsed(path: Path, mtime_ns: int, size: int) -> AlembicRevision | None:
    """One revision file (None: not a revision file); ``mtime_ns`` and ``size``: its version, for the cache."""
    module = ast.parse(path.read_text(), filename=str(path))
    values: dict[str, object] = {}
    for node in module.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value:
            values[target.id] = ast.literal_eval(node.value)
        elif isinstance(target, ast.Name) and target.id == "after_frontend" and node.value:
            # Its place in the combined order: a plain string, else no place (scripts/history/order.py).
            values[target.id] = node.value.value if isinstance(node.value, ast.Constant) else None
        elif isinstance(target, ast.Name) and target.id == "branch_labels" and node.value:
            with contextlib.suppress(ValueError):
                value = ast.literal_eval(node.value)
                values[target.id] = (value,) if isinstance(value, str) else tuple(value or ())
    if not isinstance(values.get("revision"), str):
        return None
    down = values.get("down_revision")
    down_revisions = tuple(down) if isinstance(down, (tuple, list)) else ((down,) if down else ())
    description = (ast.get_docstring(module) or "").strip().splitlines()
    after = values.get("after_frontend")
    return AlembicRevision(
        values["revision"],
        down_revisions,
        description[0] if description else "",
        path,
        after if isinstance(after, str) and after else None,
        values.get("branch_labels", ()),
    )


def missing_parents(revisions: dict[str, AlembicRevision]) -> list[tuple[str, str]]:
    """(child, parent) for every down revision that no file has."""
    return sorted((r.revision, down) for r in revisions.values() for down in r.down_revisions if down not in revisions)


def applied_through(revision: str, revisions: dict[str, AlembicRevision], current: list[str]) -> bool:
    """Whether the database is at ``revision`` or at one after it: then its parent was applied too."""
    children: dict[str, list[str]] = {}
    for r in revisions.values():
        for down in r.down_revisions:
            children.setdefault(down, []).append(r.revision)
    seen, frontier = set(), [revision]
    while frontier:
        node = frontier.pop()
        if node in current:
            return True
        if node not in seen:
            seen.add(node)
            frontier.extend(children.get(node, []))
    return False


def branch_labels(revisions: dict[str, AlembicRevision], heads: list[str]) -> dict[str, list[str]]:
    """The heads whose line of revisions declares a branch label (``branch_labels``), with its labels."""
    labels_of = {revision.revision: list(revision.branch_labels) for revision in revisions.values()}
    found: dict[str, list[str]] = {}
    for head in heads:
        line, seen = [head], set()
        while line:
            current = line.pop()
            if current in revisions and current not in seen:
                seen.add(current)
                found.setdefault(head, []).extend(labels_of.get(current, []))
                line.extend(revisions[current].down_revisions)
    return {head: labels for head, labels in found.items() if labels}


def base_to_heads(revisions: dict[str, AlembicRevision]) -> list[AlembicRevision]:
    """Every revision after all of its down revisions (by file name where the order is free)."""
    ordered: list[AlembicRevision] = []
    placed: set[str] = set()
    remaining = sorted(revisions.values(), key=lambda r: r.path.name)
    while remaining:
        ready = [r for r in remaining if all(d in placed or d not in revisions for d in r.down_revisions)]
        if not ready:  # a cycle: list the rest as they are
            return ordered + remaining
        for revision in ready:
            ordered.append(revision)
            placed.add(revision.revision)
        remaining = [r for r in remaining if r.revision not in placed]
    return ordered
