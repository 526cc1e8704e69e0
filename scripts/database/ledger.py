"""The tooling's own bookkeeping: a checksum of every applied Alembic revision (``applied``),
and every check a run was told to waive (``accepted``, scripts/checks/accept.py).

Drizzle records a hash of each migration it applies; Alembic records only the
revision id, so an applied revision edited afterwards would pass unnoticed and
that database and a fresh one would differ. The wrapper keeps, per applied
revision, a checksum of its code in a table of its own schema (systems.env
``LEDGER_SCHEMA``), which neither tool reads or changes: ``alembic_version``
stays as Alembic made it, and autogenerate never sees this schema.

The checksum is of the revision's code, not its bytes: the syntax tree with its
docstrings (and its place in the combined order, scripts/history/order.py) left out, so
that a reformatted line, a comment or an edited message is no change. Syntax
trees differ between Python versions, so the file's bytes are kept too and
compared instead when the recorded checksum came from another Python version
(and the code checksum is then renewed).

Rows are written only by a run holding the migration lock, after its steps:
every applied revision without a row gets one, and rows of revisions no longer
applied (rolled back) are removed. A row is never overwritten, so an edit stays
caught until the file is restored.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extensions import cursor as Cursor

from scripts.core import systems

TABLE = "applied"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Checksum:
    code: str
    file: str
    python: str = PYTHON

    def matches(self, recorded: Checksum) -> bool:
        if recorded.python == self.python:
            return recorded.code == self.code
        return recorded.file == self.file


def checksum(path: Path) -> Checksum:
    data = path.read_bytes()
    return Checksum(code=code_checksum(data.decode()), file=hashlib.sha256(data).hexdigest())


def code_checksum(source: str) -> str:
    """sha256 of the module's syntax tree without docstrings: comments, layout and docstrings are no change."""
    tree = ast.parse(source)
    # Its place in the combined order (scripts/history/order.py) may be given later: it changes no table.
    tree.body = [node for node in tree.body if not _assigns(node, "after_frontend")]
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and _docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _assigns(node: ast.stmt, name: str) -> bool:
    target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
    return isinstance(target, ast.Name) and target.id == name


def _docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = node.body[0] if node.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def table() -> str:
    return f"{systems.load().ledger_schema}.{TABLE}"


def recorded(cursor: Cursor) -> dict[str, Checksum]:
    """The recorded checksums of the backend's applied revisions; empty before the first record."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table(),))
    if not cursor.fetchone()[0]:
        return {}
    cursor.execute(f"SELECT migration, code_sha256, file_sha256, python FROM {table()} WHERE system = 'backend'")
    return {migration: Checksum(code, file, python) for migration, code, file, python in cursor.fetchall()}


def synchronise(
    cursor: Cursor, applied: dict[str, Path], repository: set[str], reapplied: set[str] = frozenset()
) -> list[str]:
    """Record a checksum for each applied revision (id -> file) without one, and forget the
    rolled-back ones among the ``repository``'s revisions (a row of a revision this checkout
    lacks stays); ``reapplied``: applied by this run, so recorded anew. Returns the ids newly
    recorded. Run under the migration lock."""
    schema = systems.load().ledger_schema
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table(),))
    if not applied and not cursor.fetchone()[0]:
        return []  # nothing to record: no schema of the tooling's in a database without revisions
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    cursor.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {table()} (
            system text NOT NULL,
            migration text NOT NULL,
            code_sha256 text NOT NULL,
            file_sha256 text NOT NULL,
            python text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (system, migration)
        )
        """
    )
    rolled_back = repository - set(applied)
    cursor.execute(
        f"DELETE FROM {table()} WHERE system = 'backend' AND migration = ANY(%s)",
        (sorted(rolled_back | set(reapplied)),),
    )
    known = recorded(cursor)
    new = [revision for revision in applied if revision not in known]
    for revision in new:
        value = checksum(applied[revision])
        cursor.execute(
            f"INSERT INTO {table()} (system, migration, code_sha256, file_sha256, python) "
            "VALUES ('backend', %s, %s, %s, %s)",
            (revision, value.code, value.file, value.python),
        )
    # A checksum from another Python version whose file is unchanged is renewed for this one.
    for revision, old in known.items():
        if revision in applied and old.python != PYTHON and checksum(applied[revision]).matches(old):
            value = checksum(applied[revision])
            cursor.execute(
                f"UPDATE {table()} SET code_sha256 = %s, python = %s WHERE system = 'backend' AND migration = %s",
                (value.code, value.python, revision),
            )
    return new


# ---- accepted: the checks a run was told to waive (ACCEPT, scripts/checks/accept.py) ------------------

ACCEPTED_TABLE = "accepted"


def accepted_table() -> str:
    return f"{systems.load().ledger_schema}.{ACCEPTED_TABLE}"


def record_accepted(cursor: Cursor, check: str, found: str, accepted_by: str, env: str) -> None:
    """A row for a problem a run waived: the check's name, what it found, who, where, when.
    Created by the tooling (not by either migration tool), like ``applied``."""
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {systems.load().ledger_schema}")
    cursor.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {accepted_table()} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            check_name text NOT NULL,
            found text NOT NULL,
            accepted_by text NOT NULL,
            database_role text NOT NULL DEFAULT current_user,
            env text NOT NULL,
            accepted_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    cursor.execute(
        f"INSERT INTO {accepted_table()} (check_name, found, accepted_by, env) VALUES (%s, %s, %s, %s)",
        (check, found, accepted_by, env),
    )
