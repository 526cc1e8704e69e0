"""pytest-alembic's own built-in tests, through its own fixtures, on the backend's history.

pytest-alembic hands env.py the connection to migrate in ``config.attributes["connection"]``
(Alembic's cookbook pattern): these tests pass only because env.py migrates that connection
rather than connecting to DATABASE_URL itself.

The frontend's migrations are applied where the combined order of both systems puts them
(docs/migrations.md, scripts/history/order.py): before each backend revision, the frontend's up to the
newest one the order puts before it; after the last revision, the rest. A backend revision written
against an older frontend state than the newest (a view over a column a later frontend migration
renames, a key whose type a later one changes) then upgrades as under `make migrate`. Drizzle has
no down: a revision placed before a frontend migration is downgraded by tests/test_histories.py's
stairway, against the frontend state it was written for, not here with the frontend at its newest
(``minimum_downgrade_revision``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytest_alembic import MigrationContext
from pytest_alembic.config import Config
from pytest_alembic.executor import CommandExecutor, ConnectionExecutor
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, create_engine

from conftest import apply_frontend
from scripts.core.database_url import parse
from scripts.database.migration_state import read_database_state
from scripts.history.order import combined
from testing.database import Database
from testing.systems import REPO_ROOT, SYSTEMS

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@dataclass
class FrontendPlaces:
    """Where the combined order puts the frontend's migrations among the backend's revisions."""

    before: dict[str, str] = field(default_factory=dict)  # revision: the frontend's newest migration before it
    last_revision: str | None = None  # the backend's last revision in the order
    last_frontend: str | None = None  # the frontend's newest migration
    followed_by_frontend: str | None = None  # the newest revision some frontend migration comes after


def frontend_places(database: Database) -> FrontendPlaces:
    ordered, problems = combined(read_database_state(parse(database.url_string(drivername="postgresql"))))
    assert not problems, [problem.message for problem in problems]
    places, newest, revision_before = FrontendPlaces(), None, None
    for item in ordered:
        if item.system == "frontend":
            newest = places.last_frontend = item.migration.id
            places.followed_by_frontend = revision_before
        else:
            if newest:
                places.before[item.migration.id] = newest
            revision_before = places.last_revision = item.migration.id
    return places


@dataclass
class CombinedOrderExecutor(CommandExecutor):
    """pytest-alembic's command executor, applying the frontend's migrations where the combined order
    puts them before each revision it upgrades to (its runner upgrades one revision at a time)."""

    database: Database | None = None
    places: FrontendPlaces = field(default_factory=FrontendPlaces)

    def upgrade(self, revision: str) -> None:
        assert self.database is not None
        if revision in self.places.before:
            apply_frontend(self.database, to=self.places.before[revision])
        super().upgrade(revision)
        if revision == self.places.last_revision and self.places.last_frontend:
            apply_frontend(self.database, to=self.places.last_frontend)


@pytest.fixture
def alembic_config() -> Config:
    return Config(config_options={"file": str(REPO_ROOT / SYSTEMS["BACKEND_DIR"] / "alembic.ini")})


@pytest.fixture
def alembic_engine(database: Database) -> Iterator[Engine]:
    # Nothing that names DATABASE_URL's database: only the engine's connection reaches it.
    engine = create_engine(database.url_string(drivername="postgresql+psycopg2"))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def alembic_runner(alembic_config: Config, alembic_engine: Engine, database: Database) -> MigrationContext:
    """pytest-alembic's own runner (pytest_alembic.runner), with the executor above."""
    places = frontend_places(database)
    if not places.last_revision and places.last_frontend:
        apply_frontend(database)  # no backend revision: the frontend's migrations alone
    executor = CombinedOrderExecutor.from_config(alembic_config)
    executor.database, executor.places = database, places
    context = MigrationContext.from_config(alembic_config, executor, ConnectionExecutor(alembic_engine))
    executor.configure(connection=alembic_engine)
    if places.followed_by_frontend:
        # Downgrades stop above it: undoing it would meet the frontend's newer state, which has no down.
        alembic_config.minimum_downgrade_revision = context.history.previous_revision(places.followed_by_frontend)
    return context


def test_env_py_migrates_the_connection_it_is_handed(
    alembic_runner, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were env.py to connect to DATABASE_URL itself, it would find nothing there.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:nothing@127.0.0.1:9/nowhere")
    monkeypatch.delenv("DIRECT_DATABASE_URL", raising=False)

    alembic_runner.migrate_up_to("heads")

    version_table = f"{SYSTEMS['BACKEND_BOOKKEEPING_SCHEMA']}.{SYSTEMS['BACKEND_BOOKKEEPING_TABLE']}"
    assert version_table in database.tables()
    applied = {row[0] for row in database.query(f"SELECT version_num FROM {version_table}")}
    assert applied == set(alembic_runner.heads)
