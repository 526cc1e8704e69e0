"""``make migrate-status``: what is applied and pending in each system, in their combined
order, and what is wrong.

Exit codes: 0 up to date, 1 migrations pending, 2 or more an error (the first
problem's code, see docs/configuration.md). ``--format json`` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from scripts.checks.check import find_problems
from scripts.core.errors import Failure
from scripts.core.redact import redact
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import run_preflight
from scripts.database.tools import ToolEnvironments
from scripts.history import order
from scripts.history.migrations import DatabaseState, SystemState, problem_json


def exit_code(state: DatabaseState, problems: list[Failure]) -> int:
    if problems:
        return problems[0].exit_code
    return 1 if state.pending else 0


def verdict(state: DatabaseState, problems: list[Failure]) -> str:
    if problems:
        return f'{len(problems)} problem(s): fix them before migrating (docs/migrations.md, "What to do when")'
    if state.pending:
        return f"{len(state.pending)} migration(s) pending: run make migrate"
    return "up to date"


def system_lines(system: SystemState) -> list[str]:
    counts = f"{len(system.applied)} applied, {len(system.pending)} pending"
    lines = [f"{system.name} ({system.tool}): {counts}; at {system.current or 'nothing'}, head {system.head or 'none'}"]
    for migration in system.migrations:
        mark, note = ("✓", "") if migration.applied else ("·", "  pending")
        description = f"  {migration.description}" if migration.description != migration.id else ""
        lines.append(f"  {mark} {migration.id}{description}{note}")
    return lines


def order_lines(state: DatabaseState) -> list[str]:
    """Both systems' migrations in the order make migrate applies them (scripts/history/order.py)."""
    lines = ["combined order (make migrate applies the pending ones in this order):"]
    for item in order.combined(state)[0]:
        mark = "✓" if item.migration.applied else "·"
        after = f"  (after {', '.join(item.migration.after)})" if item.migration.after else ""
        lines.append(f"  {mark} {item.system:<8} {item.migration.id}{after}")
    return lines


def as_text(display: str, state: DatabaseState, problems: list[Failure]) -> str:
    lines = [f"Database {display}", ""]
    for system in state.systems:
        lines += [*system_lines(system), ""]
    lines += [*order_lines(state), ""]
    for problem in problems:
        lines.append(f"✗ {problem.message}")
        if problem.hint:
            lines.append(f"  → {problem.hint}")
    if problems:
        lines.append("")
    lines.append(f"Status: {verdict(state, problems)}")
    return "\n".join(lines)


def as_json(display: str, state: DatabaseState, problems: list[Failure]) -> str:
    document = {
        "database": display,
        "status": "error" if problems else ("pending" if state.pending else "up_to_date"),
        "exit_code": exit_code(state, problems),
        "frontend": state.frontend.as_json(),
        "backend": state.backend.as_json(),
        "order": [
            {
                "system": item.system,
                "id": item.migration.id,
                "applied": item.migration.applied,
                "after": list(item.migration.after),
            }
            for item in order.combined(state)[0]
        ],
        "problems": [problem_json(p) for p in problems],
    }
    return json.dumps(document, indent=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args()
    # In JSON mode standard output carries the document alone.
    with contextlib.redirect_stdout(sys.stderr) if args.format == "json" else contextlib.nullcontext():
        database = run_preflight(quiet=True)
        state = read_database_state(database.url)
        problems = find_problems(state, ToolEnvironments(database.settings, database.url).python)
    render = as_json if args.format == "json" else as_text
    print(redact(render(database.display, state, problems)))
    return exit_code(state, problems)
