"""The generic tests of the histories (tests/test_pytest_alembic.py, tests/test_histories.py) follow the
combined order of both systems: a history that `make migrate` gets right from empty is green in them.

The history here, on a copy of the repository: a frontend table, a backend view over one of its
columns, then a frontend migration renaming that column. Applying every frontend migration before
the backend's (pytest-alembic's own way) fails at the view; the combined order does not. (The
switch to uuid ids, the other such history, is tests/test_uuid_switch.py.)
"""

from __future__ import annotations

import pytest

from conftest import Clone, alembic_head, append_drizzle_migration
from testing.database import Database
from testing.systems import BACKEND_SCHEMA

pytestmark = pytest.mark.full

GENERIC_TESTS = "tests/test_pytest_alembic.py tests/test_histories.py"


def with_a_view_over_a_renamed_column(clone: Clone) -> None:
    head = alembic_head(clone.root)
    team = append_drizzle_migration(
        clone,
        "team",
        f'-- after_backend: {head}\nCREATE TABLE "team" ("id" text PRIMARY KEY NOT NULL, "name" text NOT NULL);\n',
    )
    view = clone.add_alembic_revision(
        "f1x7a0000061",
        head,
        f'    op.execute("CREATE VIEW {BACKEND_SCHEMA}.team_names AS SELECT id, name FROM public.team")',
    )
    view.write_text(
        view.read_text()
        .replace("depends_on = None\n", f"depends_on = None\nafter_frontend = {team!r}\n")
        .replace(
            "def downgrade() -> None:\n    pass",
            f'def downgrade() -> None:\n    op.execute("DROP VIEW {BACKEND_SCHEMA}.team_names")',
        )
    )
    append_drizzle_migration(
        clone, "team_title", '-- after_backend: f1x7a0000061\nALTER TABLE "team" RENAME COLUMN "name" TO "title";\n'
    )


def test_make_migrate_from_empty_applies_the_history(clone: Clone, database: Database) -> None:
    with_a_view_over_a_renamed_column(clone)

    result = clone.make("migrate", DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")

    assert result.code == 0, result.output
    assert database.query(f"SELECT count(*) FROM {BACKEND_SCHEMA}.team_names") == [(0,)]


def test_the_generic_tests_pass_on_a_view_over_a_column_renamed_later(clone: Clone) -> None:
    with_a_view_over_a_renamed_column(clone)

    result = clone.make("test", PYTEST_ARGS=GENERIC_TESTS)

    assert result.code == 0, result.output[-4000:]
    assert " passed" in result.output and " failed" not in result.output
