"""The README's quick start: with nothing configured, `make migrate` starts the local database itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Clone

# Only in `make test-all`: the quick start in copies of the repository, each starting its own cluster.
pytestmark = pytest.mark.full


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_migrate_with_nothing_configured_starts_the_local_database(clone: Clone) -> None:
    result = clone.make("migrate")

    assert result.code == 0, result.output
    assert "No DATABASE_URL configured" in result.output
    assert f"local database started on 127.0.0.1:{clone.port}" in result.output
    assert "✓ backend: alembic upgrade" in result.output
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


def test_two_first_runs_at_once_start_one_database(clone: Clone) -> None:
    runs = [clone.popen("db-up") for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("local database started" in output for output in outputs) == 1
    assert listening(clone.port)


def test_the_templates_own_stopped_database_gets_the_db_up_hint(clone: Clone) -> None:
    assert clone.make("db-up").code == 0 and clone.make("db-down").code == 0
    configured = clone.example_database_url.render_as_string(hide_password=False)

    result = clone.make("preflight", DATABASE_URL=configured)

    assert result.code != 0
    assert "start the template's local database: make db-up" in result.output
    assert not listening(clone.port)


def test_make_migrate_on_a_machine_without_uv_installs_a_pinned_uv_first(clone: Clone, tmp_path: Path) -> None:
    # Python and npm, as a fresh machine has them, but no uv anywhere on PATH.
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(Path(sys.base_prefix) / "bin" / "python3")
    path = os.pathsep.join([str(tools), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    assert shutil.which("uv", path=path) is None

    result = clone.make("migrate", PATH=path)

    assert result.code == 0, result.output
    pinned = re.search(r"^UV_VERSION := (\S+)$", (clone.root / "Makefile").read_text(), re.MULTILINE).group(1)
    assert f"installing uv {pinned} into .tools/uv" in result.output
    version = subprocess.run([clone.root / ".tools/uv/bin/uv", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[1] == pinned
    assert "✓ backend: alembic upgrade" in result.output
    assert listening(clone.port)
