"""``make migration-backend`` / ``migration-frontend`` / ``auth-schema``: a generator, judged by what it wrote.

    python -m scripts generate --writes backend/alembic/versions --record-order --in backend -- \\
        alembic revision --autogenerate --message "add tags"

``--writes PATH``: the command must write that file or folder, or say there is nothing to generate
(scripts/database/generated.py); on a terminal, it is attached to it, to answer its questions.
``--record-order``: the migration files it creates are marked with their place in the combined order.
``--offline``: the command does not connect: no pre-flight, DATABASE_URL passed through if set.
"""

from __future__ import annotations

import argparse

from scripts.core import config
from scripts.core.arguments import add_one_step, step_of
from scripts.database.steps import run_step
from scripts.database.tools import ToolEnvironments


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", metavar="PATH", help="the file or folder the command must write")
    parser.add_argument("--record-order", action="store_true", help="mark new migrations with their place in order")
    parser.add_argument("--offline", action="store_true", help="the command does not connect: no pre-flight")
    add_one_step(parser)
    args = parser.parse_args()
    folder, argv = step_of(args)
    settings = config.settings()
    if args.offline:
        database = None
        url = config.database_url(settings) if settings.migration_database_url else None
        env = ToolEnvironments(settings, url).for_step(folder)
    else:
        from scripts.database.preflight import run_preflight

        database = run_preflight(settings)
        env = ToolEnvironments(database.settings, database.url).for_step(folder)
    run_step(folder, argv, env, database, record_order=args.record_order, generates=args.writes)
    return 0
