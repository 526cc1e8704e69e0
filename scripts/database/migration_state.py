"""What is applied, what is pending, and what is wrong, for both migration systems.

Compares what the repository holds (Drizzle's journal and SQL files, Alembic's
revision files) with what the database recorded (the bookkeeping tables of
systems.env: ``drizzle.__drizzle_migrations``, ``api.alembic_version``, and the checksums
of applied revisions in the tooling's own ledger, scripts/database/ledger.py). Read-only.
"""

from __future__ import annotations

from psycopg2.extensions import cursor as Cursor

from scripts.core import systems
from scripts.core.config import shown_path
from scripts.core.database_url import DatabaseUrl
from scripts.core.errors import (
    ChangedMigration,
    DrizzleJournalInconsistent,
    MergedMigrationApplied,
    MissingRevision,
    MultipleHeads,
    SkippedMigration,
    UnknownAppliedMigration,
)
from scripts.database import ledger
from scripts.database.preflight import connect
from scripts.history import alembic, merge_state
from scripts.history.drizzle_journal import JournalUnreadable, drizzle_hash, journal_path, read_journal
from scripts.history.migrations import DatabaseState, Migration, SystemState
from scripts.history.order import after_backend


def read_state(cursor: Cursor) -> DatabaseState:
    return DatabaseState(frontend=frontend_state(cursor), backend=backend_state(cursor))


def read_database_state(url: DatabaseUrl) -> DatabaseState:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            return read_state(cursor)
    finally:
        connection.close()


def frontend_state(cursor: Cursor) -> SystemState:
    frontend = systems.load().frontend
    state = SystemState(name=frontend.name, tool=frontend.tool)
    journal_file = journal_path()
    try:
        entries = read_journal(journal_file)
    except JournalUnreadable as error:
        state.problems.append(
            DrizzleJournalInconsistent(
                f"frontend: {shown_path(journal_file)} cannot be read ({error})",
                merge_state.merge_hint("restore it from git, or regenerate the migrations: make migration-frontend"),
            )
        )
        return state

    applied = _applied_drizzle_rows(cursor, frontend.bookkeeping)  # created_at -> hash
    newest_applied = max(applied, default=None)
    # First the root cause: a migration from another branch makes later ones look skipped.
    for unknown in sorted(set(applied) - {entry.when for entry in entries}):
        if regenerated := merge_state.regenerated_as(unknown, applied[unknown]):
            state.problems.append(
                MergedMigrationApplied(
                    f"frontend: this database applied {regenerated.original}, which make migrate-merge regenerated "
                    f"as {regenerated.now} after the other branch's migrations: drizzle-kit would apply it twice",
                    "a development database: make db-reset; one to keep: undo its changes by hand and delete its "
                    "bookkeeping row, or restore a backup from before it (docs/migrations.md, Merging branches)",
                )
            )
            continue
        state.problems.append(
            UnknownAppliedMigration(
                f"frontend: the database has a Drizzle migration (created_at {unknown}) "
                f"that {frontend.migrations_folder} does not have",
                "check out the branch that applied it, or restore a backup taken before it",
            )
        )
    for entry in entries:
        sql_file = frontend.migrations_path / f"{entry.tag}.sql"
        if not sql_file.is_file():
            state.problems.append(
                DrizzleJournalInconsistent(
                    f"frontend: the journal lists {entry.tag}, but {shown_path(sql_file)} is missing",
                    f"restore the file from git, or remove its entry from {shown_path(journal_file)}",
                )
            )
            continue
        is_applied = entry.when in applied
        if is_applied and applied[entry.when] != drizzle_hash(sql_file):
            state.problems.append(
                ChangedMigration(
                    f"frontend: {shown_path(sql_file)} was changed after it was applied to this database",
                    "restore the applied version (git log -p -- that file); put new changes in a new migration",
                )
            )
        elif not is_applied and newest_applied is not None and entry.when <= newest_applied:
            state.problems.append(
                SkippedMigration(
                    f"frontend: {shown_path(sql_file)} is older than the newest applied migration, "
                    "so drizzle-kit migrate would never apply it",
                    merge_state.merge_hint(
                        f'give it a newer timestamp: set its "when" in {shown_path(journal_file)} '
                        f"above {newest_applied} (after checking it does not conflict), or regenerate it"
                    ),
                )
            )
        state.migrations.append(
            Migration(entry.tag, entry.tag, shown_path(sql_file), is_applied, after_backend(sql_file.read_text()))
        )
    state.current = next((m.id for m in reversed(state.migrations) if m.applied), None)
    state.head = state.migrations[-1].id if state.migrations else None
    return state


