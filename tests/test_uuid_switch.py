"""docs/migrations.md, "Switching Better Auth to uuid ids on a database with users", followed on a copy of
the repository whose database has users signed up through Better Auth and a backend row of each.

The history it writes: lib/auth.ts's ``generateId: "uuid"``, make auth-schema; a frontend migration
adding each user's new uuid; a backend revision moving its own key onto it; the frontend migration
make migration-frontend generates, its SQL replaced by the swap; a backend revision finishing its
side. drizzle-kit's generated ``SET DATA TYPE uuid`` is proven unable to apply. Then: make migrate
and make migrate-check green on the database with users (sessions, accounts and the backend's rows
still joined to their users) and on a fresh one, and the generic tests (tests/test_pytest_alembic.py,
tests/test_histories.py) green in the copy.
"""

# ruff: noqa: E501  (SQL as drizzle-kit writes it: one statement a line)
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from conftest import Clone, alembic_head, append_drizzle_migration, backend_migrations, copy_of_repository
from testing.auth import sign_up
from testing.database import Database, database_of_its_own
from testing.systems import BACKEND_SCHEMA, declared

pytestmark = pytest.mark.full

NEW_IDS = """ALTER TABLE "user" ADD COLUMN "new_id" uuid DEFAULT pg_catalog.gen_random_uuid() NOT NULL;
"""

# The swap: session and account follow their users to the new ids; nothing refers to the other tables' ids.
SWAP = """ALTER TABLE "session" ADD COLUMN "new_user_id" uuid;--> statement-breakpoint
UPDATE "session" SET "new_user_id" = "user"."new_id" FROM "user" WHERE "session"."user_id" = "user"."id";--> statement-breakpoint
ALTER TABLE "account" ADD COLUMN "new_user_id" uuid;--> statement-breakpoint
UPDATE "account" SET "new_user_id" = "user"."new_id" FROM "user" WHERE "account"."user_id" = "user"."id";--> statement-breakpoint
ALTER TABLE "session" DROP CONSTRAINT "session_user_id_user_id_fk";--> statement-breakpoint
ALTER TABLE "account" DROP CONSTRAINT "account_user_id_user_id_fk";--> statement-breakpoint
ALTER TABLE "session" DROP COLUMN "user_id";--> statement-breakpoint
ALTER TABLE "account" DROP COLUMN "user_id";--> statement-breakpoint
ALTER TABLE "session" RENAME COLUMN "new_user_id" TO "user_id";--> statement-breakpoint
ALTER TABLE "account" RENAME COLUMN "new_user_id" TO "user_id";--> statement-breakpoint
ALTER TABLE "session" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "account" ALTER COLUMN "user_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "user" DROP CONSTRAINT "user_pkey";--> statement-breakpoint
ALTER TABLE "user" DROP COLUMN "id";--> statement-breakpoint
ALTER TABLE "user" RENAME COLUMN "new_id" TO "id";--> statement-breakpoint
ALTER TABLE "user" ADD CONSTRAINT "user_pkey" PRIMARY KEY ("id");--> statement-breakpoint
ALTER TABLE "session" ALTER COLUMN "id" SET DATA TYPE uuid USING pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "session" ALTER COLUMN "id" SET DEFAULT pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "account" ALTER COLUMN "id" SET DATA TYPE uuid USING pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "account" ALTER COLUMN "id" SET DEFAULT pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "verification" ALTER COLUMN "id" SET DATA TYPE uuid USING pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "verification" ALTER COLUMN "id" SET DEFAULT pg_catalog.gen_random_uuid();--> statement-breakpoint
ALTER TABLE "session" ADD CONSTRAINT "session_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account" ADD CONSTRAINT "account_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "session_userId_idx" ON "session" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "account_userId_idx" ON "account" USING btree ("user_id");
"""

