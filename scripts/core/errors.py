"""Failures the scripts report, each class with its exit code, caught once in :func:`scripts.core.report.entry_point`.

The exit codes are documented in docs/configuration.md ("Exit codes").
"""

from __future__ import annotations


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


class MissingRevision(Failure):
    """An Alembic revision names a down revision no file in the versions folder has (deleted, or a typo)."""

    exit_code = 47


class PreviousReleaseUnprepared(Failure):
    """``make test-previous-release``: the base's checkout could not be made or installed."""

    exit_code = 49


class PreviousReleaseBroken(Failure):
    """``make test-previous-release``: the base's API tests fail on this checkout's migrated schema."""

    exit_code = 50


class PreviousReleaseUntestable(Failure):
    """``make test-previous-release``: the base's tests cannot be pointed at this checkout's migrations."""

    exit_code = 51


class QuestionWithoutTerminal(Failure):
    """A generator (drizzle-kit generate) asked a question, and no terminal was there to answer it."""

    exit_code = 52


class NothingGenerated(Failure):
    """A generator ended (exit 0) without writing the file it was asked for, and without saying
    there was nothing to generate."""

    exit_code = 53


class UnrecordedTables(Failure):
    """The backend's schema has tables while no Alembic revision is recorded: an existing database
    (``make migrate-baseline`` adopts it), where ``alembic upgrade`` would fail on its first table."""

    exit_code = 55


class CrossSystemBreak(Failure):
    """The plan (scripts/checks/plan.py): a pending migration renames or drops what the other system uses."""

    exit_code = 58


class PlanFailed(Failure):
    """The plan (scripts/checks/plan.py) could not be made, or a pending migration fails on a scratch copy of
    the schema."""

    exit_code = 59


class AcceptRefused(Failure):
    """ACCEPT (scripts/checks/accept.py) given only in an env file with ENV=production: it must be given to the
    run itself."""

    exit_code = 60


class MergeNotPossible(Failure):
    """``make migrate-merge`` cannot put the merged tree right: conflicts in the user's own files, no
    merge to take the sides from, or drizzle-kit could not generate; nothing was changed."""

    exit_code = 62


class MergedMigrationApplied(Failure):
    """The database applied a Drizzle migration that ``make migrate-merge`` regenerated under a new
    name after the other branch's: applying the new one would make the same changes twice."""

    exit_code = 63
