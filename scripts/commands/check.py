"""``make migrate-check``: the gate before any migration is applied (the checks: scripts/checks/check.py)."""

from __future__ import annotations

from scripts.checks import accept
from scripts.checks.check import find_problems
from scripts.core.report import report_all
from scripts.database.migration_state import read_database_state
from scripts.database.preflight import run_preflight
from scripts.database.tools import ToolEnvironments


def main() -> int:
    database = run_preflight(quiet=True)
    accepted = accept.requested(database.settings)
    env = ToolEnvironments(database.settings, database.url).python
    problems, waived = accept.waived(find_problems(read_database_state(database.url), env, accepted), accepted)
    if problems:
        return report_all(accept.with_way_past(problems))
    accept.warn(waived, accepted)
    print(
        "✓ migrate-check: one Alembic head, no drift, Drizzle journal consistent, nothing skipped or changed; "
        "auth-schema.ts and the Drizzle migrations up to date, the frontend's tables as migrated; "
        "the pending migrations (if any) break nothing the other system uses"
    )
    return 0
