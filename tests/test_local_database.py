"""The README's quick start: with nothing configured, `make migrate` starts the local database itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Result
from scripts.localcluster import cluster_root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Clone:
    """A copy of the repository's tracked files, as a fresh clone has them, with no .env."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port

    def make(self, *targets: str, **env: str) -> Result:
        environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENV_FILE", "DB_BACKEND")}
        completed = subprocess.run(
            ["make", "--no-print-directory", *targets], cwd=self.root, env={**environment, **env},
            capture_output=True, text=True, timeout=600, check=False,
        )
        return Result(completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Clone]:
    root, port = tmp_path / "repo", free_port()
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    # Installed packages are not what is under test: share them rather than install again.
    (root / "nextjs" / "node_modules").symlink_to(REPO_ROOT / "nextjs" / "node_modules")
    example = root / ".env.example"
    example.write_text(re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", example.read_text()))
    clone = Clone(root, port)
    yield clone
    clone.make("db-down")
    shutil.rmtree(cluster_root(root), ignore_errors=True)


def test_make_migrate_with_nothing_configured_starts_the_local_database(clone: Clone) -> None:
    result = clone.make("migrate")

    assert result.code == 0, result.output
    assert "No DATABASE_URL configured" in result.output
    assert f"local database started on 127.0.0.1:{clone.port}" in result.output
    assert "✓ backend: alembic upgrade head" in result.output
    assert listening(clone.port)


def test_db_up_is_idempotent_and_db_down_stops_it(clone: Clone) -> None:
    first, second = clone.make("db-up"), clone.make("db-up")
    assert first.code == 0 and second.code == 0, first.output + second.output
    assert "already running" in second.output

    down = clone.make("db-down")

    assert down.code == 0, down.output
    assert not listening(clone.port)


def test_db_up_refuses_a_database_on_another_host(clone: Clone) -> None:
    result = clone.make("db-up", DATABASE_URL="postgresql://app:secret@db.example.com:5432/app")

    assert result.code != 0
    assert "db-up/db-down only manage a local database" in result.output
    assert "secret" not in result.output
