"""The one entry point of the tooling: ``python -m scripts COMMAND [ARGS...]`` (the Makefile's recipes).

Each command is a module of scripts/commands/ with a ``main()``; only the one asked for is
imported, so that the fast path of ``make migrate`` loads no more than it needs. Failures are
turned into a message and an exit code here, once (scripts/core/report.py).
"""

from __future__ import annotations

import importlib
import sys

from scripts.core.errors import UsageError
from scripts.core.report import entry_point

# The command as the Makefile names it -> its module under scripts/commands/.
COMMANDS = {
    "migrate": "migrate",
    "migrate-one": "migrate_one",
    "downgrade": "downgrade",
    "generate": "generate",
    "shell": "shell",
    "status": "status",
    "check": "check",
    "baseline": "baseline",
    "preview": "preview",
    "merge": "merge",
    "backup": "backup",
    "preflight": "preflight",
    "dbserver": "dbserver",
    "seed": "seed",
    "reset": "reset",
    "lint-migrations": "lint_migrations",
    "dev": "dev",
    "previous-release": "previous_release",
}


def main() -> int | None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in COMMANDS:
        raise UsageError(
            f"unknown command {name!r}" if name else "no command given",
            f"python -m scripts COMMAND, one of: {', '.join(COMMANDS)} (the Makefile runs them: make help)",
        )
    command = importlib.import_module(f"scripts.commands.{COMMANDS[name]}")
    # Each command parses the rest of the line itself, and names itself in its usage line.
    sys.argv = [f"scripts {name}", *sys.argv[2:]]
    return command.main()


if __name__ == "__main__":
    entry_point(main)
