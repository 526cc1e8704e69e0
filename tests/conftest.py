"""The tooling's own fixtures: a fresh database per test, copies of the repository, fixture migrations.

`make test` starts the suite's PostgreSQL server with the project's own local-cluster mechanism
(scripts/database/localcluster.py) and passes its URL as TEST_DATABASE_URL; pytest-postgresql's
`postgresql_noproc` connects to it, and its `postgresql` fixture creates and drops
one database per test, so no test sees another's state.

What the app's tests share with these (the server, databases of a test's own, users, the
browser) is the test kit testing/, never this file: nothing imports it by name but tests/.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql import factories
from sqlalchemy.engine import URL, make_url

from scripts.database.localcluster import LocalCluster, cluster_root
from scripts.history.alembic import AlembicRevision, alembic_revisions
from testing.browser import free_port
from testing.database import SERVER, Database, Result, migrated_database_of_its_own, run
from testing.repository import copy_working_tree
from testing.systems import BACKEND_SCHEMA, REPO_ROOT, SYSTEMS, declared

postgresql_noproc = factories.postgresql_noproc(
    host=SERVER.host, port=SERVER.port, user=SERVER.username, password=SERVER.password
)
postgresql = factories.postgresql("postgresql_noproc")
reference_postgresql = factories.postgresql("postgresql_noproc", dbname="reference")


def apply_frontend(database: Database, to: str | None = None, root: Path = REPO_ROOT) -> None:
    """The frontend's pending migrations (up to and including ``to``), by the runner `make migrate`
    uses, without the combined order's refusals: for tests that run the backend's revisions
    themselves and place the frontend's where the combined order puts them (scripts/history/order.py)."""
    runner = [str(root / "scripts" / "drizzle_migrate.mjs"), *(["--to", to] if to else [])]
    node = root / declared(root)["FRONTEND_DIR"] / "node_modules" / ".bin" / "node"
    url = database.url_string(drivername="postgresql")
    result = run([str(node), *runner], database_url=url, cwd=root / declared(root)["FRONTEND_DIR"])
    assert result.code == 0, result.output


def concurrent_make(target: str, runs: int, **env: str) -> list[tuple[int, str]]:
    """``runs`` copies of ``make TARGET`` started at once; each one's exit code and output."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_DATABASE_URL")}
    environment = {**inherited, "ENV_FILE": "/dev/null", **env}
    started = [
        subprocess.Popen(
            ["make", "--no-print-directory", target],
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(runs)
    ]
    outputs = [process.communicate(timeout=600)[0] for process in started]
    return [(process.returncode, output) for process, output in zip(started, outputs, strict=True)]


@pytest.fixture
def database(postgresql: psycopg.Connection) -> Database:
    """An empty database, dropped after the test."""
    return Database(SERVER.set(database=postgresql.info.dbname))


@pytest.fixture
def migrated(database: Database) -> Database:
    """A database brought to head by `make migrate`."""
    result = database.make("migrate")
    assert result.code == 0, result.output
    return database


@pytest.fixture
def role(database: Database) -> Iterator[tuple[str, str]]:
    """A login role that owns the test's database, with a password full of URL-special characters."""
    name, password = "app_owner", "p@ss:w/rd%?#&+ é"
    admin = psycopg.connect(database.url_string(drivername="postgresql"), autocommit=True)
    with admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database.name), sql.Identifier(name))
        )
    yield name, password
    with psycopg.connect(database.url_string(drivername="postgresql"), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(database.name)))
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def reference(reference_postgresql: psycopg.Connection) -> Database:
    """A second empty database, to compare with."""
    return Database(SERVER.set(database=reference_postgresql.info.dbname))


BACKUPS = REPO_ROOT / "backups"


@pytest.fixture
def new_backups() -> Iterator[None]:
    """The dumps a test writes to backups/, removed afterwards."""
    before = set(BACKUPS.glob("*.dump"))
    yield
    for dump in set(BACKUPS.glob("*.dump")) - before:
        dump.unlink()


def backup_path(output: str) -> Path:
    """The dump a backup reported writing."""
    match = re.search(r"✓ backup: (backups/\S+\.dump) \(\d+(\.\d)? (B|kB|MB)\)", output)
    assert match, output
    return REPO_ROOT / match.group(1)


