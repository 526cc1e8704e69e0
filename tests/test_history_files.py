"""Reading the migration files without the tools (scripts/database/migration_state.py), on fixture histories.

No database: the revisions are read with `ast` (never imported: no Alembic, no app), the
frontend's order marker from its SQL's first lines.
"""

from __future__ import annotations

from pathlib import Path

from scripts.history.alembic import alembic_revisions
from scripts.history.order import after_backend

REVISION = '''"""{message}

Revision ID: {revision}
"""
import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None
{extra}

def upgrade() -> None:
    op.execute("SELECT 1")
'''


def write(folder: Path, revision: str, down: object, *, message: str = "a change", extra: str = "") -> Path:
    path = folder / f"{revision}_change.py"
    path.write_text(REVISION.format(revision=revision, down=down, message=message, extra=extra))
    return path


def test_a_revision_is_read_with_its_parents_description_and_marker(tmp_path: Path) -> None:
    path = write(tmp_path, "b2", "b1", message="add notes", extra='after_frontend = "0003_teams"')

    [revision] = alembic_revisions(tmp_path)

    assert (revision.revision, revision.down_revisions, revision.description) == ("b2", ("b1",), "add notes")
    assert (revision.after_frontend, revision.path) == ("0003_teams", path)


def test_a_merge_has_each_of_its_parents_and_the_first_revision_none(tmp_path: Path) -> None:
    write(tmp_path, "m", ("b_a", "b_b"))
    write(tmp_path, "base", None)

    parents = {revision.revision: revision.down_revisions for revision in alembic_revisions(tmp_path)}

    assert parents == {"m": ("b_a", "b_b"), "base": ()}


def test_an_annotated_assignment_is_read_like_a_plain_one(tmp_path: Path) -> None:
    # Alembic's template types them: `down_revision: Union[str, Sequence[str], None] = "b1"`.
    (tmp_path / "b2_typed.py").write_text('revision: str = "b2"\ndown_revision: str | None = "b1"\n')

    [revision] = alembic_revisions(tmp_path)

    assert (revision.revision, revision.down_revisions) == ("b2", ("b1",))


def test_a_marker_that_is_no_plain_string_gives_no_place(tmp_path: Path) -> None:
    write(tmp_path, "b2", "b1", extra="after_frontend = TAGS[-1]")

    assert alembic_revisions(tmp_path)[0].after_frontend is None


def test_a_python_file_that_is_no_revision_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def shared() -> None:\n    pass\n")
    write(tmp_path, "b1", None)

    assert [revision.revision for revision in alembic_revisions(tmp_path)] == ["b1"]


def test_the_frontend_marker_names_one_or_more_backend_revisions() -> None:
    assert after_backend("-- after_backend: 4f2a9c1d7e10\nCREATE TABLE t (id int);") == ("4f2a9c1d7e10",)
    assert after_backend("-- after_backend: b_a, b_b\nSELECT 1;") == ("b_a", "b_b")
    assert after_backend("CREATE TABLE t (id int); -- after_backend: b1") == ()
