"""Drizzle's migrations as the repository holds them: the journal, the SQL files, and the bookkeeping
table drizzle-orm's migrator keeps of them. The one reader of the journal: each caller chooses what an
unreadable one means (a problem reported, or no migrations)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems
from scripts.core.systems import System

JOURNAL = "meta/_journal.json"  # in the migrations folder


@dataclass(frozen=True)
class JournalEntry:
    idx: int
    tag: str  # the migration's file name without .sql
    when: int  # drizzle-orm's created_at for it


class JournalUnreadable(Exception):
    """The journal cannot be read: missing, not JSON, or an entry without its idx, tag or when."""


def journal_path() -> Path:
    return systems.load().frontend.migrations_path / JOURNAL


def parse_journal(text: str) -> list[JournalEntry]:
    """The journal's entries, in its order (idx)."""
    try:
        entries = [
            JournalEntry(int(entry["idx"]), str(entry["tag"]), int(entry["when"]))
            for entry in json.loads(text)["entries"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise JournalUnreadable(error.__class__.__name__) from None
    return sorted(entries, key=lambda entry: entry.idx)


def read_journal(path: Path | None = None) -> list[JournalEntry]:
    try:
        text = (journal_path() if path is None else path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise JournalUnreadable(error.__class__.__name__) from None
    return parse_journal(text)


def journal_tags() -> list[str]:
    """The frontend's migrations in the journal's order; none when it cannot be read."""
    try:
        return [entry.tag for entry in read_journal()]
    except JournalUnreadable:
        return []


def drizzle_hash(sql_file: Path) -> str:
    """The hash drizzle-orm's migrator records: sha256 of the file's text."""
    return hashlib.sha256(sql_file.read_bytes()).hexdigest()


def bookkeeping_table(frontend: System) -> str:
    """drizzle-orm's table of applied migrations, quoted, e.g. ``"drizzle"."__drizzle_migrations"``."""
    return f'"{frontend.bookkeeping_schema}"."{frontend.bookkeeping_table}"'


def bookkeeping_ddl(frontend: System) -> list[str]:
    """What drizzle-orm's migrator runs before it applies anything (pg-core dialect.js ``migrate``), as
    scripts/drizzle_migrate.mjs runs it too: its schema, then its table."""
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{frontend.bookkeeping_schema}"',
        f"CREATE TABLE IF NOT EXISTS {bookkeeping_table(frontend)} (\n"
        "\tid SERIAL PRIMARY KEY,\n\thash text NOT NULL,\n\tcreated_at bigint\n)",
    ]