class Clone:
    """A copy of the working tree, as a fresh clone has it (no .env), to change freely.

    Its .env.example points to a free port, so that its project-local database
    never collides with another.
    """

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port

    @property
    def example_database_url(self) -> URL:
        text = (self.root / ".env.example").read_text()
        return make_url(re.search(r"^DATABASE_URL=(.+)$", text, re.MULTILINE).group(1))

    def make(self, *targets: str, **env: str) -> Result:
        completed = self.popen(*targets, **env)
        stdout, _ = completed.communicate(timeout=600)
        return Result(completed.returncode, stdout)

    def run_script(self, command: str, *args: str, **env: str) -> Result:
        """A command as `uv run python -m scripts COMMAND` runs it: its own exit code, which make hides."""
        return self.run("uv", "run", "--frozen", "python", "-m", "scripts", command, *args, **env)

    def run(self, *argv: str, **env: str) -> Result:
        completed = self.popen(command=list(argv), **env)
        stdout, _ = completed.communicate(timeout=600)
        return Result(completed.returncode, stdout)

    def popen(self, *targets: str, command: list[str] | None = None, **env: str) -> subprocess.Popen[str]:
        # Nothing of this suite's own run leaks in: a `make test` in the copy starts its own server.
        # and no variable given to the outer make (MAKEFLAGS carries them, PYTEST_ARGS among them).
        unset = ("DATABASE_URL", "DIRECT_DATABASE_URL", "ENV_FILE", "DB_BACKEND", "TEST_DATABASE_URL", "TEST_PORT")
        unset += ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_ARGS", "VIRTUAL_ENV", "UV")
        # A fresh clone on a developer's machine: a CI system's CI=true would refuse the local database.
        unset += ("CI",)
        environment = {k: v for k, v in os.environ.items() if k not in unset}
        # The copy's local database is a cluster of its own (tear_down stops it), also where a Docker
        # engine runs; tests of the Docker path say DB_BACKEND=docker (tests/test_compose.py).
        environment["DB_BACKEND"] = "local"
        return subprocess.Popen(
            [*(command or ["make", "--no-print-directory"]), *targets],
            cwd=self.root,
            env={**environment, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def tear_down(self) -> None:
        """Stop every local database the copy started (its own, and the test server of a `make test` in it)."""
        for data_dir in cluster_root(self.root).glob("*/data"):
            LocalCluster(home=data_dir.parent, port=int(data_dir.parent.name)).stop()
        shutil.rmtree(cluster_root(self.root), ignore_errors=True)

    def add_drizzle_migration(self, tag: str, when: int, sql: str, *, snapshot: bool = True) -> None:
        """A journal entry, its SQL file and (``snapshot``) a snapshot chained to the last one."""
        meta = frontend_migrations(self.root) / "meta"
        journal = json.loads((meta / "_journal.json").read_text())
        index = len(journal["entries"])
        journal["entries"].append(dict(journal["entries"][-1], idx=index, tag=tag, when=when))
        (meta / "_journal.json").write_text(json.dumps(journal, indent=2))
        (frontend_migrations(self.root) / f"{tag}.sql").write_text(sql)
        if snapshot:
            previous = json.loads((meta / f"{index - 1:04d}_snapshot.json").read_text())
            chained = {**previous, "id": str(uuid.uuid4()), "prevId": previous["id"]}
            (meta / f"{index:04d}_snapshot.json").write_text(json.dumps(chained, indent=2))

    @property
    def first_drizzle_migration_time(self) -> int:
        journal = json.loads((frontend_migrations(self.root) / "meta" / "_journal.json").read_text())
        return journal["entries"][0]["when"]

    def add_alembic_revision(self, revision: str, down_revision: str | tuple[str, ...] | None, body: str) -> Path:
        path = backend_migrations(self.root) / f"{revision}_test.py"
        path.parent.mkdir(exist_ok=True)  # git keeps no empty folder: a checkout without revisions lacks it
        path.write_text(
            f'''"""test revision {revision}"""
import os
import time

from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''
        )
        return path


def frontend_migrations(root: Path = REPO_ROOT) -> Path:
    systems = declared(root)
    return root / systems["FRONTEND_DIR"] / systems["FRONTEND_MIGRATIONS_DIR"]


def backend_migrations(root: Path = REPO_ROOT) -> Path:
    systems = declared(root)
    return root / systems["BACKEND_DIR"] / systems["BACKEND_MIGRATIONS_DIR"]


def copy_of_repository(root: Path) -> Clone:
    """A copy of the working tree at ``root``, as a fresh clone has it, on a free port."""
    port = free_port()
    copy_working_tree(REPO_ROOT, root)
    # Installed packages are not what is under test: share them rather than install again.
    frontend = SYSTEMS["FRONTEND_DIR"]
    (root / frontend / "node_modules").symlink_to(REPO_ROOT / frontend / "node_modules")
    example = root / ".env.example"
    example.write_text(re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", example.read_text()))
    return Clone(root, port)


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Clone]:
    clone = copy_of_repository(tmp_path / "repo")
    yield clone
    clone.tear_down()


# What the repository holds, read at run time: a test of the tooling names none of the
# app's own migrations or tables, so it passes whatever models and migrations a user has.


def alembic_history(root: Path = REPO_ROOT) -> list[AlembicRevision]:
    """The backend revisions of the checkout at ``root``, oldest first (empty when it has none)."""
    revisions = {r.revision: r for r in alembic_revisions(backend_migrations(root))}
    heads = set(revisions) - {down for r in revisions.values() for down in r.down_revisions}
    assert len(heads) <= 1, f"the repository's Alembic history has {len(heads)} heads: {sorted(heads)}"
    history = []
    current = next(iter(heads), None)
    while current:
        history.insert(0, revisions[current])
        current = next(iter(revisions[current].down_revisions), None)
    return history


def alembic_head(root: Path = REPO_ROOT) -> str | None:
    """The newest backend revision of the checkout at ``root``, None when it has none."""
    history = alembic_history(root)
    return history[-1].revision if history else None


def drizzle_journal(root: Path = REPO_ROOT) -> list[dict]:
    return json.loads((frontend_migrations(root) / "meta" / "_journal.json").read_text())["entries"]


def drizzle_tags(root: Path = REPO_ROOT) -> list[str]:
    """The frontend migrations of the checkout at ``root``, in the journal's order."""
    return [entry["tag"] for entry in drizzle_journal(root)]


def frontend_tables(root: Path = REPO_ROOT) -> set[str]:
    """The tables the newest Drizzle snapshot describes, as "schema.table"."""
    newest = sorted((frontend_migrations(root) / "meta").glob("*_snapshot.json"))[-1]
    return set(json.loads(newest.read_text())["tables"])


@functools.cache
def backend_tables() -> set[str]:
    """The tables the backend's models declare in the backend's schema, as "schema.table": asked of
    the backend's own environment, as Alembic's env.py reads them (the tooling never imports the app)."""
    listing = (
        "import sys; from models import Base; "
        "print('\\n'.join(f'{t.schema}.{t.name}' for t in Base.metadata.tables.values() if t.schema == sys.argv[1]))"
    )
    result = run(
        ["uv", "run", "--frozen", "python", "-c", listing, BACKEND_SCHEMA],
        database_url=None,
        cwd=REPO_ROOT / SYSTEMS["BACKEND_DIR"],
    )
    assert result.code == 0, result.output
    return set(result.output.split())


def append_drizzle_migration(clone: Clone, name: str, sql: str, *, snapshot: bool = True) -> str:
    """A frontend migration after the clone's newest one (next index, newer timestamp); its tag."""
    entries = drizzle_journal(clone.root)
    tag = f"{len(entries):04d}_{name}"
    clone.add_drizzle_migration(tag, entries[-1]["when"] + 1000, sql, snapshot=snapshot)
    return tag


FIXTURE_MODEL = '''"""A fixture table, added by a test."""

from sqlalchemy import BigInteger, ForeignKey, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.auth import user_table
from models.base import Base


class {cls}(Base):
    __tablename__ = "{table}"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[str] = mapped_column(Text, ForeignKey(user_table.c.id, ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
'''

FIXTURE_REVISION = '''"""fixture table {table}"""
import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None
after_frontend = {after_frontend!r}


def upgrade() -> None:
    op.create_table(
        "{table}",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name="fk_{table}_user_id_user", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_{table}"),
        schema="{schema}",
    )


def downgrade() -> None:
    op.drop_table("{table}", schema="{schema}")
'''


def add_backend_table(clone: Clone, table: str = "fixture_item", revision: str = "f1x7a0000001") -> str:
    """What a user adds for a new backend table, in the clone: a model and the Alembic revision
    that creates it on top of the current head. The table is SCHEMA.TABLE in the backend's schema (id, title,
    and user_id, a foreign key to Better Auth's "user" with ON DELETE CASCADE); returns "SCHEMA.TABLE"."""
    systems = declared(clone.root)
    models, schema = clone.root / systems["BACKEND_DIR"] / "models", systems["BACKEND_SCHEMA"]
    cls = "".join(part.title() for part in table.split("_"))
    (models / f"{table}.py").write_text(FIXTURE_MODEL.format(cls=cls, table=table))
    with (models / "__init__.py").open("a") as init:
        init.write(f"from models.{table} import {cls}  # noqa: E402,F401\n")
    down_revision = alembic_head(clone.root)
    versions = backend_migrations(clone.root)
    versions.mkdir(exist_ok=True)  # git keeps no empty folder: a checkout without revisions lacks it
    # Marked as `make migration-backend` marks it: after the frontend's newest migration.
    newest_frontend = drizzle_tags(clone.root)[-1]
    (versions / f"{revision}_{table}.py").write_text(
        FIXTURE_REVISION.format(
            table=table,
            schema=schema,
            revision=revision,
            down_revision=down_revision,
            after_frontend=newest_frontend,
        )
    )
    return f"{schema}.{table}"


def insert_user(database: Database, user_id: str = "u1") -> None:
    """A row in Better Auth's "user" table, for a fixture row to refer to."""
    database.query(
        """INSERT INTO "user" (id, name, email, updated_at) VALUES (%s, 'Ada', %s, now())""",
        user_id,
        f"{user_id}@example.com",
    )


@pytest.fixture(scope="session")
def migrated_once() -> Iterator[Database]:
    """One database brought to head by `make migrate`, for the whole session: for tests that only read it."""
    with migrated_database_of_its_own("migrated_once") as database:
        yield database
