"""The one reader of Drizzle's journal, and the one definition of drizzle-orm's bookkeeping table (no PostgreSQL)."""

from __future__ import annotations

import json
import re

import pytest

from scripts.core import systems
from scripts.history.drizzle_journal import JournalEntry, JournalUnreadable, bookkeeping_ddl, parse_journal

FRONTEND = systems.load().frontend


def journal(*entries: dict) -> str:
    return json.dumps({"version": "7", "dialect": "postgresql", "entries": list(entries)})


def test_the_entries_come_in_the_journals_order_whatever_the_files_order() -> None:
    text = journal({"idx": 1, "tag": "0001_b", "when": 20}, {"idx": 0, "tag": "0000_a", "when": 10})

    assert parse_journal(text) == [JournalEntry(0, "0000_a", 10), JournalEntry(1, "0001_b", 20)]


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        json.dumps({"no": "entries"}),
        journal({"idx": 0, "tag": "0000_a"}),  # no when: drizzle-orm could not record it
        journal({"idx": "first", "tag": "0000_a", "when": 1}),
        "<<<<<<< HEAD\n" + journal(),
    ],
)
def test_an_unreadable_journal_is_one_error_the_caller_decides_about(text: str) -> None:
    with pytest.raises(JournalUnreadable):
        parse_journal(text)


def squeezed(sql: str) -> str:
    """One space between words, none inside the parentheses."""
    return re.sub(r"\s*\)", ")", re.sub(r"\(\s*", "(", re.sub(r"\s+", " ", sql))).strip()


def test_the_bookkeeping_table_is_the_one_drizzle_orms_migrator_makes() -> None:
    dialect = (FRONTEND.path / "node_modules" / "drizzle-orm" / "pg-core" / "dialect.js").read_text()
    columns = re.search(r"CREATE TABLE IF NOT EXISTS \$\{[^}]+\}\.\$\{[^}]+\} \(([^)]*)\)", dialect)
    assert columns, "drizzle-orm's pg dialect no longer creates its table as it did: compare bookkeeping_ddl"

    schema, table = bookkeeping_ddl(FRONTEND)

    assert schema == f'CREATE SCHEMA IF NOT EXISTS "{FRONTEND.bookkeeping_schema}"'
    assert squeezed(table) == squeezed(
        f'CREATE TABLE IF NOT EXISTS "{FRONTEND.bookkeeping_schema}"."{FRONTEND.bookkeeping_table}" '
        f"({columns.group(1)})"
    )


def test_the_runner_makes_the_same_table() -> None:
    runner = (FRONTEND.path.parent / "scripts" / "drizzle_migrate.mjs").read_text()
    made = re.search(r"`CREATE TABLE IF NOT EXISTS \$\{qualified\} \(([^)]*)\)`", runner)
    assert made

    assert squeezed(bookkeeping_ddl(FRONTEND)[1]).endswith(f"({squeezed(made.group(1))})")
