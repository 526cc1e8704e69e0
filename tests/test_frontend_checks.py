"""The frontend's checks in `make migrate-check` (and so `make migrate`): Better Auth's config ahead of
auth-schema.ts (36), the Drizzle schema ahead of its migrations (37), the frontend's tables drifted from
what the applied migrations produce (38). Each is proven able to fail and to pass, on copies of the
repository, with the real Better Auth CLI and drizzle-kit."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import Clone
from testing.database import Database
from testing.systems import BACKEND_SCHEMA, declared

# Tooling behaviour on copies of the repository, with Node: the full tier (make test-all).
pytestmark = pytest.mark.full

# A user's own table in lib/schema.ts: every kind of column, key and index introspection reads back its own way.
OWN_TABLE = """
import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, numeric, pgEnum, pgTable, serial } from "drizzle-orm/pg-core";
import { uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
import { user as owner } from "../auth-schema";

export const fixtureMood = pgEnum("fixture_mood", ["sad", "ok", "happy"]);

export const fixtureProject = pgTable(
  "fixture_project",
  {
    id: uuid("id").defaultRandom().primaryKey(),
    seq: serial("seq"),
    ownerId: text("owner_id").notNull().references(() => owner.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 120 }).notNull(),
    budget: numeric("budget", { precision: 10, scale: 2 }).default("0"),
    mood: fixtureMood("mood").default("ok").notNull(),
    tags: text("tags").array().default(sql`'{}'::text[]`),
    meta: jsonb("meta").default({}),
    stars: integer("stars").generatedAlwaysAsIdentity(),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [
    index("fixture_project_owner_idx").on(t.ownerId, t.createdAt.desc()),
    uniqueIndex("fixture_project_name_idx").on(sql`lower(${t.name})`),
    check("fixture_budget_positive", sql`${t.budget} >= 0`),
  ],
);
"""


def frontend(clone: Clone) -> Path:
    return clone.root / declared(clone.root)["FRONTEND_DIR"]


def check(clone: Clone, database: Database, target: str = "migrate-check", **env: str):
    return clone.make(target, DATABASE_URL=database.url_string(), ENV_FILE="/dev/null", **env)


def offline(clone: Clone, target: str, **env: str):
    """A target that reads no database (make auth-schema, make migration-frontend); it must succeed."""
    result = clone.make(target, ENV_FILE="/dev/null", **env)
    assert result.code == 0, result.output
    return result


def enable_username_plugin(clone: Clone) -> None:
    """What docs/your-app.md says to do for a plugin: add it to lib/auth.ts (here without regenerating)."""
    config = frontend(clone) / "lib" / "auth.ts"
    text = config.read_text()
    text = 'import { username } from "better-auth/plugins";\n' + text
    config.write_text(re.sub(r"betterAuth\(\{\n", "betterAuth({\n  plugins: [username()],\n", text, count=1))


def add_own_table(clone: Clone) -> None:
    schema = frontend(clone) / "lib" / "schema.ts"
    imports = 'import { text, timestamp } from "drizzle-orm/pg-core";\n'
    schema.write_text(imports + schema.read_text() + OWN_TABLE)


def columns(database: Database, table: str) -> set[str]:
    rows = database.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        declared()["FRONTEND_SCHEMA"],
        table,
    )
    return {row[0] for row in rows}


def test_the_three_checks_pass_on_an_unchanged_project(clone: Clone, migrated: Database) -> None:
    result = check(clone, migrated)

    assert result.code == 0, result.output
    assert "auth-schema.ts and the Drizzle migrations up to date, the frontend's tables as migrated" in result.output


def test_a_plugin_enabled_without_make_auth_schema_fails_with_36_naming_its_columns(
    clone: Clone, migrated: Database
) -> None:
    enable_username_plugin(clone)

    result = check(clone, migrated)

    assert "Error 36" in result.output
    assert "Better Auth's config (nextjs/lib/auth.ts) is ahead of nextjs/auth-schema.ts" in result.output
    assert "adds user.username; adds user.display_username" in result.output
    assert "make auth-schema, then make migration-frontend, then make migrate" in result.output


def test_after_make_auth_schema_the_missing_migration_fails_with_37_naming_its_columns(
    clone: Clone, migrated: Database
) -> None:
    enable_username_plugin(clone)
    offline(clone, "auth-schema")

    result = check(clone, migrated)

    assert "Error 37" in result.output and "Error 36" not in result.output, result.output
    assert "drizzle-kit generate would write add column user.username; add column user.display_username" in (
        result.output
    )
    assert "make migration-frontend" in result.output
    assert "username" not in columns(migrated, "user")


def test_the_plugin_workflow_ends_with_its_columns_migrated_and_every_check_passing(
    clone: Clone, migrated: Database
) -> None:
    enable_username_plugin(clone)
    offline(clone, "auth-schema")
    offline(clone, "migration-frontend", name="username_plugin")

    migrate = check(clone, migrated, target="migrate")
    result = check(clone, migrated)

    assert migrate.code == 0, migrate.output
    assert {"username", "display_username"} <= columns(migrated, "user")
    assert result.code == 0, result.output


def test_generating_writes_nothing_into_the_repository(clone: Clone, migrated: Database) -> None:
    enable_username_plugin(clone)
    before = {p: p.read_bytes() for p in frontend(clone).rglob("*") if p.is_file() and "node_modules" not in p.parts}

    check(clone, migrated)

    after = {p: p.read_bytes() for p in frontend(clone).rglob("*") if p.is_file() and "node_modules" not in p.parts}
    assert after == before


def test_an_auth_schema_that_is_only_reformatted_passes(clone: Clone, migrated: Database) -> None:
    generated = frontend(clone) / "auth-schema.ts"
    biome = subprocess.run(
        [str(frontend(clone) / "node_modules" / ".bin" / "biome"), "format", "--stdin-file-path=reformatted.ts"],
        input=generated.read_text().replace('"', "'"),
        cwd=frontend(clone),
        capture_output=True,
        text=True,
        check=True,
    )
    reformatted = biome.stdout.replace('"', "'")  # as another formatter (Prettier's singleQuote) would write it
    assert reformatted != generated.read_text()
    generated.write_text(reformatted)

    result = check(clone, migrated)

    assert result.code == 0, result.output


def test_a_column_removed_from_auth_schema_by_hand_fails_with_36(clone: Clone, migrated: Database) -> None:
    generated = frontend(clone) / "auth-schema.ts"
    generated.write_text(re.sub(r'\n  image: text\("image"\),', "", generated.read_text(), count=1))

    result = check(clone, migrated)

    assert "Error 36" in result.output
    assert "adds user.image" in result.output


def test_a_users_own_table_without_its_migration_fails_with_37_naming_it(clone: Clone, migrated: Database) -> None:
    add_own_table(clone)

    result = check(clone, migrated)

    assert "Error 37" in result.output
    assert "create type fixture_mood; create table fixture_project" in result.output


def test_a_users_own_table_migrated_passes_every_check(clone: Clone, migrated: Database) -> None:
    add_own_table(clone)
    offline(clone, "migration-frontend", name="own_table")

    pending = check(clone, migrated)
    migrate = check(clone, migrated, target="migrate")
    result = check(clone, migrated)

    assert pending.code == 0, pending.output  # a pending migration is no drift
    assert migrate.code == 0, migrate.output
    assert "fixture_project" in {t.split(".")[-1] for t in migrated.tables()}
    assert result.code == 0, result.output


def test_a_column_added_by_hand_fails_with_38_naming_it(clone: Clone, migrated: Database) -> None:
    migrated.query('ALTER TABLE "user" ADD COLUMN stray text')

    result = check(clone, migrated)

    assert "Error 38" in result.output
    assert "differs from what the applied migrations" in result.output
    assert "column user.stray: in the database only" in result.output
    assert "if the migrations are right" in result.output and "if the database is right" in result.output


def test_an_index_dropped_and_a_type_changed_by_hand_fail_with_38_naming_them(clone: Clone, migrated: Database) -> None:
    migrated.query('DROP INDEX "session_userId_idx"')
    migrated.query('ALTER TABLE "verification" ALTER COLUMN value TYPE varchar(500)')

    result = check(clone, migrated)

    assert "Error 38" in result.output
    assert "index session_userId_idx on session: missing from the database" in result.output
    assert (
        "column verification.value: type is character varying(500) in the database, text in the migrations"
        in result.output
    )


def test_drizzle_kit_push_is_drift_38(clone: Clone, migrated: Database) -> None:
    schema = frontend(clone) / "lib" / "schema.ts"
    schema.write_text(
        'import { pgTable, text } from "drizzle-orm/pg-core";\n'
        + schema.read_text()
        + '\nexport const pushed = pgTable("fixture_pushed", { id: text("id").primaryKey() });\n'
    )
    env = {**os.environ, "DATABASE_URL": migrated.url_string(drivername="postgresql")}
    env["PATH"] = f"{frontend(clone) / 'node_modules' / '.bin'}{os.pathsep}{env['PATH']}"
    push = subprocess.run(
        ["drizzle-kit", "push", "--force"], cwd=frontend(clone), env=env, capture_output=True, text=True
    )
    assert push.returncode == 0 and "public.fixture_pushed" in migrated.tables(), push.stdout + push.stderr

    result = check(clone, migrated)

    assert "Error 37" in result.output  # the schema is ahead of the migrations, too
    assert "table public.fixture_pushed: in the database only" in result.output


def test_the_backend_schema_is_never_frontend_drift(clone: Clone, migrated: Database) -> None:
    migrated.query(f"CREATE TABLE {BACKEND_SCHEMA}.fixture_by_hand (id int)")

    result = check(clone, migrated)

    assert "frontend: the database's" not in result.output


def test_an_unchanged_project_starts_no_node_on_its_second_check(
    clone: Clone, migrated: Database, tmp_path: Path
) -> None:
    # Every Node process loads this first (NODE_OPTIONS reaches the tools through the environment).
    log, probe = tmp_path / "node-starts.log", tmp_path / "probe.cjs"
    probe.write_text(
        f"require('fs').appendFileSync({json.dumps(str(log))}, process.argv.slice(1).join(' ') + '\\n');\n"
    )
    node_options = f"--require {probe}"

    first = check(clone, migrated, NODE_OPTIONS=node_options)
    started_first = log.read_text() if log.exists() else ""
    log.unlink(missing_ok=True)
    second = check(clone, migrated, NODE_OPTIONS=node_options)

    assert first.code == 0 and second.code == 0, first.output + second.output
    # 38 replays the applied migrations with the runner make migrate uses (scripts/drizzle_migrate.mjs).
    assert all(tool in started_first for tool in ("auth", "generate", "drizzle_migrate")), started_first
    assert not log.exists(), log.read_text()


def test_a_changed_frontend_table_is_checked_again(clone: Clone, migrated: Database) -> None:
    assert check(clone, migrated).code == 0  # remembered as passing
    migrated.query('ALTER TABLE "session" ADD COLUMN stray text')

    result = check(clone, migrated)

    assert "Error 38" in result.output and "column session.stray" in result.output


def remembered(clone: Clone, database: Database) -> None:
    """The database migrated, then a full run with nothing to do recorded it: the next run answers fast."""
    assert check(clone, database, target="migrate").code == 0
    assert check(clone, database, target="migrate").code == 0
    assert "✓ up to date:" in check(clone, database, target="migrate").output


def test_the_fast_path_falls_through_when_lib_auth_ts_changes(clone: Clone, database: Database) -> None:
    remembered(clone, database)
    enable_username_plugin(clone)

    result = check(clone, database, target="migrate")

    assert "✓ up to date:" not in result.output
    assert "Error 36" in result.output


def test_the_fast_path_falls_through_when_a_frontend_table_changes(clone: Clone, database: Database) -> None:
    remembered(clone, database)
    database.query('ALTER TABLE "account" ADD COLUMN stray text')

    result = check(clone, database, target="migrate")

    assert "✓ up to date:" not in result.output
    assert "Error 38" in result.output and "column account.stray" in result.output


def test_a_role_that_may_not_create_a_database_still_gets_drift_38(
    clone: Clone, database: Database, role: tuple[str, str]
) -> None:
    # The replay needs CREATEDB: without it, the snapshot comparison stands in (docs/migrations.md, 38).
    name, password = role
    url = database.url.set(username=name, password=password).render_as_string(hide_password=False)
    migrate = clone.make("migrate", DATABASE_URL=url, ENV_FILE="/dev/null")
    passed = clone.make("migrate-check", DATABASE_URL=url, ENV_FILE="/dev/null")
    database.query('ALTER TABLE "user" ADD COLUMN stray text')

    result = clone.make("migrate-check", DATABASE_URL=url, ENV_FILE="/dev/null")

    assert migrate.code == 0 and passed.code == 0, migrate.output + passed.output
    assert "Error 38" in result.output and "column user.stray: in the database only" in result.output
