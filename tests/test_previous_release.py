"""`make test-previous-release base=REF`: the release still running keeps working on the new schema.

On a copy of the repository made a git repository: the base commit adds a fixture table, its
model and a backend test that writes and reads it through the model (what the running release's
API does). The head commit adds a migration on top: dropping or renaming a column the base's
model reads fails the base's tests, and the command says so (exit 50); adding a column passes.
"""

from __future__ import annotations

import subprocess

import pytest

from conftest import Clone, add_backend_table, backend_migrations, drizzle_tags
from testing.systems import BACKEND_SCHEMA, declared

pytestmark = pytest.mark.full

BASE_TEST = '''"""The fixture table through its model: what the previous release's API does with it."""

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from testing.auth import User
from models.fixture_item import FixtureItem


def test_the_fixture_item_is_written_and_read_through_its_model(connection: Connection, users: tuple[User, ...]):
    ada = users[0]
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        session.add(FixtureItem(user_id=ada.id, title="kept"))
        session.flush()
        assert session.scalars(select(FixtureItem.title)).all() == ["kept"]
'''

HEAD_REVISION = '''"""{description}"""
import sqlalchemy as sa
from alembic import op

revision = "f1x7a0000003"
down_revision = "f1x7a0000001"
branch_labels = None
depends_on = None
after_frontend = {after_frontend!r}


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    pass
'''

TITLE = "    title: Mapped[str] = mapped_column(Text)\n"


def git(clone: Clone, *args: str) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", *args]
    return subprocess.run(command, cwd=clone.root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def base(clone: Clone) -> str:
    """The copy as a git repository whose commit (returned) is the release still running."""
    add_backend_table(clone)
    backend = clone.root / declared(clone.root)["BACKEND_DIR"]
    (backend / "tests" / "test_fixture_item.py").write_text(BASE_TEST)
    git(clone, "init", "--quiet")
    # As a clone has it: the copy's node_modules (a link to this checkout's) is no part of it.
    (clone.root / ".git" / "info" / "exclude").write_text(f"/{declared(clone.root)['FRONTEND_DIR']}/node_modules\n")
    git(clone, "add", "--all")
    git(clone, "commit", "--quiet", "-m", "the release running")
    return git(clone, "rev-parse", "HEAD")


def head(clone: Clone, description: str, upgrade: str, model_line: str) -> None:
    """The pull request: a revision on top, and the model as it now is, committed."""
    model = clone.root / declared(clone.root)["BACKEND_DIR"] / "models" / "fixture_item.py"
    model.write_text(model.read_text().replace(TITLE, model_line))
    revision = HEAD_REVISION.format(
        description=description, upgrade=upgrade, after_frontend=drizzle_tags(clone.root)[-1]
    )
    (backend_migrations(clone.root) / "f1x7a0000003_head.py").write_text(revision)
    git(clone, "add", "--all")
    git(clone, "commit", "--quiet", "-m", description)


def test_a_migration_dropping_a_column_the_previous_release_reads_fails_its_tests(clone: Clone, base: str) -> None:
    head(clone, "drop title", f'op.drop_column("fixture_item", "title", schema="{BACKEND_SCHEMA}")', "")

    result = clone.make("test-previous-release", base=base)

    assert result.code != 0
    assert "Error 50" in result.output, result.output[-3000:]
    assert f"the previous release ({base[:12]}) fails its API tests" in result.output
    assert "FAILED backend/tests/test_fixture_item.py" in result.output
    assert "expand, migrate, contract" in result.output


def test_a_migration_renaming_a_column_the_previous_release_reads_fails_its_tests(clone: Clone, base: str) -> None:
    renamed = "    headline: Mapped[str] = mapped_column(Text)\n"
    rename = f'op.alter_column("fixture_item", "title", new_column_name="headline", schema="{BACKEND_SCHEMA}")'
    head(clone, "rename title", rename, renamed)

    result = clone.make("test-previous-release", base=base)

    assert "Error 50" in result.output, result.output[-3000:]
    assert "FAILED backend/tests/test_fixture_item.py" in result.output


def test_an_additive_migration_keeps_the_previous_release_passing(clone: Clone, base: str) -> None:
    added = TITLE + "    summary: Mapped[str | None] = mapped_column(Text)\n"
    add = f'op.add_column("fixture_item", sa.Column("summary", sa.Text()), schema="{BACKEND_SCHEMA}")'
    head(clone, "add summary", add, added)

    result = clone.make("test-previous-release", base=base)

    assert result.code == 0, result.output[-3000:]
    assert f"✓ the previous release ({base[:12]}) passes its API tests on this checkout's schema" in result.output
    assert "test_fixture_item.py ." in result.output
    # The worktree is gone again.
    assert "previous-release-" not in git(clone, "worktree", "list")


def test_an_unknown_base_is_refused_naming_it(clone: Clone, base: str) -> None:
    result = clone.make("test-previous-release", base="no-such-branch")

    assert result.code != 0
    assert "base=no-such-branch: this repository has no such commit" in result.output
