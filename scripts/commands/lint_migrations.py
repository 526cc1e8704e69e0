"""``make lint``'s migration part: squawk over the SQL both systems would run (scripts/checks/lint_migrations.py)."""

from __future__ import annotations

import sys

from scripts.checks.lint_migrations import alembic_sql, not_excluded, rendered_revisions, squawk
from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.history.alembic import alembic_revisions


def main() -> int:
    drizzle_files = sorted(systems.load().frontend.migrations_path.glob("*.sql"))
    files = not_excluded([str(path.relative_to(REPO_ROOT)) for path in drizzle_files])
    backend_revisions = alembic_revisions()
    revisions = rendered_revisions(alembic_sql(), backend_revisions) if backend_revisions else {}
    if not files and not revisions:
        print("squawk: no migration to check yet")
        return 0
    code = squawk(files, revisions)
    if code != 0:
        print(
            "✗ squawk: a migration above would lock or break a live table: change it, or acknowledge "
            "a finding that is right for its table (docs/your-app.md, 'A lint finding in generated SQL')",
            file=sys.stderr,
        )
    return code