# The backend's side, before the swap: its key off the old id, a column for the new one, filled.
BACKEND_BEFORE = f'''"""note: off the user's old id, onto its new one"""

import sqlalchemy as sa
from alembic import op

revision = "a0a0a0a0a001"
down_revision = {{down!r}}
branch_labels = None
depends_on = None
after_frontend = {{after!r}}


def upgrade() -> None:
    op.drop_constraint(op.f("fk_note_user_id_user"), "note", schema="{BACKEND_SCHEMA}", type_="foreignkey")
    op.add_column("note", sa.Column("user_uuid", sa.Uuid(), nullable=True), schema="{BACKEND_SCHEMA}")
    op.execute('UPDATE {BACKEND_SCHEMA}.note SET user_uuid = u.new_id FROM public."user" u WHERE u.id = {BACKEND_SCHEMA}.note.user_id')


def downgrade() -> None:
    op.drop_column("note", "user_uuid", schema="{BACKEND_SCHEMA}")
    op.create_foreign_key(
        op.f("fk_note_user_id_user"), "note", "user", ["user_id"], ["id"], source_schema="{BACKEND_SCHEMA}", ondelete="CASCADE"
    )
'''

# ... and after it: its column takes the new ids, its key points at them again.
BACKEND_AFTER = f'''"""note: user_id is the user's uuid"""

import sqlalchemy as sa
from alembic import op

revision = "a0a0a0a0a002"
down_revision = "a0a0a0a0a001"
branch_labels = None
depends_on = None
after_frontend = {{after!r}}


def upgrade() -> None:
    op.execute("ALTER TABLE {BACKEND_SCHEMA}.note ALTER COLUMN user_id TYPE uuid USING user_uuid")
    op.drop_column("note", "user_uuid", schema="{BACKEND_SCHEMA}")
    op.create_foreign_key(
        op.f("fk_note_user_id_user"), "note", "user", ["user_id"], ["id"], source_schema="{BACKEND_SCHEMA}", ondelete="CASCADE"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_note_user_id_user"), "note", schema="{BACKEND_SCHEMA}", type_="foreignkey")
    op.add_column("note", sa.Column("user_uuid", sa.Uuid(), nullable=True), schema="{BACKEND_SCHEMA}")
    op.execute("UPDATE {BACKEND_SCHEMA}.note SET user_uuid = user_id")
    op.execute("ALTER TABLE {BACKEND_SCHEMA}.note ALTER COLUMN user_id TYPE text USING user_id::text")
'''

JOINED = f"""
SELECT u.email, count(DISTINCT s.token), count(DISTINCT a.provider_id), count(DISTINCT n.id)
  FROM "user" u JOIN "session" s ON s.user_id = u.id JOIN "account" a ON a.user_id = u.id
  JOIN {BACKEND_SCHEMA}.note n ON n.user_id = u.id
 GROUP BY u.email ORDER BY u.email
"""


@dataclass(frozen=True)
class History:
    clone: Clone
    generated_sql: str  # what make migration-frontend wrote, before the recipe replaced it
    users: Database  # migrated before the switch, with users
    joined_before: list[tuple]


