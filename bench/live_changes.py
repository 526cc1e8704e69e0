"""The schema changes the live benchmark makes under load, each in two forms.

recipe: the template's way (docs/migrations.md, "Changing a table that is in use"), written
into a copy of the repository as a user writes it (Alembic revisions, Better Auth config and
the generated Drizzle migrations, edited) and applied by `make migrate`.
naive: the form people write first, applied by the raw tool (`alembic upgrade head`,
`drizzle-kit migrate`), with no lock timeout.

The big table is the sample's api.note; `user` is Better Auth's. Each change also updates the
copy's models, so that the checks of `make migrate` find them agreeing with the database.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.core.errors import Failure

# Columns the setup adds (and fills) so that the changes have something to work on.
SETUP_REVISION = "live0setup01"
SETUP_BODY = """\
    # The column a later change makes a foreign key to "user" (filled by the benchmark).
    op.add_column("note", sa.Column("editor_id", sa.Text(), nullable=True), schema="api")
"""
SETUP_MODEL = "    editor_id: Mapped[str | None] = mapped_column(Text)\n"

INDEX_NAME = "ix_api_note_created_at"
FK_NAME = "fk_note_editor_id_user"
CHECK_NAME = "ck_note_slug_not_null"
USER_CHECK_NAME = "user_locale_not_null"
USER_FIELD = "locale"


@dataclass
class Copy:
    """A copy of the repository (bench/live.py makes it) and the Alembic head its next revision follows."""

    root: Path
    head: str
    revisions: int = 0
    model_lines: str = SETUP_MODEL
    module_lines: str = ""

    @property
    def backend(self) -> Path:
        return self.root / "backend"

    @property
    def frontend(self) -> Path:
        return self.root / "nextjs"

    def add_revision(self, name: str, body: str) -> str:
        """An Alembic revision after the head, as `make migration-backend` would write it."""
        self.revisions += 1
        revision = f"live{self.revisions:02d}{name[:6]}"
        path = self.backend / "alembic" / "versions" / f"{revision}_{name}.py"
        path.write_text(
            f'"""{name}"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
            f"revision = {revision!r}\ndown_revision = {self.head!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n{body}\n\ndef downgrade() -> None:\n    raise NotImplementedError\n"
        )
        self.head = revision
        return revision

    def model(self, class_lines: str = "", module_lines: str = "") -> None:
        """The sample's model (backend/models/note.py) with the columns and indexes added so far."""
        self.model_lines += class_lines
        self.module_lines += module_lines
        note = self.backend / "models" / "note.py"
        pristine = note.read_text().split("\n# bench-live\n")[0].rstrip("\n")
        header = "from sqlalchemy import Index, text as sql_text  # bench-live\n"
        if not pristine.startswith(header):
            pristine = header + pristine
        note.write_text(f"{pristine}\n{self.model_lines}\n# bench-live\n{self.module_lines}")

    def make(self, *arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run(["make", "--no-print-directory", *arguments], self.root, env)

    def python(self, *arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run([str(self.root / ".venv" / "bin" / "python"), *arguments], self.root, env)

    def auth_field(self, required: bool) -> None:
        """Better Auth's config (lib/auth.ts) with a string field on the user, then `make auth-schema`."""
        auth = self.frontend / "lib" / "auth.ts"
        text = auth.read_text()
        attributes = f'type: "string", required: {str(required).lower()}'
        field = f"  user: {{ additionalFields: {{ {USER_FIELD}: {{ {attributes} }} }} }},\n"
        lines = [line for line in text.splitlines(keepends=True) if f"additionalFields: {{ {USER_FIELD}:" not in line]
        anchor = next((i for i, line in enumerate(lines) if line.strip().startswith("emailAndPassword:")), None)
        if anchor is None:
            raise Failure(f"{auth}: no `emailAndPassword:` line to add a user field beside", "restore lib/auth.ts")
        lines.insert(anchor, field)
        auth.write_text("".join(lines))

    def drizzle_generate(self, env: dict[str, str], name: str, custom: bool = False) -> Path:
        """`make migration-frontend name=NAME` (or drizzle-kit's --custom, an empty one): the new SQL file."""
        if custom:
            result = self.python(
                "-m", "scripts", "generate", "--offline", "--record-order", "--in", "nextjs", "--",
                "drizzle-kit", "generate", "--custom", "--name", name, env=env,
            )  # fmt: skip
        else:
            result = self.make("migration-frontend", env={**env, "name": name})
        check(result, f"drizzle-kit generate ({name})")
        journal = json.loads((self.frontend / "drizzle" / "meta" / "_journal.json").read_text())
        return self.frontend / "drizzle" / f"{journal['entries'][-1]['tag']}.sql"


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, check=False)


def check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise Failure(f"bench-live: {what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def statements(*sql: str) -> str:
    """A Drizzle migration's statements, separated as drizzle-kit separates them."""
    return "\n--> statement-breakpoint\n".join(sql) + "\n"


@dataclass(frozen=True)
class Change:
    key: str
    title: str
    system: str  # whose migration: "backend" (Alembic) or "frontend" (Drizzle)
    prepare_recipe: Callable[[Copy, dict[str, str]], None]
    prepare_naive: Callable[[Copy, dict[str, str]], None]
    hold_lock: bool = False  # an app transaction holds a lock on the table while the migration starts
    skip_reason: str | None = None
    on_request: bool = False  # runs only when BENCH_LIVE_ONLY names it


# --- an index on the big table ------------------------------------------------------------------


def index_recipe(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_created_at_index",
        f"""\
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction: commit around it.
    with op.get_context().autocommit_block():
        op.create_index("{INDEX_NAME}", "note", ["created_at"], schema="api", postgresql_concurrently=True)
""",
    )
    copy.model(module_lines=f'Index("{INDEX_NAME}", Note.created_at)\n')


def index_naive(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_created_at_index", f'    op.create_index("{INDEX_NAME}", "note", ["created_at"], schema="api")\n'
    )


# --- a foreign key to user ----------------------------------------------------------------------


def foreign_key_recipe(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_editor_fk",
        f"""\
    # NOT VALID: only new rows are checked; a brief lock, no scan of the table.
    op.create_foreign_key(
        "{FK_NAME}", "note", "user", ["editor_id"], ["id"],
        source_schema="api", referent_schema="public", postgresql_not_valid=True,
    )
""",
    )
    copy.add_revision(
        "note_editor_fk_validate",
        f"""\
    # A transaction of its own: the scan takes a lock that lets reads and writes go on.
    op.execute("ALTER TABLE api.note VALIDATE CONSTRAINT {FK_NAME}")
""",
    )
    copy.model("    editor_id: Mapped[str | None] = mapped_column(Text, ForeignKey(user_table.c.id))\n")
    copy.model_lines = copy.model_lines.replace(SETUP_MODEL, "")
    copy.model()


def foreign_key_naive(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_editor_fk",
        f"""\
    op.create_foreign_key(
        "{FK_NAME}", "note", "user", ["editor_id"], ["id"], source_schema="api", referent_schema="public"
    )
""",
    )


# --- a required column on the big table ---------------------------------------------------------


def column_recipe(copy: Copy, env: dict[str, str]) -> None:
    batch = int(os.environ.get("BENCH_LIVE_BATCH", "10000"))
    copy.add_revision(
        "note_slug_nullable",
        """\
    op.add_column("note", sa.Column("slug", sa.Text(), nullable=True), schema="api")
    # New rows get a value from now on (a default set after the column exists rewrites nothing).
    op.alter_column("note", "slug", server_default=sa.text("md5(random()::text)"), schema="api")
""",
    )
    copy.add_revision(
        "note_slug_backfill",
        f"""\
    # Batches, each committed at once: no row stays locked for long, and a failure keeps the work done.
    with op.get_context().autocommit_block():
        connection = op.get_bind()
        last = connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM api.note")).scalar_one()
        for start in range(0, last, {batch}):
            connection.execute(
                sa.text("UPDATE api.note SET slug = md5(id::text) WHERE id > :start AND id <= :end AND slug IS NULL"),
                {{"start": start, "end": start + {batch}}},
            )
    # Checked for new rows only; VALIDATE, in the next revision, scans without blocking writes.
    op.execute("ALTER TABLE api.note ADD CONSTRAINT {CHECK_NAME} CHECK (slug IS NOT NULL) NOT VALID")
""",
    )
    copy.add_revision(
        "note_slug_not_null",
        f"""\
    op.execute("ALTER TABLE api.note VALIDATE CONSTRAINT {CHECK_NAME}")
    # The validated CHECK proves there is no NULL: SET NOT NULL scans nothing.
    op.alter_column("note", "slug", nullable=False, schema="api")
    op.drop_constraint(op.f("{CHECK_NAME}"), "note", schema="api", type_="check")
""",
    )
    copy.model('    slug: Mapped[str] = mapped_column(Text, server_default=sql_text("md5(random()::text)"))\n')


def column_naive(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_slug",
        """\
    op.add_column(
        "note",
        sa.Column("slug", sa.Text(), server_default=sa.text("md5(random()::text)"), nullable=False),
        schema="api",
    )
""",
    )


# --- a required field in Better Auth's config (the shape of Better Auth 1.7's account.issuer) ----


def auth_field_recipe(copy: Copy, env: dict[str, str]) -> None:
    copy.auth_field(required=False)
    check(copy.make("auth-schema", env=env), "make auth-schema")
    added = copy.drizzle_generate(env, f"user_{USER_FIELD}")  # ADD COLUMN, nullable
    if "NOT NULL" in added.read_text():
        raise Failure(f"{added.name}: expected a nullable column for required: false:\n{added.read_text()}")
    backfill = copy.drizzle_generate(env, f"backfill_user_{USER_FIELD}", custom=True)
    backfill.write_text(f'UPDATE "user" SET "{USER_FIELD}" = \'en\' WHERE "{USER_FIELD}" IS NULL;\n')
    guard = copy.drizzle_generate(env, f"user_{USER_FIELD}_check", custom=True)
    guard.write_text(
        f'ALTER TABLE "user" ADD CONSTRAINT "{USER_CHECK_NAME}" CHECK ("{USER_FIELD}" IS NOT NULL) NOT VALID;\n'
    )
    copy.auth_field(required=True)
    check(copy.make("auth-schema", env=env), "make auth-schema")
    required = copy.drizzle_generate(env, f"user_{USER_FIELD}_required")
    generated = required.read_text()
    if "SET NOT NULL" not in generated:
        raise Failure(f"{required.name}: expected drizzle-kit's SET NOT NULL, found:\n{generated}")
    required.write_text(
        statements(
            f'ALTER TABLE "user" VALIDATE CONSTRAINT "{USER_CHECK_NAME}";',
            generated.strip(),
            f'ALTER TABLE "user" DROP CONSTRAINT "{USER_CHECK_NAME}";',
        )
    )


def auth_field_naive(copy: Copy, env: dict[str, str]) -> None:
    copy.auth_field(required=True)
    check(copy.make("auth-schema", env=env), "make auth-schema")
    copy.drizzle_generate(env, f"user_{USER_FIELD}")  # ADD COLUMN ... NOT NULL, as generated


# --- an index on user, by Drizzle -----------------------------------------------------------------


def drizzle_index_recipe(copy: Copy, env: dict[str, str]) -> None:
    migration = copy.drizzle_generate(env, "user_created_at_index", custom=True)
    migration.write_text('CREATE INDEX CONCURRENTLY IF NOT EXISTS "user_created_at_idx" ON "user" ("created_at");\n')


def drizzle_index_naive(copy: Copy, env: dict[str, str]) -> None:
    migration = copy.drizzle_generate(env, "user_created_at_index", custom=True)
    migration.write_text('CREATE INDEX IF NOT EXISTS "user_created_at_idx" ON "user" ("created_at");\n')


# --- a migration that must wait for a lock held by the app ---------------------------------------


def lock_wait(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision(
        "note_archived_at",
        '    op.add_column("note", sa.Column("archived_at", sa.DateTime(timezone=True)), schema="api")\n',
    )
    copy.model("    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))\n")


# --- nothing: what make migrate itself (its checks, its processes) costs the traffic ---------------


def no_change(copy: Copy, env: dict[str, str]) -> None:
    copy.add_revision("nothing", "    pass\n")


DRIZZLE_CONCURRENTLY = os.environ.get("BENCH_LIVE_DRIZZLE_CONCURRENTLY", "1") == "1"

CHANGES = (
    Change("index", "index on api.note", "backend", index_recipe, index_naive),
    Change("foreign-key", "foreign key api.note -> user", "backend", foreign_key_recipe, foreign_key_naive),
    Change("column", "required column on api.note", "backend", column_recipe, column_naive),
    Change("auth-field", "required Better Auth field on user", "frontend", auth_field_recipe, auth_field_naive),
    Change(
        "lock-wait",
        "column on api.note behind an app lock",
        "backend",
        lock_wait,
        lock_wait,
        hold_lock=True,
    ),
    Change(
        "drizzle-index",
        "index on user (Drizzle)",
        "frontend",
        drizzle_index_recipe,
        drizzle_index_naive,
        skip_reason=None if DRIZZLE_CONCURRENTLY else "BENCH_LIVE_DRIZZLE_CONCURRENTLY=0",
    ),
    # Only when asked for (BENCH_LIVE_ONLY=nothing,index): the baseline the others' p99 includes.
    Change("nothing", "an empty revision (make migrate alone)", "backend", no_change, no_change, on_request=True),
)


def describe(change: Change) -> str:
    return textwrap.shorten(change.title, 60)
