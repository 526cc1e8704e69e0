"""The suite's own PostgreSQL server (`make test` starts it: TEST_DATABASE_URL), databases on it,
and commands run against them the way a user runs them."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy.engine import URL, make_url

from testing.systems import REPO_ROOT, SYSTEMS

# Set by `make test`; without it, testing.plugin stops the run before any test (pytest_configure).
SERVER = make_url(os.environ.get("TEST_DATABASE_URL") or "postgresql://")


@dataclass(frozen=True)
class Result:
    code: int
    output: str


@dataclass(frozen=True)
class Database:
    """One test's database on the test server, and ways to run the project against it."""

    url: URL

    @property
    def name(self) -> str:
        assert self.url.database
        return self.url.database

    def url_string(self, **changes: object) -> str:
        return self.url.set(**changes).render_as_string(hide_password=False)  # type: ignore[arg-type]

    def query(self, statement: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url_string(drivername="postgresql"), autocommit=True) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def tables(self) -> set[str]:
        """Every table outside the system schemas, as "schema.table"."""
        rows = self.query(
            "SELECT schemaname || '.' || tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        return {row[0] for row in rows}

    def schema_dump(self, *, exclude_schemas: tuple[str, ...] = ()) -> str:
        """`pg_dump --schema-only`, the reference for "the same schema"."""
        excluded = [f"--exclude-schema={schema}" for schema in exclude_schemas]
        dump = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", *excluded, self.url_string(drivername="postgresql")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # Recent pg_dump releases fence the dump with a random key (\restrict KEY).
        return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))

    def make(self, *targets: str, url: str | None = None, **env: str) -> Result:
        return run(["make", "--no-print-directory", *targets], database_url=url or self.url_string(), **env)

    def backend(self, *alembic_args: str, cwd: Path | None = None) -> Result:
        """The raw `uv run alembic ...` in backend/, as docs/migrations.md shows it."""
        return run(
            ["uv", "run", "--frozen", "alembic", *alembic_args],
            database_url=self.url_string(),
            cwd=cwd or REPO_ROOT / SYSTEMS["BACKEND_DIR"],
        )


def run(command: list[str], *, database_url: str | None, cwd: Path = REPO_ROOT, **env: str) -> Result:
    """Run a command the way a user would, isolated from the developer's own .env."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_DATABASE_URL")}
    environment = {**inherited, "ENV_FILE": "/dev/null", **env}
    if database_url is not None:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, check=False
    )
    return Result(completed.returncode, completed.stdout + completed.stderr)


@contextmanager
def database_of_its_own(purpose: str) -> Iterator[Database]:
    """An empty database on the test server for longer than one test (a module, a session), then dropped.

    pytest-postgresql's `postgresql` fixture is function-scoped: fixtures of a wider scope
    make their database with its janitor directly.
    """
    name = f"{purpose}_{uuid.uuid4().hex[:8]}"
    with DatabaseJanitor(
        user=SERVER.username, host=SERVER.host, port=SERVER.port, password=SERVER.password, dbname=name
    ):
        yield Database(SERVER.set(database=name))


# `make test-previous-release` (scripts/commands/previous_release.py): the previous release's tests run on
# the schema another checkout's `make migrate` makes, the one named here; else this checkout's own.
MIGRATING_CHECKOUT = Path(os.environ.get("TEST_MIGRATING_CHECKOUT") or REPO_ROOT)


@contextmanager
def migrated_database_of_its_own(purpose: str) -> Iterator[Database]:
    """A database of its own, brought to head by one `make migrate` (of MIGRATING_CHECKOUT)."""
    with database_of_its_own(purpose) as database:
        result = database.make("-C", str(MIGRATING_CHECKOUT), "migrate")
        assert result.code == 0, result.output
        yield database
