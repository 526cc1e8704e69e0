"""ACCEPT: the explicit way past a blocking check, for when the user knows better.

Every check of ``make migrate-check`` has a stable name (``NAMES``); its failure's hint
names it: ``make migrate ACCEPT=frontend-drift`` (several: comma-separated). ACCEPT is
read from the environment, then the env file, like every setting; with ENV=production it
must be in the run's own environment (``make migrate ACCEPT=...`` or ``ACCEPT=... make
migrate``): an ACCEPT left in an env file never waives a check in production.

An accepted problem is printed as a warning, recorded by ``make migrate`` in the ledger
(scripts/database/ledger.py, ``accepted``), and leaves no fast-path record: the next run checks again.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping

from scripts.core.config import Settings
from scripts.core.errors import (
    AcceptRefused,
    AuthSchemaStale,
    ChangedMigration,
    CrossSystemBreak,
    DrizzleJournalInconsistent,
    DrizzleSchemaAhead,
    Failure,
    FrontendDrift,
    MergedMigrationApplied,
    MigrationOrderBroken,
    MigrationOrderUnknown,
    MissingRevision,
    ModelDrift,
    MultipleHeads,
    PlanFailed,
    SkippedMigration,
    UnknownAppliedMigration,
    UnrecordedTables,
    UsageError,
)
from scripts.core.redact import redact

# Each blocking check's name, as ACCEPT takes it (docs/migrations.md, "When a check is wrong").
NAMES: dict[type[Failure], str] = {
    MultipleHeads: "multiple-heads",
    ModelDrift: "backend-drift",
    DrizzleJournalInconsistent: "drizzle-journal",
    SkippedMigration: "skipped-migration",
    ChangedMigration: "edited-migration",
    UnknownAppliedMigration: "unknown-migration",
    AuthSchemaStale: "auth-schema-behind",
    DrizzleSchemaAhead: "drizzle-schema-behind",
    FrontendDrift: "frontend-drift",
    MigrationOrderUnknown: "order-unknown",
    MigrationOrderBroken: "order-broken",
    CrossSystemBreak: "cross-system-break",
    PlanFailed: "plan",
    MissingRevision: "missing-revision",
    UnrecordedTables: "unrecorded-tables",
    MergedMigrationApplied: "merged-migration-applied",
}


def name_of(problem: Failure) -> str | None:
    """The check's name; None for a failure no ACCEPT can waive (pre-flight, a migration step)."""
    if named := getattr(problem, "check", None):
        return named
    return next((name for kind, name in NAMES.items() if isinstance(problem, kind)), None)


def named(problems: list[Failure], check: str) -> list[Failure]:
    """``problems`` of the check ``check``: its tool failing to run (a StepFailed) is waived by its name too."""
    for problem in problems:
        if name_of(problem) is None:
            problem.check = check  # type: ignore[attr-defined]
    return problems


def _split(value: str) -> set[str]:
    return {name.strip() for name in value.split(",") if name.strip()}


def requested(settings: Settings, environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The checks ACCEPT names, each known; in production, only as given to the run itself."""
    environ = os.environ if environ is None else environ
    names = _split(settings.values.get("ACCEPT", ""))
    if unknown := names - set(NAMES.values()):
        raise UsageError(
            f"ACCEPT={settings.values.get('ACCEPT')}: no check is called {', '.join(sorted(unknown))}",
            f"the checks' names: {', '.join(NAMES.values())} (several: comma-separated)",
        )
    if names and settings.get("ENV", "development") == "production":
        from_file = sorted(names - _split(environ.get("ACCEPT", "")))
        if from_file:
            raise AcceptRefused(
                f"ACCEPT={','.join(from_file)} comes from the env file, and ENV=production: a check is waived in "
                "production only by the run that says so",
                f"remove ACCEPT from the env file; to waive it for this run: make migrate ACCEPT={','.join(from_file)}",
            )
    return frozenset(names)


def with_way_past(problems: list[Failure]) -> list[Failure]:
    """Each problem's hint ends with its way past, by the check's name."""
    for problem in problems:
        name = name_of(problem)
        if name and f"ACCEPT={name}" not in (problem.hint or ""):
            way_past = f"if you know better: make migrate ACCEPT={name}"
            problem.hint = f"{problem.hint}; or, {way_past}" if problem.hint else way_past
    return problems


def waived(problems: list[Failure], accepted: frozenset[str]) -> tuple[list[Failure], list[Failure]]:
    """(the problems that still block, the problems ACCEPT waives)."""
    blocking = [problem for problem in problems if name_of(problem) not in accepted]
    return blocking, [problem for problem in problems if name_of(problem) in accepted]


def warn(accepted_problems: list[Failure], accepted: frozenset[str]) -> None:
    """One warning line per waived problem; a note for each name whose check passed."""
    for problem in accepted_problems:
        print(redact(f"! accepted (ACCEPT={name_of(problem)}), not fixed: {problem.message}"), flush=True)
    for name in sorted(accepted - {name_of(problem) for problem in accepted_problems}):
        print(f"  (ACCEPT={name}: that check passed; nothing to accept)", flush=True)


def who() -> str:
    """Who accepted: the operating system's user and host (the database role is recorded beside it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's user without a passwd entry
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"