def backend_state(cursor: Cursor) -> SystemState:
    backend = systems.load().backend
    state = SystemState(name=backend.name, tool=backend.tool)
    revisions = {r.revision: r for r in alembic.alembic_revisions()}
    parents = {down for r in revisions.values() for down in r.down_revisions}
    heads = sorted(set(revisions) - parents)
    current = _applied_alembic_revisions(cursor, backend.bookkeeping)
    # A revision whose parent file is gone splits the chain in two: no second head to merge.
    missing = alembic.missing_parents(revisions)
    for child, parent in missing:
        applied = "applied, " if alembic.applied_through(child, revisions, current) else ""
        state.problems.append(
            MissingRevision(
                f"backend: revision {parent} ({applied}the parent of {child}) is missing from "
                f"{backend.migrations_folder}",
                f"restore the file (git log --diff-filter=D --name-only -- {backend.migrations_folder}), "
                f"or correct down_revision in {shown_path(revisions[child].path)}",
            )
        )
    labelled = alembic.branch_labels(revisions, heads) if len(heads) > 1 and not missing else {}
    if labelled:
        # A branch of its own (alembic revision --branch-label): one line of revisions is what the
        # combined order, the ledger and make migrate follow; a statement outside a transaction needs none.
        named = ", ".join(f"{head} ({', '.join(labels)})" for head, labels in labelled.items())
        state.problems.append(
            MultipleHeads(
                f"backend: Alembic has {len(heads)} heads ({', '.join(heads)}): a branch of its own "
                f"(branch_labels) ends at {named}; the tooling applies one line of revisions",
                f'merge it: cd {backend.folder} && uv run alembic merge heads -m "merge heads", or make it an '
                "ordinary revision (down_revision: the other head; autocommit_block() for a statement outside "
                "a transaction: docs/migrations.md, 'A concurrent index in each system')",
            )
        )
    elif len(heads) > 1 and not missing:
        state.problems.append(
            MultipleHeads(
                f"backend: Alembic has {len(heads)} heads ({', '.join(heads)}): two branches each added a migration",
                "merge them: make migrate-merge (it runs alembic merge heads, records the merge's place in the "
                "combined order, and regenerates the other branch's Drizzle migrations after yours; then review)",
            )
        )
    applied_ids: set[str] = set()
    for revision_id in current:
        if revision_id not in revisions:
            state.problems.append(
                UnknownAppliedMigration(
                    f"backend: the database is at revision {revision_id}, "
                    f"which {backend.migrations_folder} does not have",
                    "check out the branch that applied it, or downgrade there before switching",
                )
            )
            continue
        pending_ancestors = [revision_id]
        while pending_ancestors:
            ancestor = pending_ancestors.pop()
            if ancestor in revisions and ancestor not in applied_ids:
                applied_ids.add(ancestor)
                pending_ancestors.extend(revisions[ancestor].down_revisions)
    checksums = ledger.recorded(cursor)
    for revision in alembic.base_to_heads(revisions):
        recorded = checksums.get(revision.revision)
        if revision.revision in applied_ids and recorded and not ledger.checksum(revision.path).matches(recorded):
            state.problems.append(
                ChangedMigration(
                    f"backend: {shown_path(revision.path)} was changed after it was applied to this database",
                    "restore the applied version (git log -p -- that file); put new changes in a new revision: "
                    'make migration-backend m="what changed"',
                )
            )
        state.migrations.append(
            Migration(
                revision.revision,
                revision.description,
                shown_path(revision.path),
                revision.revision in applied_ids,
                (revision.after_frontend,) if revision.after_frontend else (),
                revision.down_revisions,
            )
        )
    state.current = ", ".join(current) or None
    state.head = ", ".join(heads) or None
    return state


# ``table`` is systems.env's bookkeeping table, a checked plain name (scripts/core/systems.py).
def _applied_drizzle_rows(cursor: Cursor, table: str) -> dict[int, str]:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    if not cursor.fetchone()[0]:
        return {}
    cursor.execute(f"SELECT created_at, hash FROM {table}")
    return {int(created_at): hash_ for created_at, hash_ in cursor.fetchall()}


def _applied_alembic_revisions(cursor: Cursor, table: str) -> list[str]:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    if not cursor.fetchone()[0]:
        return []
    cursor.execute(f"SELECT version_num FROM {table} ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]
