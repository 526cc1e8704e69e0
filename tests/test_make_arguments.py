"""Make arguments (m=, name=, file=, to=, yes=, first=, base=, ACCEPT=, FORMAT=) are data:
read from the environment, never run.

Each value holds what a shell or make would act on: quotes, `;`, `$(...)`, backticks, `$5`
and `$HOME`. The commands they would run write into the test's own folder; none may appear.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.database import Database, run
from testing.systems import REPO_ROOT

TARGETS = [
    "migration-backend",
    "migration-frontend",
    "db-restore",
    "rollback-backend",
    "migrate-baseline",
    "seed",
    "db-reset",
    "migrate-merge",
    "test-previous-release",
    "migrate",
    "migrate-status",
]
ARGUMENTS = ("m", "name", "file", "to", "yes", "first", "base", "ACCEPT", "FORMAT")


def hostile(folder: Path) -> str:
    """A value that runs commands (each would create a file in ``folder``) if pasted into a recipe."""
    return (
        f'it\'s "x"; touch {folder}/semicolon; echo " `touch {folder}/backtick` $(touch {folder}/dollar) '
        f"$(shell touch {folder}/make) costs $5 at $HOME"
    )


def created(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("target", TARGETS)
def test_a_dry_run_shows_no_argument_value(target: str, tmp_path: Path) -> None:
    value = hostile(tmp_path)

    result = run(
        ["make", "-n", target, *(f"{name}={value}" for name in ARGUMENTS)],
        database_url=None,
    )

    assert "costs $5" not in result.output and "touch" not in result.output, result.output
    assert created(tmp_path) == []


def test_make_functions_in_yes_are_not_evaluated(tmp_path: Path) -> None:
    result = run(["make", "-n", "migrate-baseline", f"yes=$(shell touch {tmp_path}/evaluated)"], database_url=None)

    assert result.code == 0, result.output
    assert created(tmp_path) == []


@pytest.mark.parametrize("given", ["on the command line", "in the environment"])
def test_the_restore_file_arrives_as_typed(given: str, database: Database, tmp_path: Path) -> None:
    value = f"backups/{hostile(tmp_path)}.dump"
    argument = {"env": {"file": value}} if given == "in the environment" else {"args": [f"file={value}"]}

    result = database.make("db-restore", *argument.get("args", []), "yes=1", **argument.get("env", {}))

    assert "Error 23" in result.output, result.output
    assert f"✗ {REPO_ROOT / value} does not exist" in result.output
    assert created(tmp_path) == []


def test_a_file_that_looks_like_an_option_is_a_file(database: Database) -> None:
    result = database.make("db-restore", "file=--help", "yes=1")

    assert f"✗ {REPO_ROOT / '--help'} does not exist" in result.output, result.output


def test_the_rollback_target_arrives_as_typed(database: Database, tmp_path: Path) -> None:
    value = hostile(tmp_path)
    tables = database.tables()

    result = database.make("rollback-backend", f"to={value}")

    assert result.code != 0
    assert value in result.output, result.output
    assert created(tmp_path) == []
    assert database.tables() == tables
