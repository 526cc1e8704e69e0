"""docker-compose.yml and the Dockerfile, run as docs/deployment.md shows: build, up, a user, down and up, down -v.

On a fresh copy of the template, with a Docker engine (`.ci/run` starts the stand-ins of
../shared/tools/docker-standins where none answers) and `docker compose` or `docker-compose`.
The stack runs once per module under a compose project of its own, on free ports bound to
127.0.0.1; each test checks one thing it did. The notes API is the sample: without it
(docs/your-app.md), its test skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from conftest import Clone, alembic_head, copy_of_repository, drizzle_tags
from scripts.database.dbserver import compose_command
from testing.browser import free_port
from testing.systems import BACKEND_SCHEMA, declared

pytestmark = pytest.mark.full  # builds three images and runs the stack: minutes

SECRET = "compose-test-only-secret-0123456789"
PLACEHOLDER = "change-me-local-development-only-secret"  # .env.example's, refused by the apps
PASSWORD = "correct horse battery"
SERVICES = ("migrate", "backend", "frontend")  # the ones built from the Dockerfile
# The most each image may weigh (issue 14's targets, docs/deployment.md "Image sizes"), in
# megabytes as `docker images` counts them.
SIZE_TARGETS_MB = {"frontend": 300, "backend": 300, "migrate": 900}


def engine() -> list[str]:
    """The compose command, when a Docker engine answers; otherwise the test skips (fails under CI)."""
    info = subprocess.run(["docker", "info"], capture_output=True, check=False) if compose_command() else None
    if info is None or info.returncode != 0:
        reason = "no Docker engine with Compose answers here (docker info): .ci/run starts one"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return compose_command() or []


@dataclass
class Stack:
    """A compose project in a copy of the template: its commands, and what the tests observed."""

    clone: Clone
    compose: list[str]
    project: str
    ports: dict[str, int]
    seen: dict[str, object] = field(default_factory=dict)

    def env(self, **changes: str | None) -> dict[str, str]:
        env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.project,
            "POSTGRES_PORT": str(self.ports["db"]),
            "BACKEND_PORT": str(self.ports["backend"]),
            "FRONTEND_PORT": str(self.ports["frontend"]),
            "BETTER_AUTH_SECRET": SECRET,
            "BETTER_AUTH_URL": f"http://localhost:{self.ports['frontend']}",
        }
        env.update(changes)
        return {name: value for name, value in env.items() if value is not None}

    def run(self, *args: str, timeout: float = 1200, **env: str | None) -> subprocess.CompletedProcess[str]:
        """`docker compose ARGS` (or `docker-compose ARGS`) in the copy, as a user types it."""
        return subprocess.run(
            [*self.compose, *args],
            cwd=self.clone.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout

    def containers(self, service: str | None = None) -> list[str]:
        labels = ["--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            labels += ["--filter", f"label=com.docker.compose.service={service}"]
        return self.docker("ps", "--all", "--quiet", *labels).split()

    def state(self, service: str) -> dict:
        return json.loads(self.docker("inspect", "--format", "{{json .State}}", *self.containers(service)[:1]))

    def left_behind(self) -> dict[str, list[str]]:
        """Containers, volumes and networks of the project that still exist."""
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": self.containers(),
            "volumes": self.docker("volume", "ls", "--quiet", "--filter", label).split(),
            "networks": self.docker("network", "ls", "--quiet", "--filter", label).split(),
        }

    def volumes_mounted(self) -> set[str]:
        """Every volume a container of the project mounts, named or anonymous."""
        mounts = self.docker("inspect", "--format", "{{json .Mounts}}", *self.containers()).split("\n")
        return {m["Name"] for line in mounts if line for m in json.loads(line) if m["Type"] == "volume"}

    def up(self) -> None:
        """`up --detach`, then until migrate has exited and every long-running service is healthy."""
        result = self.run("up", "--detach")
        assert result.returncode == 0, result.stdout + result.stderr
        deadline = time.monotonic() + 600
        while True:
            healthy = all(self.state(s).get("Health", {}).get("Status") == "healthy" for s in ("db", "backend"))
            frontend = self.state("frontend").get("Health", {}).get("Status") == "healthy"
            if healthy and frontend and self.state("migrate")["Status"] == "exited":
                return
            if time.monotonic() > deadline:
                logs = self.run("logs", "--no-color", "--tail", "30").stdout
                raise AssertionError(f"the stack did not become healthy in 10 minutes:\n{logs}")
            time.sleep(2)

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def request(self, path: str, body: dict | None = None, cookie: str | None = None) -> tuple[int, str, str]:
        """A request to the frontend, as the browser sends it: status, body, and the session cookie set."""
        headers = {"origin": f"http://localhost:{self.ports['frontend']}", "content-type": "application/json"}
        if cookie:
            headers["cookie"] = cookie
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url("frontend", path), data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text, cookies = (
                    response.status,
                    response.read().decode(),
                    response.headers.get_all("set-cookie"),
                )
        except urllib.error.HTTPError as error:
            status, text, cookies = error.code, error.read().decode(), error.headers.get_all("set-cookie")
        session = next((c.split(";")[0] for c in cookies or [] if c.startswith("better-auth.session_token=")), "")
        return status, text, session

    def query(self, statement: str) -> list[tuple]:
        """A query on the stack's database, through its published port (.env.example's credentials)."""
        url = f"postgresql://app:app-local-password@127.0.0.1:{self.ports['db']}/app"
        with psycopg.connect(url, autocommit=True) as connection:
            return connection.execute(statement).fetchall()


def bookkeeping(clone: Clone, system: str) -> str:
    """A migration system's bookkeeping table, as systems.env names it: "schema.table"."""
    systems = declared(clone.root)
    return f"{systems[system + '_BOOKKEEPING_SCHEMA']}.{systems[system + '_BOOKKEEPING_TABLE']}"