def make(clone: Clone, database: Database, *targets: str):
    return clone.make(*targets, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null")


def write_uuid_history(clone: Clone) -> str:
    """The history docs/migrations.md's recipe writes; returns drizzle-kit's own SQL for the switch."""
    frontend = clone.root / declared(clone.root)["FRONTEND_DIR"]
    auth = frontend / "lib" / "auth.ts"
    auth.write_text(
        re.sub(
            r"betterAuth\(\{\n", 'betterAuth({\n  advanced: { database: { generateId: "uuid" } },\n', auth.read_text()
        )
    )
    assert clone.make("auth-schema", ENV_FILE="/dev/null").code == 0
    new_ids = append_drizzle_migration(
        clone, "uuid_new_ids", f"-- after_backend: {alembic_head(clone.root)}\n{NEW_IDS}"
    )
    before = backend_migrations(clone.root) / "a0a0a0a0a001_note_user_uuid.py"
    before.write_text(BACKEND_BEFORE.format(down=alembic_head(clone.root), after=new_ids))
    generated = clone.make("migration-frontend", ENV_FILE="/dev/null", name="uuid_ids")
    assert generated.code == 0, generated.output
    path = next((frontend / declared(clone.root)["FRONTEND_MIGRATIONS_DIR"]).glob("*_uuid_ids.sql"))
    generated_sql = path.read_text()
    marker = generated_sql.splitlines()[0]
    assert marker == "-- after_backend: a0a0a0a0a001", marker
    path.write_text(f"{marker}\n{SWAP}")
    after = backend_migrations(clone.root) / "a0a0a0a0a002_note_user_id_uuid.py"
    after.write_text(BACKEND_AFTER.format(after=path.stem))
    models = clone.root / declared(clone.root)["BACKEND_DIR"] / "models"
    note = models / "note.py"
    note.write_text(
        note.read_text()
        .replace("from datetime import datetime\n", "import uuid\nfrom datetime import datetime\n")
        .replace("Identity, Text, func", "Identity, Text, Uuid, func")
        .replace("user_id: Mapped[str] = mapped_column(Text,", "user_id: Mapped[uuid.UUID] = mapped_column(Uuid,")
    )
    auth_models = models / "auth.py"
    auth_models.write_text(
        auth_models.read_text()
        .replace("Table, Text\n", "Table, Text, Uuid\n")
        .replace(
            'Column("id", Text, primary_key=True),\n    Column("email"',
            'Column("id", Uuid, primary_key=True),\n    Column("email"',
        )
        .replace('Column("user_id", Text, ForeignKey', 'Column("user_id", Uuid, ForeignKey')
    )
    return generated_sql


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    clone = copy_of_repository(tmp_path_factory.mktemp("uuid") / "repo")
    try:
        with database_of_its_own("uuid_users") as users:
            assert make(clone, users, "migrate").code == 0
            sign_up(users, "ada@example.com", "bob@example.com")
            users.query(f"INSERT INTO {BACKEND_SCHEMA}.note (user_id, title) SELECT id, 'hello ' || name FROM \"user\"")
            joined_before = users.query(JOINED)
            generated_sql = write_uuid_history(clone)
            yield History(clone, generated_sql, users, joined_before)
    finally:
        clone.tear_down()


def statements(sql: str) -> list[str]:
    """The statements of a Drizzle migration, its comment lines (the order marker) left out."""
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("-- "))
    return [s.strip() for s in code.split("--> statement-breakpoint") if s.strip()]


def test_drizzle_kits_generated_switch_cannot_apply(history: History, migrated: Database) -> None:
    account_id = 'ALTER TABLE "account" ALTER COLUMN "id" SET DATA TYPE uuid'
    generated = next(s for s in statements(history.generated_sql) if s.startswith(account_id))
    sign_up(migrated, "eve@example.com")

    with pytest.raises(psycopg.errors.DatatypeMismatch):  # 42804: text has no implicit cast to uuid
        migrated.query(generated)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):  # 22P02: Better Auth's ids are no uuids
        migrated.query(generated.rstrip(";") + ' USING "id"::uuid')


def test_the_database_with_users_migrates_and_checks_green(history: History) -> None:
    migrate = make(history.clone, history.users, "migrate")
    check = make(history.clone, history.users, "migrate-check")
    again = make(history.clone, history.users, "migrate")

    assert migrate.code == 0, migrate.output
    assert check.code == 0, check.output
    assert again.code == 0, again.output
    assert history.users.query(JOINED) == history.joined_before
    types = history.users.query(
        "SELECT table_name, data_type FROM information_schema.columns WHERE column_name = 'user_id' "
        "AND table_name IN ('session', 'account', 'note') ORDER BY 1"
    )
    assert types == [("account", "uuid"), ("note", "uuid"), ("session", "uuid")]


def test_a_fresh_database_replays_the_switch_green(history: History, database: Database) -> None:
    migrate = make(history.clone, database, "migrate")
    check = make(history.clone, database, "migrate-check")

    assert migrate.code == 0, migrate.output
    assert check.code == 0, check.output


def test_the_generic_tests_pass_on_the_switched_history(history: History) -> None:
    result = history.clone.make("test", PYTEST_ARGS="tests/test_pytest_alembic.py tests/test_histories.py")

    assert result.code == 0, result.output[-4000:]
