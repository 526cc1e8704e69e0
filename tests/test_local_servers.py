"""make db-up / db-down / db-status act on the database that really runs, and a taken port says whose it is."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import Clone, copy_of_repository
from scripts.database.dbserver import compose_command
from scripts.database.localcluster import cluster_root

# Copies of the repository, each starting clusters of its own: the full tier.
pytestmark = pytest.mark.full


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_port_taken_by_another_checkouts_database_names_that_checkout(clone: Clone, tmp_path: Path) -> None:
    other = copy_of_repository(tmp_path / "other")
    try:
        started = other.make("db-up")
        assert started.code == 0, started.output
        its_url = other.example_database_url.render_as_string(hide_password=False)

        result = clone.make("db-up", DATABASE_URL=its_url)

        assert result.code != 0
        assert f"port {other.port} is taken by another checkout's database: {other.root}" in result.output, (
            result.output
        )
        assert f"cd {other.root} && make db-down" in result.output
        assert not (cluster_root(clone.root) / str(other.port)).exists()  # refused before initdb
        assert listening(other.port)  # the other checkout's database is left alone
    finally:
        other.tear_down()


def test_db_status_and_db_down_find_the_local_cluster_where_docker_is_configured(clone: Clone) -> None:
    started = clone.make("db-up")  # the copy's own cluster (DB_BACKEND=local)
    assert started.code == 0, started.output

    status = clone.make("db-status", DB_BACKEND="docker")
    down = clone.make("db-down", DB_BACKEND="docker")

    assert status.code == 0, status.output
    assert f"local database running on 127.0.0.1:{clone.port}" in status.output
    assert down.code == 0, down.output
    assert f"local database on 127.0.0.1:{clone.port} stopped" in down.output
    assert not listening(clone.port)


def test_db_status_says_nothing_runs_when_nothing_runs(clone: Clone) -> None:
    result = clone.make("db-status")

    assert result.code != 0
    assert f"database on 127.0.0.1:{clone.port} is not running" in result.output


def docker_engine() -> list[str]:
    info = subprocess.run(["docker", "info"], capture_output=True, check=False) if compose_command() else None
    if info is None or info.returncode != 0:
        pytest.skip("no Docker engine with Compose answers here (docker info): DB_BACKEND=auto's Docker path")
    return compose_command() or []


def test_auto_without_the_db_image_uses_the_local_binaries_and_leaves_no_docker_resources(clone: Clone) -> None:
    docker_engine()
    compose_file = clone.root / "docker-compose.yml"
    missing = f"template-test-missing-{uuid.uuid4().hex[:8]}:never"
    compose_file.write_text(compose_file.read_text().replace("image: postgres:18", f"image: {missing}", 1))
    project = f"template-auto-test-{uuid.uuid4().hex[:8]}"

    result = clone.make("db-up", DB_BACKEND="auto", COMPOSE_PROJECT_NAME=project)

    assert result.code == 0, result.output
    assert f"has no {missing} and cannot pull it: using the local binaries instead" in result.output
    assert f"local database started on 127.0.0.1:{clone.port}" in result.output
    label = f"label=com.docker.compose.project={project}"
    for kind in ("container", "volume", "network"):
        listed = subprocess.run(
            ["docker", kind, "ls", "--quiet", *(["--all"] if kind == "container" else []), "--filter", label],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        assert listed.stdout.split() == [], f"{kind}s left behind: {listed.stdout}"
