"""migrate-check as the gate of a run that applies: every problem stops it before anything is applied,
but those ``ACCEPT`` waives (warned, and recorded in the ledger first); after applying, the models
compared with the migrated database.
"""

from __future__ import annotations

from dataclasses import dataclass

from scripts.checks import accept
from scripts.checks.check import drift_problem, find_problems
from scripts.core.errors import Failure
from scripts.core.redact import redact
from scripts.core.report import report_all
from scripts.database import ledger
from scripts.database.preflight import Database, connect
from scripts.database.tools import DRIFT_REPORT
from scripts.history.migrations import DatabaseState


@dataclass(frozen=True)
class Passed:
    accepted: frozenset[str]  # the checks ACCEPT names for this run
    waived: bool  # a problem was found and waived: no fast-path record for this run, the next one checks again


def gate(database: Database, state: DatabaseState, env: dict[str, str], refusals: list[Failure]) -> Passed | int:
    """The checks passed (or were waived), or the exit code of the first problem, all reported."""
    accepted = accept.requested(database.settings)
    problems = find_problems(state, env, accepted) + refusals
    problems, waived = accept.waived(problems, accepted)
    if problems:
        print("✗ migrate-check found problems; nothing was applied:")
        return report_all(accept.with_way_past(problems))
    if waived:
        record_accepted(database, waived)
    accept.warn(waived, accepted)
    return Passed(accepted, bool(waived))


def record_accepted(database: Database, waived: list[Failure]) -> None:
    """Each waived problem in the ledger (scripts/database/ledger.py, ``accepted``), before anything is applied."""
    who, env = accept.who(), database.settings.get("ENV", "development")
    connection = connect(database.url)
    try:
        with connection, connection.cursor() as cursor:
            for problem in waived:
                ledger.record_accepted(cursor, accept.name_of(problem) or "", redact(problem.message), who, env)
    finally:
        connection.close()


def models_match(backend_applied: bool, printed: list[str], database: Database, accepted: frozenset[str]) -> bool:
    """After applying, whether the models match the migrated database (the question of
    ``alembic check``, which could not be asked while revisions were pending).

    Alembic's env.py answers it at the end of its upgrade (MIGRATE_REPORT_DRIFT), in the same
    process, on a line of its output (the last upgrade's counts): a second Alembic start would cost
    as much again as the whole upgrade.
    A difference fails the run (exit 31) as it fails the next one, with the same message: what
    was applied stays applied, but the app's models expect what no migration makes, and the
    next step (a model written before the database was at head) is to generate its migration.
    ``ACCEPT=backend-drift`` waives it here as before applying: warned, recorded, and no record.
    """
    if not backend_applied:
        return True  # the backend had nothing to apply: its models were checked before
    reports = [line.removeprefix(DRIFT_REPORT) for line in printed if line.startswith(DRIFT_REPORT)]
    if not reports:
        return False  # an env.py without the report: the next run checks in full
    if problem := drift_problem(reports[-1]):
        if accept.name_of(problem) not in accepted:
            raise accept.with_way_past([problem])[0]
        record_accepted(database, [problem])
        accept.warn([problem], frozenset())
        return False
    return True
