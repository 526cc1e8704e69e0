"""The generators (make migration-frontend, migration-backend) on a terminal and without one.

drizzle-kit asks whether a renamed column is a rename or a drop-and-add. On a terminal the
question is answered there; without one it is an error, never a ✓, and nothing is written.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import Clone, backend_migrations, frontend_migrations
from testing.database import Database
from testing.systems import declared

# Copies of the repository, each with its own generators' runs: the full tier.
pytestmark = pytest.mark.full

DOWN_ARROW, ENTER = "\x1b[B", "\r"

# Run in the copy's environment (Clone.run): make in a pseudo-terminal of its own, the keys
# typed when the question shows, its output printed and its exit code passed on.
ON_A_TERMINAL = textwrap.dedent(
    """
    import os, pty, select, sys, time
    command, question, keys = sys.argv[1:-2], sys.argv[-2], sys.argv[-1]
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    output, answered, deadline = b"", False, time.monotonic() + 300
    while time.monotonic() < deadline:
        if select.select([terminal], [], [], 1)[0]:
            try:
                data = os.read(terminal, 4096)
            except OSError:
                break
            if not data:
                break
            output += data
        if not answered and question.encode() in output:
            for key in keys.split(","):
                time.sleep(0.5)
                os.write(terminal, key.encode())
            answered = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


def on_a_terminal(clone: Clone, *make_args: str, question: str, keys: list[str]):
    return clone.run(
        sys.executable, "-c", ON_A_TERMINAL, "make", "--no-print-directory", *make_args, question, ",".join(keys)
    )


def without_a_terminal(clone: Clone, *make_args: str):
    return clone.run("bash", "-c", 'make --no-print-directory "$@" < /dev/null', "make", *make_args)


def schema_file(clone: Clone) -> Path:
    return clone.root / declared(clone.root)["FRONTEND_DIR"] / "lib" / "schema.ts"


def journal(clone: Clone) -> bytes:
    return (frontend_migrations(clone.root) / "meta" / "_journal.json").read_bytes()


def migration_files(clone: Clone) -> set[str]:
    return {path.name for path in frontend_migrations(clone.root).rglob("*") if path.is_file()}


@pytest.fixture
def renamed_column(clone: Clone) -> Clone:
    """A table of the test's own, generated, then one of its columns renamed in lib/schema.ts."""
    schema = schema_file(clone)
    schema.write_text(
        'import { pgTable, text } from "drizzle-orm/pg-core";\n'
        + schema.read_text()
        + '\nexport const fixtureWidget = pgTable("fixture_widget", {\n'
        '  id: text("id").primaryKey(),\n  label: text("label"),\n});\n'
    )
    generated = without_a_terminal(clone, "migration-frontend", "name=fixture_widget")
    assert generated.code == 0, generated.output
    schema.write_text(schema.read_text().replace('label: text("label")', 'title: text("title")'))
    return clone


def test_a_rename_question_without_a_terminal_is_an_error_and_writes_nothing(renamed_column: Clone) -> None:
    journal_before, files_before = journal(renamed_column), migration_files(renamed_column)

    result = without_a_terminal(renamed_column, "migration-frontend", "name=rename_label")

    assert result.code != 0
    assert "Error 52" in result.output, result.output
    assert "asked a question only a terminal can answer" in result.output
    assert "created or renamed from another column" in result.output
    assert "✓ nextjs: drizzle-kit generate" not in result.output
    assert journal(renamed_column) == journal_before
    assert migration_files(renamed_column) == files_before


def test_a_rename_question_on_a_terminal_is_answered_there(renamed_column: Clone) -> None:
    entries_before = len(json.loads(journal(renamed_column))["entries"])

    result = on_a_terminal(
        renamed_column,
        "migration-frontend",
        "name=rename_label",
        question="rename column",
        keys=[DOWN_ARROW, ENTER],  # the second choice: "rename column"
    )

    assert result.code == 0, result.output
    written = frontend_migrations(renamed_column.root) / f"{entries_before:04d}_rename_label.sql"
    sql = written.read_text()
    assert 'ALTER TABLE "fixture_widget" RENAME COLUMN "label" TO "title"' in sql, sql
    assert sql.startswith("-- after_backend")  # the combined order's marker, recorded after the tool
    assert len(json.loads(journal(renamed_column))["entries"]) == entries_before + 1
    assert re.search(r"✓ nextjs: drizzle-kit generate --name rename_label \(", result.output)


@pytest.mark.parametrize("name", ["a/b", 'x"; touch pwned; echo "', "costs $5 at $HOME", "two words"])
def test_a_name_no_file_name_can_carry_is_refused_before_the_tool_runs(clone: Clone, name: str) -> None:
    journal_before, files_before = journal(clone), migration_files(clone)

    result = without_a_terminal(clone, "migration-frontend", f"name={name}")

    assert result.code != 0
    assert f"✗ name={name} cannot be part of a migration's file name" in result.output, result.output
    assert "drizzle-kit generate" not in result.output
    assert journal(clone) == journal_before
    assert migration_files(clone) == files_before
    assert not (clone.root / "pwned").exists()


def test_no_schema_change_is_nothing_to_generate(clone: Clone) -> None:
    files_before = migration_files(clone)

    result = without_a_terminal(clone, "migration-frontend")

    assert result.code == 0, result.output
    assert "No schema changes" in result.output
    assert "nothing to generate" in result.output
    assert migration_files(clone) == files_before


def test_the_revision_message_arrives_as_typed(clone: Clone, database: Database, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null"}
    assert clone.make("migrate", **env).code == 0
    models = clone.root / declared(clone.root)["BACKEND_DIR"] / "models"
    (models / "fixture_gadget.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy import BigInteger, Identity
            from sqlalchemy.orm import Mapped, mapped_column

            from models.base import Base


            class FixtureGadget(Base):
                __tablename__ = "fixture_gadget"

                id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
            """
        )
    )
    with (models / "__init__.py").open("a") as init:
        init.write("from models.fixture_gadget import FixtureGadget\n")
    effects = tmp_path / "effects"
    effects.mkdir()
    message = f'it\'s "x"; touch {effects}/semicolon; echo " `touch {effects}/backtick` costs $5 at $HOME'
    before = set(backend_migrations(clone.root).glob("*.py"))

    result = without_a_terminal(clone, "migration-backend", f"m={message}", *(f"{k}={v}" for k, v in env.items()))

    assert result.code == 0, result.output
    [revision] = set(backend_migrations(clone.root).glob("*.py")) - before
    assert revision.read_text().startswith(f'"""{message}\n'), revision.read_text()[:300]
    assert list(effects.iterdir()) == []
