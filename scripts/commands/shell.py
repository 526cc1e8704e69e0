"""``make db-shell``: a tool attached to the terminal (psql), after pre-flight, with the libpq variables set.

python -m scripts shell --in . -- psql
"""

from __future__ import annotations

import argparse

from scripts.core import config
from scripts.core.arguments import add_one_step, step_of
from scripts.database.preflight import run_preflight
from scripts.database.tools import ToolEnvironments, run_interactive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_one_step(parser)
    folder, argv = step_of(parser.parse_args())
    database = run_preflight(config.settings())
    return run_interactive(folder, argv, ToolEnvironments(database.settings, database.url).python)
