"""No check of `make migrate-check` misfires on a spelling the server normalises.

A migration may write ``pg_catalog.gen_random_uuid()`` (the Better Auth CLI does), ``CURRENT_TIMESTAMP``,
``'x'::text``, ``DEFAULT now() NOT NULL``: PostgreSQL stores its own expression and renders it back its
own way. The checks that read the database (38, the frontend's tables; 31, the backend's models through
Alembic's compare) compare what the server made of both sides, so such a history passes every check,
and a change made by hand is still named. (The other checks, 30 and 32-37, read files and the
bookkeeping rows, never an expression of the database: the same histories pass them too.)
"""

from __future__ import annotations

import pytest

from conftest import Clone, alembic_head
from testing.database import Database
from testing.systems import BACKEND_SCHEMA, declared

pytestmark = pytest.mark.full

# A user's own table in lib/schema.ts, its defaults in the spellings the server rewrites.
SPELLED_TABLE = """
import { sql } from "drizzle-orm";
import { boolean, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const fixtureSpelled = pgTable("fixture_spelled", {
  id: uuid("id").default(sql`pg_catalog.gen_random_uuid()`).primaryKey(),
  label: text("label").default(sql`'x'::text`).notNull(),
  flag: boolean("flag").default(false).notNull(),
  createdAt: timestamp("created_at").default(sql`CURRENT_TIMESTAMP`).notNull(),
  updatedAt: timestamp("updated_at").defaultNow().notNull(),
  "Quoted": text("Quoted Name"),
});
"""

# A backend revision spelling its defaults otherwise than the model (func.now(), a plain "").
SPELLED_REVISION = f"""    op.create_table(
        "fixture_spelled",
        sa.Column("id", sa.Uuid(), server_default=sa.text("pg_catalog.gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("label", sa.Text(), server_default=sa.text("'x'::text"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="{BACKEND_SCHEMA}",
    )"""
SPELLED_MODEL = '''"""A fixture table, its defaults spelled otherwise than in its revision."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class FixtureSpelled(Base):
    __tablename__ = "fixture_spelled"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=func.gen_random_uuid())
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    label: Mapped[str] = mapped_column(Text, server_default="x")
'''


def frontend(clone: Clone):
    return clone.root / declared(clone.root)["FRONTEND_DIR"]


def make(clone: Clone, database: Database, target: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")


def with_spelled_frontend_table(clone: Clone) -> None:
    schema = frontend(clone) / "lib" / "schema.ts"
    schema.write_text(schema.read_text() + SPELLED_TABLE)
    generated = clone.make("migration-frontend", ENV_FILE="/dev/null", name="spelled")
    assert generated.code == 0, generated.output
    sql = next(frontend(clone).glob("drizzle/*_spelled.sql")).read_text()
    assert "pg_catalog.gen_random_uuid()" in sql and "CURRENT_TIMESTAMP" in sql and "DEFAULT now() NOT NULL" in sql


def test_a_frontend_history_in_spellings_the_server_rewrites_passes_every_check(
    clone: Clone, database: Database
) -> None:
    with_spelled_frontend_table(clone)

    migrate = make(clone, database, "migrate")
    check = make(clone, database, "migrate-check")
    again = make(clone, database, "migrate")

    assert migrate.code == 0, migrate.output
    assert check.code == 0, check.output
    assert again.code == 0, again.output
    defaults = database.query(
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.fixture_spelled'::regclass"
    )
    assert ("gen_random_uuid()",) in defaults  # the server's spelling, not the migration's


def test_a_column_added_by_hand_beside_them_is_still_drift_38(clone: Clone, database: Database) -> None:
    with_spelled_frontend_table(clone)
    assert make(clone, database, "migrate").code == 0
    database.query('ALTER TABLE "fixture_spelled" ADD COLUMN stray text')

    check = make(clone, database, "migrate-check")

    assert "Error 38" in check.output, check.output
    assert "column fixture_spelled.stray: in the database only" in check.output
    assert "column fixture_spelled.id" not in check.output


def with_spelled_backend_table(clone: Clone) -> None:
    backend = clone.root / declared(clone.root)["BACKEND_DIR"]
    (backend / "models" / "fixture_spelled.py").write_text(SPELLED_MODEL)
    init = backend / "models" / "__init__.py"
    init.write_text(init.read_text() + "\nfrom models.fixture_spelled import FixtureSpelled  # noqa: E402, F401\n")
    path = clone.add_alembic_revision("f1x7a0000051", alembic_head(clone.root), SPELLED_REVISION)
    path.write_text(
        path.read_text().replace("from alembic import op", "import sqlalchemy as sa\nfrom alembic import op")
    )


def test_a_backend_revision_in_other_spellings_than_its_model_is_no_model_drift(
    clone: Clone, database: Database
) -> None:
    with_spelled_backend_table(clone)

    migrate = make(clone, database, "migrate")
    check = make(clone, database, "migrate-check")

    assert migrate.code == 0, migrate.output
    assert check.code == 0, check.output
    assert f"{BACKEND_SCHEMA}.fixture_spelled" in database.tables()


def test_a_column_added_by_hand_beside_them_is_still_model_drift_31(clone: Clone, database: Database) -> None:
    with_spelled_backend_table(clone)
    assert make(clone, database, "migrate").code == 0
    database.query(f"ALTER TABLE {BACKEND_SCHEMA}.fixture_spelled ADD COLUMN stray text")

    check = make(clone, database, "migrate-check")

    assert "Error 31" in check.output, check.output
    assert "remove_column fixture_spelled" in check.output, check.output
