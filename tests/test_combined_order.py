"""One order across both systems' migrations (scripts/history/order.py): recorded when a migration is
created, applied by `make migrate`, enforced by `make migrate-backend` / `migrate-frontend`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Clone, alembic_head, append_drizzle_migration, drizzle_tags, frontend_migrations
from testing.database import Database
from testing.systems import BACKEND_SCHEMA, declared

# Tooling behaviour on copies of the repository: the full tier (make test-all).
pytestmark = pytest.mark.full

# A backend migration written against a frontend state that a later frontend migration changed:
# a backend view over a frontend column, dropped before the frontend renames the column, then
# made again over the new name. From empty, "all frontend, then all backend" cannot replay it.
TEAM = 'CREATE TABLE "team" ("id" text PRIMARY KEY, "name" text);'
RENAME = 'ALTER TABLE "team" RENAME COLUMN "name" TO "title";'
VIEW_OVER_NAME = f"    op.execute('CREATE VIEW {BACKEND_SCHEMA}.team_names AS SELECT name FROM public.team')"
DROP_VIEW = f"    op.execute('DROP VIEW {BACKEND_SCHEMA}.team_names')"
VIEW_OVER_TITLE = f"    op.execute('CREATE VIEW {BACKEND_SCHEMA}.team_names AS SELECT title AS name FROM public.team')"


def make(clone: Clone, database: Database, target: str, **env: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def add_revision(clone: Clone, revision: str, body: str, after_frontend: str) -> Path:
    """A backend revision on the head, marked as `make migration-backend` marks it."""
    path = clone.add_alembic_revision(revision, alembic_head(clone.root), body)
    path.write_text(
        path.read_text().replace("depends_on = None\n", f'depends_on = None\nafter_frontend = "{after_frontend}"\n')
    )
    return path


def team_table(title: str) -> dict:
    """The snapshot drizzle-kit would write for "team" (id, and ``title``'s column)."""
    column = {"name": title, "type": "text", "primaryKey": False, "notNull": False}
    return {
        "name": "team",
        "schema": "",
        "columns": {"id": {"name": "id", "type": "text", "primaryKey": True, "notNull": True}, title: column},
        "indexes": {},
        "foreignKeys": {},
        "compositePrimaryKeys": {},
        "uniqueConstraints": {},
        "policies": {},
        "checkConstraints": {},
        "isRLSEnabled": False,
    }


SNAPSHOT_TABLES = {"team": team_table("name"), "team_title": team_table("title")}
TEAM_IN_SCHEMA = """
import { pgTable, text } from "drizzle-orm/pg-core";

export const team = pgTable("team", { id: text("id").primaryKey(), name: text("name") });
"""


def declare_team(clone: Clone, name: str) -> None:
    """lib/schema.ts as the migration's author left it."""
    schema = clone.root / declared(clone.root)["FRONTEND_DIR"] / "lib" / "schema.ts"
    if name == "team":
        schema.write_text(schema.read_text() + TEAM_IN_SCHEMA)
    else:
        schema.write_text(schema.read_text().replace('name: text("name")', 'title: text("title")'))


def add_frontend(clone: Clone, name: str, sql: str, after_backend: str | None) -> str:
    """A frontend migration, marked as `make migration-frontend` marks it, with the snapshot
    drizzle-kit would have written beside it (the drift check compares the database with it)."""
    marker = f"-- after_backend: {after_backend}\n" if after_backend else ""
    tag = append_drizzle_migration(clone, name, marker + sql)
    snapshot_file = frontend_migrations(clone.root) / "meta" / f"{tag[:4]}_snapshot.json"
    snapshot = json.loads(snapshot_file.read_text())
    snapshot["tables"]["public.team"] = SNAPSHOT_TABLES[name]
    snapshot_file.write_text(json.dumps(snapshot, indent=2))
    declare_team(clone, name)
    return tag


def write_history(clone: Clone, database: Database | None = None) -> list[str]:
    """The five migrations, one at a time; with ``database``, `make migrate` after each (the incremental path)."""
    steps = [
        lambda: add_frontend(clone, "team", TEAM, alembic_head(clone.root)),
        lambda: add_revision(clone, "b1b1b1b1b1b1", VIEW_OVER_NAME, drizzle_tags(clone.root)[-1]),
        lambda: add_revision(clone, "b2b2b2b2b2b2", DROP_VIEW, drizzle_tags(clone.root)[-1]),
        lambda: add_frontend(clone, "team_title", RENAME, alembic_head(clone.root)),
        lambda: add_revision(clone, "b3b3b3b3b3b3", VIEW_OVER_TITLE, drizzle_tags(clone.root)[-1]),
    ]
    outputs = []
    for step in steps:
        step()
        if database is not None:
            result = make(clone, database, "migrate")
            assert result.code == 0, result.output
            outputs.append(result.output)
    return outputs


def test_an_empty_database_replays_both_histories_in_their_order_to_the_incremental_schema(
    clone: Clone, database: Database, reference: Database
) -> None:
    write_history(clone, database)  # the incremental path, as the migrations were written

    result = make(clone, reference, "migrate")  # from empty

    assert result.code == 0, result.output
    assert reference.schema_dump().replace(reference.name, "DB") == database.schema_dump().replace(database.name, "DB")
    assert reference.query(f"SELECT count(*) FROM {BACKEND_SCHEMA}.team_names") == [(0,)]


def test_the_raw_tools_in_the_old_fixed_order_cannot_replay_it(clone: Clone, database: Database) -> None:
    write_history(clone)
    folders = declared(clone.root)
    url = {"DATABASE_URL": database.url_string()}

    frontend = clone.run("bash", "-c", f"cd {folders['FRONTEND_DIR']} && npx drizzle-kit migrate", **url)
    backend = clone.run("bash", "-c", f"cd {folders['BACKEND_DIR']} && uv run --frozen alembic upgrade head", **url)

    assert frontend.code == 0, frontend.output
    assert backend.code != 0
    assert 'column "name" does not exist' in backend.output
    assert database.query(f"SELECT to_regclass('{BACKEND_SCHEMA}.team_names')") == [(None,)]


def test_migrate_backend_refuses_a_revision_whose_frontend_migration_is_pending(
    clone: Clone, database: Database
) -> None:
    assert make(clone, database, "migrate").code == 0
    team = add_frontend(clone, "team", TEAM, alembic_head(clone.root))
    path = add_revision(clone, "b1b1b1b1b1b1", VIEW_OVER_NAME, team)

    result = make(clone, database, "migrate-backend")

    assert "Error 40" in result.output, result.output
    assert f"{path.relative_to(clone.root)} was written after frontend migration {team}" in result.output
    assert "make migrate" in result.output
    assert database.query(f"SELECT to_regclass('{BACKEND_SCHEMA}.team_names')") == [(None,)]


def test_migrate_frontend_refuses_a_migration_whose_backend_revision_is_pending(
    clone: Clone, database: Database
) -> None:
    team = add_frontend(clone, "team", TEAM, alembic_head(clone.root))
    add_revision(clone, "b1b1b1b1b1b1", VIEW_OVER_NAME, team)
    assert make(clone, database, "migrate").code == 0
    add_revision(clone, "b2b2b2b2b2b2", DROP_VIEW, team)
    title = add_frontend(clone, "team_title", RENAME, "b2b2b2b2b2b2")

    result = make(clone, database, "migrate-frontend")

    assert "Error 40" in result.output, result.output
    assert f"{title}.sql was written after backend migration b2b2b2b2b2b2" in result.output
    assert database.query(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'team' AND column_name = 'title'"
    ) == [(0,)]


def test_migrate_status_shows_the_combined_order_in_text_and_json(clone: Clone, database: Database) -> None:
    write_history(clone)

    text = make(clone, database, "migrate-status")
    lines = make(clone, database, "migrate-status", FORMAT="json").output.splitlines()  # with stderr's lines
    document = json.loads("\n".join(lines[lines.index("{") : lines.index("}") + 1]))

    order = [(item["system"], item["id"]) for item in document["order"]]
    assert order[-5:] == [
        ("frontend", drizzle_tags(clone.root)[-2]),
        ("backend", "b1b1b1b1b1b1"),
        ("backend", "b2b2b2b2b2b2"),
        ("frontend", drizzle_tags(clone.root)[-1]),
        ("backend", "b3b3b3b3b3b3"),
    ]
    shown = text.output[text.output.index("combined order") :].splitlines()
    listed = shown[1 : shown.index("")]
    assert [line.split()[1:3] for line in listed[-5:]] == [list(pair) for pair in order[-5:]]


def test_a_marker_naming_a_missing_migration_is_refused(clone: Clone, database: Database) -> None:
    add_revision(clone, "b1b1b1b1b1b1", "    pass", "0099_not_in_this_branch")

    result = make(clone, database, "migrate-check")

    assert "Error 39" in result.output, result.output
    assert "frontend migration 0099_not_in_this_branch" in result.output


def test_markers_that_contradict_each_other_are_refused(clone: Clone, database: Database) -> None:
    team = add_frontend(clone, "team", TEAM, "b1b1b1b1b1b1")  # after a revision that is after it
    add_revision(clone, "b1b1b1b1b1b1", "    pass", team)

    result = make(clone, database, "migrate-check")

    assert "Error 39" in result.output, result.output
    assert "contradict each other" in result.output


TEAM_TABLE = """
import { pgTable, text } from "drizzle-orm/pg-core";

export const team = pgTable("team", { id: text("id").primaryKey() });
"""
TAG_MODEL = """from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Tag(Base):
    __tablename__ = "tag"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
"""


def test_the_generators_record_each_new_migration_s_place(clone: Clone, database: Database) -> None:
    folders = declared(clone.root)
    backend_head = alembic_head(clone.root)
    schema = clone.root / folders["FRONTEND_DIR"] / "lib" / "schema.ts"
    schema.write_text(schema.read_text() + TEAM_TABLE)

    frontend = make(clone, database, "migration-frontend", name="team")
    newest = drizzle_tags(clone.root)[-1]
    assert make(clone, database, "migrate").code == 0
    models = clone.root / folders["BACKEND_DIR"] / "models"
    (models / "tag.py").write_text(TAG_MODEL)
    with (models / "__init__.py").open("a") as init:
        init.write("from models.tag import Tag  # noqa: E402,F401\n")
    backend = make(clone, database, "migration-backend", m="add tags")

    assert frontend.code == 0 and backend.code == 0, frontend.output + backend.output
    sql = (clone.root / folders["FRONTEND_DIR"] / folders["FRONTEND_MIGRATIONS_DIR"] / f"{newest}.sql").read_text()
    if backend_head:  # the sample's revision, or the user's: a new frontend migration names it
        assert sql.startswith(f"-- after_backend: {backend_head}\n"), sql
    revision = next((clone.root / folders["BACKEND_DIR"]).glob("alembic/versions/*_add_tags.py")).read_text()
    assert f'after_frontend = "{newest}"' in revision