def image_sizes(stack: Stack) -> dict[str, int]:
    """Each built image's size in bytes, by service (from its container: the same for v1 and v2)."""
    sizes = {}
    for service in SERVICES:
        image = stack.docker("inspect", "--format", "{{.Image}}", stack.containers(service)[0]).strip()
        sizes[service] = int(stack.docker("image", "inspect", "--format", "{{.Size}}", image))
    return sizes


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole scenario of docs/deployment.md, run once; what each step did, in ``stack.seen``."""
    compose = engine()
    clone = copy_of_repository(tmp_path_factory.mktemp("compose") / "repo")
    project = f"template-compose-test-{uuid.uuid4().hex[:8]}"
    ports = {service: free_port() for service in ("db", "backend", "frontend")}
    stack = Stack(clone, compose, project, ports)
    seen = stack.seen
    images: set[str] = set()
    try:
        started = time.monotonic()
        build = stack.run("build")
        seen["build"] = build
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        seen["build seconds"] = time.monotonic() - started

        stack.up()
        seen["first migrate"] = (stack.state("migrate"), stack.run("logs", "--no-color", "migrate").stdout)
        seen["alembic rows"] = stack.query(f"SELECT version_num FROM {bookkeeping(clone, 'BACKEND')}")
        seen["drizzle rows"] = stack.query(f"SELECT hash FROM {bookkeeping(clone, 'FRONTEND')}")
        seen["sizes"] = image_sizes(stack)
        images = {stack.docker("inspect", "--format", "{{.Image}}", stack.containers(s)[0]).strip() for s in SERVICES}
        seen["volumes mounted"] = stack.volumes_mounted()
        # The uid the app's process runs as, asked of its own interpreter (the images have no `id`).
        seen["uids"] = {
            service: stack.run("exec", "-T", service, *command).stdout.strip()
            for service, command in {
                "backend": ["python", "-c", "import os; print(os.getuid())"],
                "frontend": ["node", "-e", "console.log(process.getuid())"],
            }.items()
        }
        with urllib.request.urlopen(stack.url("backend", "/health"), timeout=30) as response:
            seen["health"] = (response.status, json.load(response))
        with urllib.request.urlopen(stack.url("frontend", "/"), timeout=60) as response:
            seen["frontend /"] = response.status
        with urllib.request.urlopen(stack.url("backend", "/openapi.json"), timeout=30) as response:
            seen["api paths"] = set(json.load(response)["paths"])

        email = f"{project}@example.com"
        seen["sign-up"] = stack.request("/api/auth/sign-up/email", {"email": email, "password": PASSWORD, "name": "A"})
        cookie = seen["sign-up"][2]
        if "/notes" in seen["api paths"]:  # the sample
            seen["notes without session"] = stack.request("/api/notes")
            seen["notes with session"] = stack.request("/api/notes", {"title": "from compose"}, cookie)
            seen["notes rows"] = stack.query(f"SELECT title FROM {BACKEND_SCHEMA}.note")

        # Without the secret exported: the commands that start no app work.
        seen["without secret"] = {
            " ".join(args): stack.run(*args, BETTER_AUTH_SECRET=None) for args in (["ps"], ["logs", "--no-color"])
        }
        seen["apps refuse"] = {
            (service, value): stack.run("run", "--rm", "--no-deps", service, BETTER_AUTH_SECRET=value)
            for service in ("backend", "frontend")
            for value in (None, PLACEHOLDER)
        }

        seen["down"] = stack.run("down")
        seen["after down"] = {
            name: subprocess.run(["docker", "volume", "inspect", name], capture_output=True).returncode == 0
            for name in seen["volumes mounted"]
        }
        seen["named after down"] = set(stack.left_behind()["volumes"])
        # The first run applied frontend migrations, so the second checks in full (nothing to apply)
        # and leaves the fast path's record in its volume; the third answers from it.
        stack.up()
        seen["second migrate"] = (stack.state("migrate"), stack.run("logs", "--no-color", "migrate").stdout)
        stack.run("down")
        stack.up()
        seen["third migrate"] = (stack.state("migrate"), stack.run("logs", "--no-color", "migrate").stdout)
        seen["sign-in"] = stack.request("/api/auth/sign-in/email", {"email": email, "password": PASSWORD})

        seen["down -v"] = stack.run("down", "-v")
        seen["left behind"] = stack.left_behind()
        seen["anonymous left"] = {
            name
            for name in seen["volumes mounted"]
            if subprocess.run(["docker", "volume", "inspect", name], capture_output=True).returncode == 0
        }
        seen["seconds"] = time.monotonic() - started
        yield stack
    finally:
        stack.run("down", "-v", "--remove-orphans")
        # The images this test built, not kept between runs: by id, and by the names Compose v1
        # (project_service) and v2 (project-service) give them, also when `up` failed.
        names = [f"{project}{sep}{service}" for service in SERVICES for sep in "_-"]
        for image in [*images, *names]:
            subprocess.run(["docker", "image", "rm", "--force", image], capture_output=True)
        clone.tear_down()


def test_the_images_build_and_their_sizes_are_printed(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    sizes = stack.seen["sizes"]

    with capsys.disabled():
        print(
            f"\ncompose test: build {stack.seen['build seconds']:.0f} s, whole scenario {stack.seen['seconds']:.0f} s"
        )
        for service, size in sizes.items():
            print(f"  image {service}: {size / 1e6:.0f} MB (target: at most {SIZE_TARGETS_MB[service]} MB)")
    assert set(sizes) == set(SERVICES) and all(size > 0 for size in sizes.values())


def test_each_image_is_within_its_size_target(stack: Stack) -> None:
    sizes_mb = {service: size / 1e6 for service, size in stack.seen["sizes"].items()}

    assert {s: f"{mb:.0f} MB" for s, mb in sizes_mb.items() if mb > SIZE_TARGETS_MB[s]} == {}, sizes_mb


def test_up_migrates_once_and_exits_0(stack: Stack) -> None:
    state, logs = stack.seen["first migrate"]

    assert (state["Status"], state["ExitCode"]) == ("exited", 0), logs
    assert logs.count("python -m scripts migrate") == 1, logs  # one make migrate, not restarted
    head = alembic_head(stack.clone.root)
    assert stack.seen["alembic rows"] == ([(head,)] if head else [])
    assert len(stack.seen["drizzle rows"]) == len(drizzle_tags(stack.clone.root))


def test_the_backend_answers_its_health_check(stack: Stack) -> None:
    assert stack.seen["health"] == (200, {"status": "ok"})


def test_the_frontend_answers_its_home_page(stack: Stack) -> None:
    assert stack.seen["frontend /"] == 200


def test_the_apps_run_as_an_unprivileged_user(stack: Stack) -> None:
    uids = stack.seen["uids"]

    assert all(uid.isdigit() and uid != "0" for uid in uids.values()), uids


def test_a_user_signs_up_through_the_frontend(stack: Stack) -> None:
    status, body, cookie = stack.seen["sign-up"]

    assert status == 200, body
    assert cookie.startswith("better-auth.session_token=")


def test_the_notes_api_refuses_a_request_without_the_session_and_accepts_one_with_it(stack: Stack) -> None:
    if "/notes" not in stack.seen["api paths"]:
        pytest.skip("the Note sample is removed (docs/your-app.md): no /notes to call")

    assert stack.seen["notes without session"][0] == 401
    assert stack.seen["notes with session"][0] == 201, stack.seen["notes with session"][1]
    assert stack.seen["notes rows"] == [("from compose",)]


def test_compose_commands_other_than_up_work_without_the_secret(stack: Stack) -> None:
    for command, result in stack.seen["without secret"].items():
        assert result.returncode == 0, (command, result.stderr)


def test_the_apps_refuse_to_start_without_a_secret_or_with_the_placeholder(stack: Stack) -> None:
    for (service, value), result in stack.seen["apps refuse"].items():
        assert result.returncode == 17, (service, value, result.stdout, result.stderr)
        assert "✗ BETTER_AUTH_SECRET is not set" in result.stdout + result.stderr, (service, value)


def test_down_leaves_no_anonymous_volume(stack: Stack) -> None:
    still_there = {name for name, exists in stack.seen["after down"].items() if exists}

    assert still_there == stack.seen["named after down"]  # only the file's named volumes, kept with the data


def test_after_down_and_up_migrate_finds_nothing_to_apply(stack: Stack) -> None:
    state, logs = stack.seen["second migrate"]

    assert (state["Status"], state["ExitCode"]) == ("exited", 0), logs
    assert "✓ nothing to apply:" in logs and "→ backend: alembic upgrade" not in logs, logs


def test_after_another_down_and_up_migrate_answers_up_to_date_from_its_record(stack: Stack) -> None:
    state, logs = stack.seen["third migrate"]

    assert (state["Status"], state["ExitCode"]) == ("exited", 0), logs
    assert "✓ up to date:" in logs and "pre-flight" not in logs, logs


def test_the_user_still_signs_in_after_down_and_up(stack: Stack) -> None:
    status, body, cookie = stack.seen["sign-in"]

    assert status == 200, body
    assert cookie.startswith("better-auth.session_token=")


def test_down_v_removes_everything_the_stack_made(stack: Stack) -> None:
    assert stack.seen["down -v"].returncode == 0, stack.seen["down -v"].stderr
    assert stack.seen["left behind"] == {"containers": [], "volumes": [], "networks": []}
    assert stack.seen["anonymous left"] == set()


def test_make_db_up_starts_the_compose_db_service_and_make_migrate_migrates_it(clone: Clone) -> None:
    compose = engine()
    project = f"template-db-up-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "COMPOSE_PROJECT_NAME": project, "POSTGRES_PORT": str(clone.port)}
    try:
        db_up = clone.make("db-up", COMPOSE_PROJECT_NAME=project, DB_BACKEND="auto")
        containers = subprocess.run(
            ["docker", "ps", "--quiet", "--filter", f"label=com.docker.compose.project={project}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        migrate = clone.make("migrate", COMPOSE_PROJECT_NAME=project, DB_BACKEND="auto")
        # Read inside the container: the tables are in the compose db, not in a local cluster.
        inside = subprocess.run(
            [
                *compose,
                "exec",
                "-T",
                "db",
                "psql",
                "-U",
                "app",
                "-d",
                "app",
                "-Atc",
                f"SELECT count(*) FROM {bookkeeping(clone, 'FRONTEND')}",
            ],
            cwd=clone.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        subprocess.run([*compose, "down", "-v"], cwd=clone.root, env=env, capture_output=True, check=False)

    assert db_up.code == 0, db_up.output
    assert "✓ database container up" in db_up.output
    assert len(containers) == 1
    assert migrate.code == 0, migrate.output
    assert inside.stdout.strip() == str(len(drizzle_tags(clone.root))), inside.stderr
    assert not (clone.root / ".localdb").exists()  # no local cluster was started instead
