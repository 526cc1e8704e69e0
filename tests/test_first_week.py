"""A user's first week, on a copy of the template, done as docs/your-app.md says.

Each step is one change a new user makes, made with the documented commands (and the one
documented human step: acknowledging a squawk finding in generated SQL). After each,
`make migrate`, `make migrate-check`, `make lint` and `make test` all pass on the copy,
and the database shows what the step was meant to do. The steps build on each other, in
the order of this file, on one copy with its own local database started by `make migrate`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import Clone, copy_of_repository
from testing.systems import BACKEND_SCHEMA

pytestmark = pytest.mark.full

TAG_MODEL = '''from sqlalchemy import BigInteger, ForeignKey, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.auth import user_table
from models.base import Base


class Tag(Base):
    """A label a user gives to things; deleted with its user."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, ForeignKey(user_table.c.id, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
'''

FRONTEND_SCHEMA_WITH_PROJECT = """// The frontend's Drizzle schema: drizzle.config.ts reads this file, and `make
// migration-frontend` turns changes in it into SQL under drizzle/.
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { user } from "../auth-schema";

export * from "../auth-schema";

export const project = pgTable("project", {
  id: text("id").primaryKey(),
  ownerId: text("owner_id")
    .notNull()
    .references(() => user.id, { onDelete: "cascade" }),
  name: text("name").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
});
"""

ADAPTER_IMPORT = 'import { drizzleAdapter } from "better-auth/adapters/drizzle";\n'
PLUGIN_IMPORT = 'import { username } from "better-auth/plugins";\n'
EMAIL_AND_PASSWORD = "  emailAndPassword: {\n    enabled: true,\n  },\n"
PLUGINS = "  plugins: [username()],\n"
GENERATED_UPGRADE = re.compile(
    r'(def upgrade\(\) -> None:\n    """Upgrade schema."""\n).*?(?=\n\ndef downgrade)', re.DOTALL
)
GENERATED_DOWNGRADE = re.compile(r'(def downgrade\(\) -> None:\n    """Downgrade schema."""\n).*', re.DOTALL)
SAMPLE_MARK = "the sample"
DROP_ACKNOWLEDGED = "# squawk-ignore-file ban-drop-table, require-concurrent-index-deletion"
RENAME_UPGRADE = f'    op.alter_column("tag", "name", new_column_name="label", schema="{BACKEND_SCHEMA}")\n'
RENAME_DOWNGRADE = f'    op.alter_column("tag", "label", new_column_name="name", schema="{BACKEND_SCHEMA}")\n'


class Week:
    """The copy a user works in, and what they look at."""

    def __init__(self, clone: Clone) -> None:
        self.clone = clone
        self.root = clone.root

    def make(self, *targets: str, **env: str) -> str:
        result = self.clone.make(*targets, **env)
        assert result.code == 0, f"make {' '.join(targets)} (exit {result.code}):\n{result.output[-4000:]}"
        return result.output

    def everything_passes(self) -> None:
        for target in ("migrate", "migrate-check", "lint", "test"):
            self.make(target)

    def query(self, statement: str) -> list[tuple]:
        url = self.clone.example_database_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def newest(self, pattern: str) -> Path:
        return max(self.root.glob(pattern), key=lambda path: path.stat().st_mtime_ns)

    def lines_marked(self, mark: str) -> list[tuple[str, str]]:
        """(file, line) for each line of the app's code that ends with a comment ``mark``."""
        found = []
        for folder in ("backend/app", "backend/models", "nextjs/app"):
            for path in sorted((self.root / folder).rglob("*")):
                if path.suffix in (".py", ".ts", ".tsx") and "__pycache__" not in path.parts:
                    for line in path.read_text().splitlines(keepends=True):
                        if re.search(rf"(#|//) {mark}$", line.rstrip()):
                            found.append((str(path.relative_to(self.root)), line))
        return found

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer has {old!r}: docs/your-app.md needs the same update"
        path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    clone = copy_of_repository(tmp_path_factory.mktemp("first-week") / "repo")
    yield Week(clone)
    clone.tear_down()


def test_1_a_backend_model_with_a_foreign_key_to_user_migrates(week: Week) -> None:
    (week.root / "backend" / "models" / "tag.py").write_text(TAG_MODEL)
    init = week.root / "backend" / "models" / "__init__.py"
    init.write_text(init.read_text() + "from models.tag import Tag\n")

    # Applied, then the model that no migration makes yet is named (docs/your-app.md): exit 31.
    first = week.clone.make("migrate")
    assert "Error 31" in first.output and "the models differ from the database at head" in first.output, first.output
    week.make("migration-backend", m="add tags")
    week.everything_passes()

    referenced = week.query(
        "SELECT confrelid::regclass::text FROM pg_constraint "
        f"WHERE conrelid = '{BACKEND_SCHEMA}.tag'::regclass AND contype = 'f'"
    )
    assert referenced == [('"user"',)]


def test_2_a_better_auth_plugin_migrates_after_its_lint_finding_is_acknowledged(week: Week) -> None:
    week.edit("nextjs/lib/auth.ts", ADAPTER_IMPORT, ADAPTER_IMPORT + PLUGIN_IMPORT)
    week.edit("nextjs/lib/auth.ts", EMAIL_AND_PASSWORD, EMAIL_AND_PASSWORD + PLUGINS)
    week.make("auth-schema")
    week.make("migration-frontend", name="username")
    migration = week.newest("nextjs/drizzle/*_username.sql")

    findings = week.clone.make("lint")
    assert findings.code != 0 and "disallowed-unique-constraint" in findings.output, findings.output[-3000:]
    # The documented human step: the table is small, so the finding is acknowledged in place.
    text = migration.read_text()
    statement = next(line for line in text.splitlines() if "UNIQUE" in line)
    acknowledgement = "-- squawk-ignore disallowed-unique-constraint, constraint-missing-not-valid"
    migration.write_text(text.replace(statement, f"{acknowledgement}\n{statement}"))
    week.everything_passes()

    columns = week.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'user'")
    assert ("username",) in columns


def test_3_a_frontend_table_of_the_apps_own_migrates(week: Week) -> None:
    (week.root / "nextjs" / "lib" / "schema.ts").write_text(FRONTEND_SCHEMA_WITH_PROJECT)

    week.make("migration-frontend", name="project")
    week.everything_passes()

    assert week.query("SELECT to_regclass('public.project')::text") == [("project",)]


def test_4_removing_the_sample_as_documented_drops_its_table(week: Week) -> None:
    # What docs/your-app.md lists, read from it: the test removes exactly what the docs say.
    section = (week.root / "docs" / "your-app.md").read_text().split("## Remove the sample")[1]
    files = [week.root / name for name in re.findall(r"`([\w./-]+)`", section.split("\n2. ")[0])]
    assert files and all(path.exists() for path in files), files
    tables_before = week.query(f"SELECT tablename FROM pg_tables WHERE schemaname = '{BACKEND_SCHEMA}'")
    for path in files:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for marked in week.lines_marked(SAMPLE_MARK):
        week.edit(*marked, "")
    week.make("fmt")

    week.make("migration-backend", m="remove the sample")
    revision = week.newest("backend/alembic/versions/*_remove_the_sample.py")
    # The documented human step: nothing uses the table any more, so squawk's findings are acknowledged.
    revision.write_text(revision.read_text() + f"\n{DROP_ACKNOWLEDGED}\n")
    week.everything_passes()

    tables_after = week.query(f"SELECT tablename FROM pg_tables WHERE schemaname = '{BACKEND_SCHEMA}'")
    assert len(tables_after) == len(tables_before) - 1
    assert not week.lines_marked(SAMPLE_MARK)
    # `make seed` keeps working without the sample's rows: it still makes the user to sign in with.
    assert "Sign in at" in week.make("seed")


def test_5_renaming_a_column_keeps_its_values(week: Week) -> None:
    week.query("INSERT INTO \"user\" (id, name, email) VALUES ('first-week', 'A user', 'first-week@example.com')")
    week.query(f"INSERT INTO {BACKEND_SCHEMA}.tag (user_id, name) VALUES ('first-week', 'kept across the rename')")
    week.edit(
        "backend/models/tag.py",
        "    name: Mapped[str] = mapped_column(Text)\n",
        "    label: Mapped[str] = mapped_column(Text)\n",
    )

    week.make("migration-backend", m="rename tag name to label")
    revision = week.newest("backend/alembic/versions/*_rename_tag_name_to_label.py")
    # The documented human step: autogenerate writes a drop and an add; a rename keeps the values.
    text = revision.read_text()
    text = GENERATED_UPGRADE.sub(lambda match: match.group(1) + RENAME_UPGRADE, text)
    text = GENERATED_DOWNGRADE.sub(lambda match: match.group(1) + RENAME_DOWNGRADE, text)
    revision.write_text(text + "\n# squawk-ignore-file renaming-column\n")
    week.everything_passes()

    assert week.query(f"SELECT label FROM {BACKEND_SCHEMA}.tag WHERE user_id = 'first-week'") == [
        ("kept across the rename",)
    ]
