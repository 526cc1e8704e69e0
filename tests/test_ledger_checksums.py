"""The checksum of an applied Alembic revision (scripts/database/ledger.py): its code, not its bytes.

No database: the checksum alone, on revision texts. A comment, the layout, a docstring or its
place in the combined order is no change; any changed statement is.
"""

from __future__ import annotations

from pathlib import Path

from scripts.database.ledger import PYTHON, Checksum, checksum, code_checksum

REVISION = '''"""add notes"""
from alembic import op

revision = "b2"
down_revision = "b1"
after_frontend = "0003_teams"


def upgrade() -> None:
    """Create the table."""
    op.execute("CREATE TABLE note (id int)")
'''


def test_comments_layout_and_docstrings_are_no_change() -> None:
    edited = (
        REVISION.replace('"""add notes"""', '"""add notes, and say why"""')
        .replace('"""Create the table."""', "# the table, said otherwise")
        .replace('op.execute("CREATE TABLE note (id int)")', 'op.execute(\n        "CREATE TABLE note (id int)"\n    )')
    )

    assert code_checksum(edited) == code_checksum(REVISION)


def test_its_place_in_the_combined_order_is_no_change() -> None:
    assert code_checksum(REVISION.replace('"0003_teams"', '"0004_later"')) == code_checksum(REVISION)
    assert code_checksum(REVISION.replace('after_frontend = "0003_teams"\n', "")) == code_checksum(REVISION)


def test_a_changed_statement_is_a_change() -> None:
    assert code_checksum(REVISION.replace("(id int)", "(id bigint)")) != code_checksum(REVISION)
    assert code_checksum(REVISION.replace('down_revision = "b1"', 'down_revision = "b0"')) != code_checksum(REVISION)


def test_a_function_left_with_only_its_docstring_differs_from_one_that_does_something() -> None:
    emptied = REVISION.replace('    op.execute("CREATE TABLE note (id int)")\n', "")

    assert code_checksum(emptied) != code_checksum(REVISION)
    assert code_checksum(emptied) == code_checksum(emptied.replace('"""Create the table."""', "pass"))


def test_the_file_is_compared_byte_for_byte_when_the_recorded_checksum_is_of_another_python(tmp_path: Path) -> None:
    path = tmp_path / "b2_add_notes.py"
    path.write_text(REVISION)
    current = checksum(path)
    other_python = Checksum(code="a syntax tree of another release", file=current.file, python="3.0")

    assert current.python == PYTHON and current.matches(current)
    assert current.matches(other_python)
    assert not current.matches(Checksum(code=current.code, file="another file", python="3.0"))
    assert not current.matches(Checksum(code="another tree", file=current.file))
