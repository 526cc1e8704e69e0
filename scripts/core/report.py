"""Failures turned into one or two lines and their exit code, once, at the entry point (scripts/__main__.py)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from scripts.core import systems
from scripts.core.errors import DatabaseError, Failure
from scripts.core.redact import redact


def report(failure: Failure) -> None:
    """What went wrong, then what to do, on standard error."""
    print(redact(f"✗ {failure.message}"), file=sys.stderr)
    if failure.hint:
        print(redact(f"  → {failure.hint}"), file=sys.stderr)


def report_all(failures: list[Failure]) -> int:
    """Report every failure; the exit code is the first one's."""
    for failure in failures:
        report(failure)
    return failures[0].exit_code if failures else 0


def entry_point(main: Callable[[], int | None]) -> None:
    """Run ``main``; turn any failure into one or two lines and its exit code."""
    # Stopped like Ctrl-C (a container stopping, CI cancelling): tools end, locks are released.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = main() or 0
    except Failure as failure:
        report(failure)
        code = failure.exit_code
    except KeyboardInterrupt:
        print("✗ interrupted", file=sys.stderr)
        code = 130
    except Exception as error:  # noqa: BLE001 - the one place that turns the unexpected into a message
        failure = _unexpected(error)
        report(failure)
        code = failure.exit_code
    sys.exit(code)


def _schemas_hint() -> str:

    try:
        schemas = ", ".join(systems.load().schemas)
    except Failure:
        schemas = "the migrations use (systems.env)"
    return f"check that the role in DATABASE_URL may read and change the schemas {schemas}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unexpected(error: Exception) -> Failure:
    first_line = (str(error).strip().splitlines() or [""])[0]
    if type(error).__module__.startswith("psycopg2"):
        return DatabaseError(f"the database refused a query: {first_line}", _schemas_hint())
    failure = Failure(
        f"unexpected error ({type(error).__name__}): {first_line}",
        "this is a bug in the template's scripts/: please report it with the command you ran",
    )
    failure.exit_code = 70
    return failure
