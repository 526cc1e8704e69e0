"""Failures the scripts report: one class per exit code, caught once in :func:`entry_point`.

The exit codes are documented in docs/configuration.md ("Exit codes").
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from scripts.redact import redact


class Failure(Exception):
    """Something the user can fix: what went wrong, then what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(Failure):
    exit_code = 2


class NoDatabaseUrl(Failure):
    exit_code = 10


class MalformedDatabaseUrl(Failure):
    exit_code = 11


class DatabaseUnreachable(Failure):
    exit_code = 12


class AuthenticationFailed(Failure):
    exit_code = 13


class DatabaseMissing(Failure):
    exit_code = 14


class PermissionDenied(Failure):
    exit_code = 15


class LocalDatabaseError(Failure):
    exit_code = 16


class InvalidSetting(Failure):
    exit_code = 17


class TransactionPooler(Failure):
    exit_code = 19


class DatabaseError(Failure):
    """The database answered a query with an error the scripts did not expect."""

    exit_code = 18


class StepFailed(Failure):
    exit_code = 20


class MigrationLocked(Failure):
    exit_code = 21


class BackupFailed(Failure):
    exit_code = 22


class RestoreRefused(Failure):
    exit_code = 23


class NoFrontendRollback(Failure):
    exit_code = 24


class TlsFailed(Failure):
    """The TLS handshake failed: a certificate that does not verify, or no TLS where sslmode needs it."""

    exit_code = 25


class SessionSettingsLost(Failure):
    """Settings given to a migration's session would not reach the server, or not last: a pooler
    in between refuses the startup parameter ``options``, drops it, or resets a SET."""

    exit_code = 26


class DevelopmentOnly(Failure):
    """``make seed`` / ``db-reset`` refused: ENV=production, or a database the template did not start."""

    exit_code = 27


class SeedFailed(Failure):
    """A seed (the apps' own seed scripts) failed, or the database is not ready for it."""

    exit_code = 28


class MigrationSqlFindings(Failure):
    """``make migrate-sql LINT=1``: squawk found a problem in the SQL ``make migrate`` would run."""

    exit_code = 29


class MultipleHeads(Failure):
    exit_code = 30


class ModelDrift(Failure):
    exit_code = 31


class DrizzleJournalInconsistent(Failure):
    exit_code = 32


class SkippedMigration(Failure):
    exit_code = 33


class ChangedMigration(Failure):
    exit_code = 34


class UnknownAppliedMigration(Failure):
    exit_code = 35


class AuthSchemaStale(Failure):
    """Better Auth's config (lib/auth.ts) asks for tables or columns its generated schema lacks."""

    exit_code = 36


class DrizzleSchemaAhead(Failure):
    """The Drizzle schema has changes no migration holds: drizzle-kit generate would write one."""

    exit_code = 37


class FrontendDrift(Failure):
    """The frontend's tables in the database differ from what the applied Drizzle migrations produce."""

    exit_code = 38


class MigrationOrderUnknown(Failure):
    """The migrations' markers of the combined order name a missing migration, or contradict each other."""

    exit_code = 39


class MigrationOrderBroken(Failure):
    """One system's run would apply a migration before the other system's migration it was written after."""

    exit_code = 40


class BaselineMismatch(Failure):
    """``make migrate-baseline``: the database's schema is what no migration produces; nothing recorded."""

    exit_code = 41


class BaselineNotConfirmed(Failure):
    """``make migrate-baseline``: not confirmed (no ``yes=1``, or not answered "y"); nothing recorded."""

    exit_code = 42


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
    from scripts import systems  # here: systems reports its own problems as failures of this module

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
