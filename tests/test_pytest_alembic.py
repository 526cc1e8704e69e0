"""pytest-alembic's own built-in tests, through its own fixtures, on the backend's history.

pytest-alembic hands env.py the connection to migrate in ``config.attributes["connection"]``
(Alembic's cookbook pattern): these tests pass only because env.py migrates that connection
rather than connecting to DATABASE_URL itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, create_engine

from conftest import REPO_ROOT, SYSTEMS, Database, apply_frontend

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> dict[str, str]:
    return {"file": str(REPO_ROOT / SYSTEMS["BACKEND_DIR"] / "alembic.ini")}


@pytest.fixture
def alembic_engine(database: Database) -> Iterator[Engine]:
    # The frontend's tables first: the backend's keys point at them. (pytest-alembic replays the
    # backend on its own, so a history whose backend was written against an older frontend state
    # than the newest, docs/migrations.md "The combined order", is beyond these built-in tests.)
    apply_frontend(database)
    # Nothing that names DATABASE_URL's database: only the engine's connection reaches it.
    engine = create_engine(database.url_string(drivername="postgresql+psycopg2"))
    try:
        yield engine
    finally:
        engine.dispose()


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
