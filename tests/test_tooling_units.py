"""The tooling's small parts, without PostgreSQL: the one cache, the Alembic reader's memory, the one
place a tool's environment is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.core import cache, systems
from scripts.core.config import Settings
from scripts.core.database_url import parse
from scripts.database.tools import ToolEnvironments
from scripts.history.alembic import alembic_revisions
from scripts.history.fingerprint import database_key

REVISION = '''"""{message}"""

revision = "{revision}"
down_revision = {down!r}
branch_labels = {labels!r}
'''


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cache, "CACHE", tmp_path / ".cache")
    return tmp_path / ".cache"


def test_a_check_that_passed_with_a_key_is_not_run_again_with_that_key(cache_folder: Path) -> None:
    runs: list[str] = []

    def check() -> list[str]:
        runs.append("run")
        return []

    assert cache.unless_passed("some-check", "key-1", check) == []
    assert cache.unless_passed("some-check", "key-1", check) == []
    assert cache.unless_passed("some-check", "key-2", check) == []

    assert runs == ["run", "run"]
    assert (cache_folder / "some-check-passed").read_text() == "key-2"


def test_a_check_that_found_problems_is_run_again(cache_folder: Path) -> None:
    assert cache.unless_passed("some-check", "key", lambda: ["a problem"]) == ["a problem"]

    assert not cache.passed("some-check", "key")


def test_a_record_is_read_back_whole_and_a_broken_one_is_an_error(cache_folder: Path) -> None:
    cache.write_record("some-record", {"summary": "up to date"})
    assert cache.read_record("some-record") == {"summary": "up to date"}
    assert [path.name for path in cache_folder.iterdir()] == ["some-record.json"]  # no temporary left

    (cache_folder / "some-record.json").write_text('{"summary": ')
    with pytest.raises(ValueError):
        cache.read_record("some-record")


def test_a_revision_file_changed_in_the_same_process_is_read_again(tmp_path: Path) -> None:
    first = tmp_path / "0001_first.py"
    first.write_text(REVISION.format(message="first", revision="aaa1", down=None, labels=None))
    second = tmp_path / "0002_second.py"
    second.write_text(REVISION.format(message="second", revision="bbb2", down="aaa1", labels="reports"))

    before = alembic_revisions(tmp_path)
    second.write_text(REVISION.format(message="second, rebased", revision="bbb2", down="ccc3", labels=None))
    after = alembic_revisions(tmp_path)

    assert [(r.revision, r.down_revisions, r.branch_labels) for r in before] == [
        ("aaa1", (), ()),
        ("bbb2", ("aaa1",), ("reports",)),
    ]
    assert after[1].down_revisions == ("ccc3",) and after[1].description == "second, rebased"


def test_each_tool_gets_the_url_in_the_form_it_reads() -> None:
    url = parse("postgresql://app:secret@db.example:5433/app?sslmode=require")
    frontend, backend = systems.load().all

    envs = ToolEnvironments(Settings({"ENV_FILE_VALUE": "kept"}, None), url)
    node, python = envs.for_step(frontend.folder), envs.for_step(backend.folder)

    assert python["ENV_FILE_VALUE"] == node["ENV_FILE_VALUE"] == "kept"
    assert python["DATABASE_URL"] == python["DIRECT_DATABASE_URL"]
    assert "uselibpqcompat=true" not in python["DATABASE_URL"]
    assert "uselibpqcompat=true" in node["DATABASE_URL"]  # node-postgres, told to read sslmode as libpq does
    assert python["PGHOST"] == node["PGHOST"] == "db.example" and python["PGSSLMODE"] == "require"


def test_a_tool_that_does_not_connect_gets_no_url_of_the_tooling() -> None:
    envs = ToolEnvironments(Settings({}, None), None)

    assert "DATABASE_URL" not in envs.python and "PGHOST" not in envs.node


def test_a_cached_answer_is_for_the_database_libpq_reads_whatever_the_spelling_or_password() -> None:
    key = database_key("postgresql://app:secret@127.0.0.1:5432/app")

    assert database_key("postgres://app:other@127.0.0.1:5432/app") == key
    assert database_key(" postgresql+psycopg2://app@127.0.0.1:5432/app?password=third ") == key
    assert database_key("postgresql://app@/app?host=127.0.0.1&port=5432") == key
    assert database_key("postgresql://app:secret@127.0.0.1:5433/app") != key
    assert database_key("postgresql://app:secret@127.0.0.1:5432/other") != key
