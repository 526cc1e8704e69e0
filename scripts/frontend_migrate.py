"""The frontend's migrate step: scripts/drizzle_migrate.mjs, one transaction per Drizzle migration.

The runner calls drizzle-orm's own migrator (the function ``drizzle-kit migrate`` calls),
once per pending migration, on one session that first SETs the run's bounds
(MIGRATION_BOUNDS). A failure leaves the migrations before it applied, and the runner's
last line names the file: ``✗ nextjs/drizzle/0003_x.sql: the database's error``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scripts import systems
from scripts.settings import REPO_ROOT

if TYPE_CHECKING:
    from scripts.preflight import Database

RUNNER = REPO_ROOT / "scripts" / "drizzle_migrate.mjs"
# The runner's line for a migration that failed: the file, then the database's error.
FAILED = re.compile(r"^✗ (\S+\.sql): (.+)$")


def command(to: str | None = None) -> list[str]:
    """The runner's command line; ``to``: stop after the migration of that tag."""
    return ["node", str(RUNNER), *(["--to", to] if to else [])]


def apply_frontend(env: dict[str, str], database: Database | None = None, to: str | None = None) -> None:
    """Apply the pending frontend migrations (up to and including the tag ``to``), one
    transaction each; raises StepFailed naming the file that failed.

    ``env``: the tools' environment, with the node-postgres URL (scripts/run.py's node_env).
    """
    from scripts.run import run_step  # the wrapper's one way of running a step and reporting it

    run_step(systems.load().frontend.folder, command(to), env, database)


def failed_file(lines: list[str]) -> str | None:
    """The migration file the runner names as failed, if it does."""
    return next((m.group(1) for line in lines if (m := FAILED.match(line))), None)
