"""Drizzle's migrations as the repository holds them: the journal and the SQL files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from scripts.core import systems


def drizzle_hash(sql_file: Path) -> str:
    """The hash drizzle-orm's migrator records: sha256 of the file's text."""
    return hashlib.sha256(sql_file.read_bytes()).hexdigest()


def journal_tags() -> list[str]:
    """The frontend's migrations in the journal's order; none when it cannot be read."""
    journal_file = systems.load().frontend.migrations_path / "meta" / "_journal.json"
    try:
        entries = json.loads(journal_file.read_text())["entries"]
        return [str(entry["tag"]) for entry in sorted(entries, key=lambda entry: int(entry["idx"]))]
    except (OSError, ValueError, KeyError, TypeError):
        return []
