"""Two tools, one database: Alembic owns the "api" schema, Drizzle owns "public".

With a stock env.py, autogenerate on a database holding the Better Auth tables
proposes to drop them; these tests prove that cannot happen here.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import Clone, add_backend_table, append_drizzle_migration, frontend_tables, insert_user
from scripts.database.tools import NODE_BIN
from testing.database import Database, run
from testing.systems import BACKEND_SCHEMA, REPO_ROOT, SYSTEMS

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# Every object in the backend's schema, with its definition.
BACKEND_SCHEMA_OBJECTS = f"""
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relnamespace = '{BACKEND_SCHEMA}'::regnamespace ORDER BY 1, 2, 3
"""

NEW_MODEL = """
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class FixtureWidget(Base):
    __tablename__ = "fixture_widget"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
"""


def autogenerate_in_copy(database: Database, tmp_path: Path, extra_model: str | None) -> tuple[int, str, list[str]]:
    """`alembic revision --autogenerate` on a copy of backend/ (the repository stays untouched).

    Returns the exit code, the output and the operations of the revision's upgrade().
    """
    backend = tmp_path / SYSTEMS["BACKEND_DIR"]
    shutil.copytree(REPO_ROOT / SYSTEMS["BACKEND_DIR"], backend, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "systems.env", tmp_path)  # env.py reads it beside backend/
    if extra_model:
        (backend / "models" / "fixture_widget.py").write_text(extra_model)
        with (backend / "models" / "__init__.py").open("a") as init:
            init.write("from models.fixture_widget import FixtureWidget  # noqa: E402,F401\n")
    before = set((backend / "alembic" / "versions").glob("*.py"))
    result = run(
        ["uv", "run", "--frozen", "--project", str(REPO_ROOT), "alembic", "revision", "--autogenerate", "-m", "change"],
        database_url=database.url_string(),
        cwd=backend,
    )
    written = set((backend / "alembic" / "versions").glob("*.py")) - before
    operations: list[str] = []
    for revision in written:
        upgrade = revision.read_text().split("def upgrade()", 1)[1].split("def downgrade()", 1)[0]
        operations += re.findall(r"^\s+(op\.\w+\([^,)]*)", upgrade, re.MULTILINE)
    return result.code, result.output, operations


def test_alembic_check_passes_after_a_full_migrate(migrated: Database) -> None:
    result = migrated.backend("check")

    assert result.code == 0, result.output
    assert "No new upgrade operations detected" in result.output


def test_autogenerate_ignores_the_better_auth_tables(migrated: Database, tmp_path: Path) -> None:
    code, output, operations = autogenerate_in_copy(migrated, tmp_path, extra_model=None)

    assert code == 0, output
    assert operations == []
    assert "No changes in the models: no revision written." in output


def test_a_new_backend_model_yields_exactly_its_own_create_table(migrated: Database, tmp_path: Path) -> None:
    code, output, operations = autogenerate_in_copy(migrated, tmp_path, extra_model=NEW_MODEL)

    assert code == 0, output
    assert operations == ["op.create_table('fixture_widget'"]


def test_a_foreign_key_to_user_by_name_is_refused_with_the_form_that_works(migrated: Database, tmp_path: Path) -> None:
    by_name = NEW_MODEL.replace(
        "from sqlalchemy.orm", "from sqlalchemy import ForeignKey\nfrom sqlalchemy.orm"
    ).replace("    name: Mapped[str]", '    owner: Mapped[str] = mapped_column(ForeignKey("user.id"))')

    code, output, operations = autogenerate_in_copy(migrated, tmp_path, extra_model=by_name)

    assert code != 0 and operations == []
    assert "fixture_widget.owner refers to 'user.id'" in output
    assert "ForeignKey(user_table.c.id)" in output
    assert "Traceback" not in output


def test_a_backend_table_whose_model_was_deleted_is_proposed_for_drop(migrated: Database) -> None:
    migrated.query(f"CREATE TABLE {BACKEND_SCHEMA}.legacy (id int PRIMARY KEY)")

    result = migrated.backend("check")

    assert result.code != 0
    assert "remove_table" in result.output and "legacy" in result.output
    for frontend_table in ("session", "account", "verification"):
        assert frontend_table not in result.output


def test_tables_outside_the_backend_schema_are_never_proposed(migrated: Database) -> None:
    migrated.query("CREATE TABLE public.frontend_only (id int PRIMARY KEY)")
    migrated.query('ALTER TABLE "user" ADD COLUMN nickname text')

    result = migrated.backend("check")

    assert result.code == 0, result.output


def test_drizzle_migrations_leave_the_backend_schema_alone(clone: Clone, database: Database) -> None:
    env = {"DATABASE_URL": database.url_string(), "ENV_FILE": "/dev/null"}
    table = add_backend_table(clone)
    assert clone.make("migrate", **env).code == 0
    append_drizzle_migration(clone, "user_fixture_role", 'ALTER TABLE "user" ADD COLUMN "fixture_role" text;')
    insert_user(database, "u1")
    database.query(f"INSERT INTO {table} (user_id, title) VALUES ('u1', 'kept')")
    backend_before = database.query(BACKEND_SCHEMA_OBJECTS)

    result = clone.make("migrate-frontend", **env)

    assert result.code == 0, result.output
    assert database.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'fixture_role'") == [
        (1,)
    ]
    assert database.query(BACKEND_SCHEMA_OBJECTS) == backend_before
    assert database.query(f"SELECT title FROM {table}") == [("kept",)]


def test_drizzle_introspection_sees_only_the_frontend_tables(migrated: Database, tmp_path: Path) -> None:
    """`drizzle-kit pull` reads the database the way `push` would: with the real
    drizzle.config.ts, neither the backend's tables nor alembic_version are in its view."""
    config = tmp_path / "pull.config.ts"
    config.write_text(
        f'import base from "{REPO_ROOT / SYSTEMS["FRONTEND_DIR"] / "drizzle.config.ts"}";\n'
        f'export default {{ ...base, out: "{tmp_path / "pulled"}" }};\n'
    )

    result = run(
        [str(NODE_BIN / "drizzle-kit"), "pull", "--config", str(config)],
        database_url=migrated.url_string(drivername="postgresql"),
        cwd=REPO_ROOT / SYSTEMS["FRONTEND_DIR"],
        PATH=f"{REPO_ROOT / 'nextjs' / 'node_modules' / '.bin'}:{os.environ['PATH']}",
    )

    assert result.code == 0, result.output
    pulled = (tmp_path / "pulled" / "schema.ts").read_text()
    assert {f"public.{name}" for name in re.findall(r'pgTable\("(\w+)"', pulled)} == frontend_tables()
