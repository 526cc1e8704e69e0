"""`make bench-live`: what a migration does to the traffic of the running apps.

The template's real apps (the FastAPI backend under uvicorn, the Next.js frontend built and
served by `next start`) run on a populated database (BENCH_LIVE_NOTES rows in api.note,
BENCH_LIVE_USERS users in Better Auth's "user"), while signed-in users read and write at a
fixed rate (bench/live_load.py). During each change of bench/live_changes.py, applied once by
the raw tool in its naive form and once by `make migrate` with the template's recipe, it
records the requests' failures and latency before and during the migration, and how long any
app query waited on a lock the migration held or queued for (bench/live_locks.py).

Everything runs on scratch databases: a throwaway PostgreSQL cluster in a temporary folder
(or, BENCH_LIVE_SERVER=URL, new databases on that server), in copies of the repository;
both are removed at the end. The table is printed and written to bench/results/.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

from bench.live_changes import CHANGES, FK_NAME, INDEX_NAME, SETUP_BODY, USER_FIELD, Change, Copy, check, run
from bench.live_load import Load, LoadUser, Sample
from bench.live_locks import HOLDER_NAME, MONITOR_NAME, LockMonitor
from bench.run import copy_working_tree
from scripts.core.config import REPO_ROOT
from scripts.core.database_url import for_libpq, parse
from scripts.core.errors import Failure, UsageError
from scripts.core.redact import add_secret, redact
from scripts.core.report import entry_point
from scripts.database.localcluster import LocalCluster
from scripts.database.tools import NODE_BIN

RESULTS = REPO_ROOT / "bench" / "results"
# Better Auth's own signUpEmail, as the test suite signs users up.
SIGN_UP = REPO_ROOT / "testing" / "support" / "create-user.mts"
PASSWORD = "bench-live password"  # noqa: S105 - the load users' own, in a scratch database


NOT_THE_APPS_OWN = {"node_modules", ".next", ".venv", "__pycache__"}


def app_files(copy: Copy) -> dict[Path, bytes]:
    """The apps' files of a copy (not their installed packages or builds), as they are now."""
    found: dict[Path, bytes] = {}
    for folder in (copy.frontend, copy.backend):
        for directory, subfolders, files in os.walk(folder):
            subfolders[:] = [
                name for name in subfolders if name not in {"node_modules", ".next", ".venv", "__pycache__"}
            ]
            for name in files:
                found[Path(directory) / name] = (Path(directory) / name).read_bytes()
    return found


def restore(copy: Copy, files: dict[Path, bytes], state: Copy) -> Copy:
    """The copy's apps as they were, and the copy's own record of them (its Alembic head)."""
    for path in set(app_files(copy)) - set(files):
        path.unlink()
    for path, content in files.items():
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return state


def number(name: str, default: str) -> float:
    value = os.environ.get(name, default)
    try:
        parsed = float(value)
    except ValueError:
        parsed = -1
    if parsed < 0:
        raise UsageError(f"{name}={value!r} is not a number", f"e.g. {name}={default}")
    return parsed


@dataclass(frozen=True)
class Knobs:
    """The run's sizes and times, from the environment (docs/development.md, Benchmark)."""

    notes: int
    users: int
    load_users: int
    rate: float
    warmup: float
    before: float
    after: float
    hold: float
    timeout: float
    server: str
    keep: bool
    only: tuple[str, ...]
    # The lock-wait case's recipe once per "DB_LOCK_TIMEOUT/DB_LOCK_RETRIES/DB_LOCK_RETRY_MAX_WAIT",
    # each on a fresh clone, in the same run (an A/B on the same machine); none: the shipped defaults.
    lock_settings: tuple[str, ...] = ()
    # A backend change's recipe again per group of "name=value;..." settings, SET at the start of
    # each of its revisions (e.g. max_parallel_maintenance_workers=0), each on a clone, in the same run.
    recipe_settings: tuple[str, ...] = ()

    @classmethod
    def read(cls) -> Knobs:
        knobs = cls(
            notes=int(number("BENCH_LIVE_NOTES", "1000000")),
            users=max(1, int(number("BENCH_LIVE_USERS", "100000"))),
            load_users=max(1, int(number("BENCH_LIVE_LOAD_USERS", "20"))),
            rate=number("BENCH_LIVE_RATE", "50"),
            warmup=number("BENCH_LIVE_WARMUP", "5"),
            before=number("BENCH_LIVE_BEFORE", "8"),
            after=number("BENCH_LIVE_AFTER", "2"),
            hold=number("BENCH_LIVE_HOLD", "8"),
            timeout=number("BENCH_LIVE_TIMEOUT", "5"),
            server=os.environ.get("BENCH_LIVE_SERVER", ""),
            keep=os.environ.get("BENCH_LIVE_KEEP") == "1",
            only=tuple(filter(None, os.environ.get("BENCH_LIVE_ONLY", "").split(","))),
            lock_settings=tuple(filter(None, os.environ.get("BENCH_LIVE_LOCK_SETTINGS", "").split(","))),
            recipe_settings=tuple(filter(None, os.environ.get("BENCH_LIVE_RECIPE_SETTINGS", "").split(","))),
        )
        for group in knobs.recipe_settings:
            if not all(re.fullmatch(r"[a-z_]+=[A-Za-z0-9_.]+", part) for part in group.split(";")):
                raise UsageError(
                    f"BENCH_LIVE_RECIPE_SETTINGS: {group!r} is not name=value;name=value",
                    "e.g. BENCH_LIVE_RECIPE_SETTINGS=max_parallel_maintenance_workers=0",
                )
        for setting in knobs.lock_settings:
            if not re.fullmatch(r"\d+(ms|s)/\d+/\d+(\.\d+)?", setting):
                raise UsageError(
                    f"BENCH_LIVE_LOCK_SETTINGS: {setting!r} is not TIMEOUT/RETRIES/MAX_WAIT",
                    "e.g. BENCH_LIVE_LOCK_SETTINGS=200ms/30/2,2s/5/15",
                )
        if knobs.rate <= 0 or knobs.timeout <= 0:
            raise UsageError("BENCH_LIVE_RATE and BENCH_LIVE_TIMEOUT must be above 0", "e.g. 50 and 5")
        return knobs


@dataclass
class Row:
    change: str
    form: str
    outcome: str
    migration_seconds: float
    sent: int
    failed: int
    failed_before: int
    p50_before_ms: float
    p99_before_ms: float
    p50_during_ms: float
    p99_during_ms: float
    longest_lock_wait_s: float
    app_queries_waited: int
    longest_wait_behind: str
    failures: dict[str, int] = field(default_factory=dict)
    # The recipe's variant, if any: "50ms/20/2" (BENCH_LIVE_LOCK_SETTINGS), "name=value;..." (..._RECIPE_SETTINGS).
    lock_settings: str = ""
    lock_timeout_s: float = 0.0  # make migrate's DB_LOCK_TIMEOUT in this row, for the target

    @property
    def p99_ratio(self) -> float:
        return self.p99_during_ms / self.p99_before_ms if self.p99_before_ms else float("nan")


COLUMNS = (
    ("change", 38),
    ("form", 20),
    ("migration", 9),
    ("sent", 5),
    ("failed", 6),
    ("p50 before", 10),
    ("p99 before", 10),
    ("p50 during", 10),
    ("p99 during", 10),
    ("p99 x", 6),
    ("lock wait", 9),
    ("outcome", 0),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Server:
    """Where the scratch databases live: a throwaway cluster, or BENCH_LIVE_SERVER."""

    def __init__(self, knobs: Knobs, workdir: Path) -> None:
        self.cluster: LocalCluster | None = None
        if knobs.server:
            self.admin = parse(knobs.server)
        else:
            port = free_port()
            self.admin = parse(f"postgresql://bench:bench-only-password@127.0.0.1:{port}/postgres")
            self.cluster = LocalCluster(home=workdir / "cluster", port=port)
            self.cluster.ensure_running(self.admin)
        add_secret(self.admin.password)  # masked in everything printed or written
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return for_libpq(self.admin.set(database=name))

    def execute(self, statement: sql.Composable | str, database: str | None = None) -> None:
        connection = psycopg2.connect(self.url(database) if database else for_libpq(self.admin))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def create(self, name: str, template: str | None = None) -> str:
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.execute(statement)
        self.created.append(name)
        return self.url(name)

    def tear_down(self, keep: str | None) -> None:
        for name in self.created:
            if name != keep:
                self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if self.cluster:
            self.cluster.stop()


def copy_repository(target: Path, *, own_node_modules: bool = False, python: bool = True) -> Path:
    """The working tree as git sees it (tracked and new files), with its own Python environment.

    ``own_node_modules``: node_modules as hard links rather than a symlink (Turbopack, in `next
    build`, refuses packages outside the app's folder), a full copy where links cannot be made."""
    copy_working_tree(target)
    node_modules = REPO_ROOT / "nextjs" / "node_modules"
    if not own_node_modules:
        (target / "nextjs" / "node_modules").symlink_to(node_modules)
    elif run(["cp", "-al", str(node_modules), str(target / "nextjs")], target, {}).returncode != 0:
        shutil.rmtree(target / "nextjs" / "node_modules", ignore_errors=True)
        check(run(["cp", "-a", str(node_modules), str(target / "nextjs")], target, {}), "copying node_modules")
    if python:
        check(run(["uv", "sync", "--frozen", "--compile-bytecode", "--quiet"], target, {}), "uv sync in a copy")
        (target / ".venv" / ".synced").touch()
    return target


FILL = """
SET session_replication_role = replica;  -- rows made consistent by construction: no trigger per row
INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at)
SELECT 'bulk-' || g, 'Bulk user ' || g, 'bulk-' || g || '@example.com', true, now() - g * interval '1 minute', now()
FROM generate_series(1, %(users)s) AS g;
INSERT INTO api.note (user_id, editor_id, title, body, created_at)
SELECT 'bulk-' || (1 + g %% %(users)s), 'bulk-' || (1 + (g * 7) %% %(users)s), 'note ' || g,
       'the body of note ' || g, now() - g * interval '1 second'
FROM generate_series(1, %(notes)s) AS g;
SET session_replication_role = DEFAULT;
"""

LOAD_USERS = """
INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at)
SELECT 'load-' || g, 'Load user ' || g, 'load-' || g || '@example.com', false, now(), now()
FROM generate_series(2, %(count)s) AS g;
INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at)
SELECT 'load-account-' || g, 'load-' || g, 'credential', 'load-' || g,
       (SELECT password FROM account WHERE user_id = %(first)s), now(), now()
FROM generate_series(2, %(count)s) AS g;
"""


class Apps:
    """The backend (uvicorn) and the frontend (a production build, next start), on one database at a time."""

    def __init__(self, root: Path, knobs: Knobs, workdir: Path, secret: str) -> None:
        self.root, self.knobs, self.workdir, self.secret = root, knobs, workdir, secret
        self.backend_port, self.frontend_port = free_port(), free_port()
        self.backend = f"http://127.0.0.1:{self.backend_port}"
        self.frontend = f"http://127.0.0.1:{self.frontend_port}"
        self.processes: list[subprocess.Popen] = []
        self.database: str | None = None

    def env(self, database_url: str, application: str) -> dict[str, str]:
        return {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "DATABASE_URL": database_url,
            "BETTER_AUTH_SECRET": self.secret,
            "BETTER_AUTH_URL": self.frontend,
            "BACKEND_URL": self.backend,
            "NEXT_TELEMETRY_DISABLED": "1",
            "PGAPPNAME": application,
            # The copy's own packages: next from elsewhere would render with a second React.
            "PATH": f"{self.root / 'nextjs' / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        }

    def build(self, database_url: str) -> float:
        """`next build` (next.config.ts's rewrite to the backend is fixed at build time); its seconds."""
        started = time.monotonic()
        result = subprocess.run(
            ["next", "build"],
            cwd=self.root / "nextjs",
            env=self.env(database_url, "bench-live-build"),
            capture_output=True,
            text=True,
            check=False,
        )
        check(result, "next build")
        return time.monotonic() - started

    def serve(self, database_url: str) -> None:
        if self.database == database_url:
            return
        self.stop()
        log = (self.workdir / "apps.log").open("a")
        host = ("--host", "127.0.0.1")
        # The backend as this checkout has it: the copies' models change with the migrations.
        backend = [sys.executable, "-m", "uvicorn", "app.main:app", *host, "--port", str(self.backend_port)]
        frontend = ["next", "start", "--hostname", host[1]]
        self.processes = [
            subprocess.Popen(
                [*backend, "--no-access-log"],
                cwd=REPO_ROOT / "backend",
                env=self.env(database_url, "bench-live-backend"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ),
            subprocess.Popen(
                [*frontend, "--port", str(self.frontend_port)],
                cwd=self.root / "nextjs",
                env=self.env(database_url, "bench-live-frontend"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ),
        ]
        self.database = database_url
        for url, process in ((f"{self.backend}/health", self.processes[0]), (f"{self.frontend}/", self.processes[1])):
            wait_for(url, process, self.workdir / "apps.log")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        self.processes, self.database = [], None


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30):  # noqa: S310 - our own server on 127.0.0.1
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise Failure(f"bench-live: {url} never answered", f"see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)


def hold_lock(url: str, seconds: float, ready: threading.Event) -> None:
    """An app transaction holding a row of api.note (and so a lock on the table): for ``seconds``
    from the moment the migration first waits for it (the tools take a while to start), or,
    when nothing comes to wait, ``seconds`` plus a minute."""
    holder = psycopg2.connect(url, application_name=HOLDER_NAME)
    watcher = psycopg2.connect(url, application_name=MONITOR_NAME)
    watcher.autocommit = True
    try:
        with holder.cursor() as cursor, watcher.cursor() as watch:
            cursor.execute("SELECT id FROM api.note ORDER BY id LIMIT 1 FOR UPDATE")
            ready.set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                watch.execute(
                    "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid)))",
                    (holder.get_backend_pid(),),
                )
                if watch.fetchone()[0]:
                    break
                time.sleep(0.05)
            time.sleep(seconds)
        holder.commit()
    finally:
        holder.close()
        watcher.close()


@dataclass
class Measured:
    seconds: float
    code: int
    output: str


def lock_variables(setting: str) -> dict[str, str]:
    """ "200ms/30/2": make migrate's DB_LOCK_TIMEOUT, DB_LOCK_RETRIES and DB_LOCK_RETRY_MAX_WAIT."""
    if setting.count("/") != 2:
        return {}
    timeout, retries, max_wait = setting.split("/")
    return {"DB_LOCK_TIMEOUT": timeout, "DB_LOCK_RETRIES": retries, "DB_LOCK_RETRY_MAX_WAIT": max_wait}


def with_settings(revision: str, group: str) -> str:
    """A revision's text with ``group`` ("name=value;...") SET at the start of its upgrade() and RESET
    at its end: a plain SET outlasts the commit of an autocommit_block (CREATE INDEX CONCURRENTLY)."""
    pairs = [part.split("=", 1) for part in group.split(";")]
    start = "".join(f'    op.execute("SET {name} = {value}")\n' for name, value in pairs)
    end = "".join(f'    op.execute("RESET {name}")\n' for name, _ in pairs)
    head, marker, rest = revision.partition("def upgrade() -> None:\n")
    body, downgrade, tail = rest.partition("\n\ndef downgrade()")
    return f"{head}{marker}{start}{body.rstrip()}\n{end}{downgrade}{tail}"


def migrate(change: Change, form: str, copy: Copy, url: str, lock_setting: str = "") -> Measured:
    env = {"DATABASE_URL": url, "ENV_FILE": "/dev/null", "PGAPPNAME": "bench-live-migration"}
    if form == "recipe":
        env.update(lock_variables(lock_setting))
        command, cwd = ["make", "--no-print-directory", "migrate"], copy.root
    elif change.system == "backend":
        command, cwd = ["uv", "run", "--frozen", "alembic", "upgrade", "head"], copy.backend
    else:
        command, cwd = [str(NODE_BIN / "drizzle-kit"), "migrate"], copy.frontend
        env["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"
    started = time.monotonic()
    result = run(command, cwd, env)
    return Measured(time.monotonic() - started, result.returncode, result.stdout + result.stderr)


def outcome_of(measured: Measured) -> str:
    """ "applied", or the failure's cause in one line: the wrapper's ✗ line, else the database's message;
    with how many times it gave way on a lock (env.py's and the runner's "lock timeout ... attempt" lines)."""
    gave_way = len(re.findall(r"^\s*lock timeout .*: attempt \d+ of \d+", measured.output, re.MULTILINE))
    if measured.code == 0:
        return f"applied{f' (after {gave_way} lock timeouts)' if gave_way else ''}"
    # Without drizzle-kit's spinner (terminal escapes) and Node's object dumps around the cause.
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\[[⠀-⣿]\] [^\n]*?\.\.\.", "", measured.output)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for found in (
        lambda line: line.startswith("✗"),
        lambda line: re.match(r"(cause: )?(error|message): ", line) is not None or "psycopg2.errors." in line,
        lambda line: "error" in line.lower() and not line.startswith("make:"),
    ):
        cause = next((line for line in lines if found(line)), None)
        if cause:
            break
    cause = re.sub(r"^(cause: )?(error|message): ", "", cause or (lines[-1] if lines else "")).strip(" ',")
    return f"FAILED (exit {measured.code}): {cause[:200]}"


def measure(
    change: Change,
    form: str,
    copy: Copy,
    url: str,
    apps: Apps,
    users: list[LoadUser],
    knobs: Knobs,
    lock_setting: str = "",
    lock_timeout: float = 0.0,
) -> tuple[Row, Measured]:
    apps.serve(url)
    load = Load(apps.frontend, apps.backend, users, knobs.rate, knobs.timeout)
    monitor = LockMonitor(url)
    holder: threading.Thread | None = None
    with ExitStack() as stack:
        monitor.start()
        stack.callback(monitor.stop)
        load.start()
        stack.callback(load.stop)
        time.sleep(knobs.warmup)
        if change.hold_lock:
            # Taken before the "before" window: the latency before is the app's with its long
            # transaction open, so what changes during is the migration's doing, not the holder's.
            ready = threading.Event()
            holder = threading.Thread(target=hold_lock, args=(url, knobs.hold, ready), daemon=True)
            holder.start()
            ready.wait(10)
        time.sleep(knobs.before)
        started = time.monotonic()
        measured = migrate(change, form, copy, url, lock_setting)
        ended = time.monotonic()
        time.sleep(knobs.after)
        stack.close()
    if holder:
        holder.join()
    samples = load.samples
    before = [s for s in samples if started - knobs.before <= s.scheduled < started]
    during = [s for s in samples if started <= s.scheduled <= ended]
    longest, waited, behind = monitor.longest_wait()
    failures: dict[str, int] = {}
    for sample in during:
        if not sample.ok:
            failures[f"{sample.operation} {sample.status}"] = failures.get(f"{sample.operation} {sample.status}", 0) + 1
    row = Row(
        change=change.title,
        form=form,
        outcome=outcome_of(measured),
        migration_seconds=round(measured.seconds, 2),
        sent=len(during),
        failed=sum(not s.ok for s in during),
        failed_before=sum(not s.ok for s in before),
        p50_before_ms=ms(before, 0.50),
        p99_before_ms=ms(before, 0.99),
        p50_during_ms=ms(during, 0.50),
        p99_during_ms=ms(during, 0.99),
        longest_lock_wait_s=round(longest, 2),
        app_queries_waited=waited,
        longest_wait_behind=behind,
        failures=failures,
        lock_settings=lock_setting,
        lock_timeout_s=lock_timeout,
    )
    return row, measured


def ms(samples: list[Sample], fraction: float) -> float:
    return round(percentile([s.seconds for s in samples], fraction) * 1000, 1)


def format_row(values: list[str]) -> str:
    return " ".join(value.ljust(width) if width else value for value, (_, width) in zip(values, COLUMNS, strict=True))


def table_lines(rows: list[Row]) -> list[str]:
    lines = [format_row([name for name, _ in COLUMNS])]
    for row in rows:
        lines.append(
            format_row(
                [
                    row.change[:38],
                    f"{row.form} {row.lock_settings}".strip(),
                    f"{row.migration_seconds:.2f} s",
                    str(row.sent),
                    str(row.failed),
                    f"{row.p50_before_ms:.0f} ms",
                    f"{row.p99_before_ms:.0f} ms",
                    f"{row.p50_during_ms:.0f} ms",
                    f"{row.p99_during_ms:.0f} ms",
                    f"{row.p99_ratio:.1f}",
                    f"{row.longest_lock_wait_s:.2f} s",
                    row.outcome
                    + (f"; longest wait behind: {row.longest_wait_behind}" if row.longest_wait_behind else ""),
                ]
            )
        )
    return lines


def markdown(rows: list[Row]) -> str:
    header = "| change | form | migration | sent | failed | p50 / p99 before | p50 / p99 during | lock wait | outcome |"
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        form = f"{r.form} {r.lock_settings}".strip()
        lines.append(
            f"| {r.change} | {form} | {r.migration_seconds:.2f} s | {r.sent} | {r.failed} | "
            f"{r.p50_before_ms:.0f} / {r.p99_before_ms:.0f} ms | {r.p50_during_ms:.0f} / {r.p99_during_ms:.0f} ms | "
            f"{r.longest_lock_wait_s:.2f} s | {r.outcome.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def lock_timeout_seconds(copy: Copy, given: str = "") -> tuple[str, float]:
    """DB_LOCK_TIMEOUT as make migrate reads it (given, else the environment, else .env.example), in seconds."""
    from dotenv import dotenv_values

    shipped = dotenv_values(copy.root / ".env.example").get("DB_LOCK_TIMEOUT")
    value = given or os.environ.get("DB_LOCK_TIMEOUT") or shipped or ""
    value = value.strip() or "5s"
    units = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if value.endswith(unit):
            return value, float(value[: -len(unit)]) * factor
    return value, float(value) / 1000


def verdicts(rows: list[Row]) -> list[str]:
    """The issue's targets, for the recipes; and whether each naive form shows a difference."""
    lines = []
    naive_of = {row.change: row for row in rows if row.form == "naive"}
    for recipe in (row for row in rows if row.form == "recipe"):
        name = f"{recipe.change}{f' ({recipe.lock_settings})' if recipe.lock_settings else ''}"
        missed = []
        if recipe.failed:
            missed.append(f"{recipe.failed} failed requests")
        if recipe.p99_ratio > 2:
            missed.append(f"p99 {recipe.p99_ratio:.1f}x before")
        if recipe.longest_lock_wait_s > recipe.lock_timeout_s:
            missed.append(f"an app query waited {recipe.longest_lock_wait_s:.2f} s > lock timeout")
        if not recipe.outcome.startswith("applied"):
            missed.append("the migration did not apply")
        lines.append(f"  {name}: recipe {'meets the targets' if not missed else 'MISSES: ' + '; '.join(missed)}")
        naive = naive_of.get(recipe.change)
        if naive:
            shown = (
                naive.failed > recipe.failed
                or naive.longest_lock_wait_s > recipe.longest_lock_wait_s + 0.2
                or naive.p99_ratio > 1.5 * recipe.p99_ratio
                or not naive.outcome.startswith("applied")
            )
            lines.append(
                f"  {name}: naive form {'shows a difference' if shown else 'shows NO measurable difference'} "
                f"(failed {naive.failed} vs {recipe.failed}, lock wait {naive.longest_lock_wait_s:.2f} s vs "
                f"{recipe.longest_lock_wait_s:.2f} s, p99 {naive.p99_ratio:.1f}x vs {recipe.p99_ratio:.1f}x)"
            )
    return lines


# What each recipe leaves in the catalog, by change: (what, a query answering true or false).
CATALOG = {
    "index": (
        "index exists and is valid",
        "SELECT coalesce(bool_and(indisvalid), false) FROM pg_index "
        f"WHERE indexrelid = to_regclass('api.{INDEX_NAME}')",
    ),
    "foreign-key": (
        "foreign key is validated",
        f"SELECT coalesce(bool_and(convalidated), false) FROM pg_constraint WHERE conname = '{FK_NAME}'",
    ),
    "column": (
        "api.note.slug is NOT NULL",
        "SELECT coalesce(bool_and(attnotnull), false) FROM pg_attribute "
        "WHERE attrelid = to_regclass('api.note') AND attname = 'slug' AND NOT attisdropped",
    ),
    "auth-field": (
        f"user.{USER_FIELD} is NOT NULL",
        "SELECT coalesce(bool_and(attnotnull), false) FROM pg_attribute "
        f"WHERE attrelid = to_regclass('public.\"user\"') AND attname = '{USER_FIELD}' AND NOT attisdropped",
    ),
    "lock-wait": (
        "api.note.archived_at exists",
        "SELECT count(*) = 1 FROM pg_attribute "
        "WHERE attrelid = to_regclass('api.note') AND attname = 'archived_at' AND NOT attisdropped",
    ),
    "drizzle-index": (
        "index on user exists and is valid",
        "SELECT coalesce(bool_and(indisvalid), false) FROM pg_index "
        "WHERE indexrelid = to_regclass('public.user_created_at_idx')",
    ),
}


def catalog(url: str, changes: list[Change]) -> dict[str, bool]:
    """What the catalog says of each change that ran."""
    connection = psycopg2.connect(url, application_name=MONITOR_NAME)
    try:
        with connection.cursor() as cursor:
            found = {}
            for change in changes:
                if change.key in CATALOG and not change.skip_reason:
                    what, query = CATALOG[change.key]
                    cursor.execute(query)
                    found[what] = bool(cursor.fetchone()[0])
            return found
    finally:
        connection.close()


def say(message: str) -> None:
    print(redact(message), flush=True)


def main() -> int:
    knobs = Knobs.read()
    changes = [c for c in CHANGES if c.key in knobs.only or not (knobs.only or c.on_request)]
    if not changes:
        raise UsageError(
            f"BENCH_LIVE_ONLY={','.join(knobs.only)} names no change", f"one of {[c.key for c in CHANGES]}"
        )
    begun = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    rows: list[Row] = []
    outputs: list[str] = []
    skipped: list[tuple[str, str]] = []
    kept: str | None = None
    found: dict[str, bool] = {}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        server = Server(knobs, workdir)
        suffix = secrets.token_hex(3)
        names = {form: f"bench_live_{form}_{suffix}" for form in ("template", "naive", "recipe")}
        kept = names["recipe"] if knobs.keep else None
        stack.callback(server.tear_down, kept)
        say(
            f"bench-live: {knobs.notes:,} notes, {knobs.users:,} users, {knobs.load_users} load users at "
            f"{knobs.rate:g} req/s (timeout {knobs.timeout:g} s); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        say(f"  scratch databases on {server.admin.host}:{server.admin.port}; copies of the repository in {workdir}")

        # The frontend is built and served from a copy of its own, which no change touches.
        app_root = copy_repository(workdir / "app", own_node_modules=True, python=False)
        copies = {}
        for form in ("recipe", "naive"):
            root = copy_repository(workdir / form)
            head = run(["uv", "run", "--frozen", "alembic", "heads"], root / "backend", {}).stdout.split()[0]
            copies[form] = Copy(root, head)
            copies[form].add_revision("setup", SETUP_BODY)
            copies[form].model()
        recipe_copy = copies["recipe"]
        lock_timeout_text, _ = lock_timeout_seconds(recipe_copy)

        template = server.create(names["template"])
        check(recipe_copy.make("migrate", env={"DATABASE_URL": template, "ENV_FILE": "/dev/null"}), "make migrate")
        started = time.monotonic()
        connection = psycopg2.connect(template, application_name=MONITOR_NAME)
        with connection, connection.cursor() as cursor:
            cursor.execute(FILL, {"users": knobs.users, "notes": knobs.notes})
        connection.close()
        server.execute("VACUUM ANALYZE", names["template"])
        say(f"  filled: {knobs.users:,} users, {knobs.notes:,} notes in {time.monotonic() - started:.1f} s")

        secret = secrets.token_urlsafe(32)
        add_secret(secret)
        apps = Apps(app_root, knobs, workdir, secret)
        stack.callback(apps.stop)
        signed_up = run(
            [str(NODE_BIN / "tsx"), str(SIGN_UP), "load-1@example.com", PASSWORD, "Load user 1"],
            app_root / "nextjs",
            apps.env(template, "bench-live-setup"),
        )
        check(signed_up, "signing up the first load user (Better Auth's signUpEmail)")
        first = json.loads(signed_up.stdout.strip().splitlines()[-1])["userId"]
        connection = psycopg2.connect(template, application_name=MONITOR_NAME)
        with connection, connection.cursor() as cursor:
            cursor.execute(LOAD_USERS, {"count": knobs.load_users, "first": first})
        connection.close()
        urls = {form: server.create(names[form], template=names["template"]) for form in ("naive", "recipe")}

        started = time.monotonic()
        build_seconds = apps.build(urls["recipe"])
        say(f"  frontend: next build in {build_seconds:.0f} s, served by next start")
        say(
            f"  make migrate's lock timeout: DB_LOCK_TIMEOUT={lock_timeout_text}; the app lock is held "
            f"{knobs.hold:g} s from the migration's first wait (BENCH_LIVE_HOLD)"
        )
        say(f"  setup took {time.monotonic() - begun:.0f} s\n")

        for change in changes:
            if change.skip_reason:
                skipped.append((change.title, change.skip_reason))
                say(f"  {change.title}: SKIPPED: {change.skip_reason}")
                continue
            variants = [""]
            if change.hold_lock and knobs.lock_settings:
                variants = list(knobs.lock_settings)
            elif change.system == "backend" and not change.hold_lock and knobs.recipe_settings:
                variants = ["", *knobs.recipe_settings]
            runs = [("naive", ""), *(("recipe", variant) for variant in variants)]
            clones: dict[int, str] = {}
            originals: dict[Path, str] = {}
            for number, (form, lock_setting) in enumerate(runs):
                copy = copies[form]
                if number < 2:
                    prepare = change.prepare_recipe if form == "recipe" else change.prepare_naive
                    if form == "naive":
                        naive_before = (app_files(copy), dataclasses.replace(copy))
                    before = set(copy.backend.glob("alembic/versions/*.py"))
                    prepare(copy, {"ENV_FILE": "/dev/null"})
                    added = set(copy.backend.glob("alembic/versions/*.py")) - before
                    originals = {path: path.read_text() for path in added}
                if lock_setting and not lock_variables(lock_setting):
                    for path, text in originals.items():
                        path.write_text(with_settings(text, lock_setting))
                if number == 1 and len(runs) > 2:
                    # The recipe again with other settings: each on a clone of the recipe
                    # database as it is now (the earlier changes applied), made while nothing is connected.
                    apps.stop()
                    for other in range(2, len(runs)):
                        clones[other] = server.create(f"{names[form]}_{other}", template=names[form])
                url = clones.get(number, urls[form])
                users = [
                    LoadUser(f"load-{n}@example.com", PASSWORD, f"10.77.{n // 250}.{n % 250 + 1}")
                    for n in range(1, knobs.load_users + 1)
                ]
                _, row_timeout = lock_timeout_seconds(copy, lock_variables(lock_setting).get("DB_LOCK_TIMEOUT", ""))
                row, measured = measure(change, form, copy, url, apps, users, knobs, lock_setting, row_timeout)
                rows.append(row)
                shown = f"{form} {lock_setting}".strip()
                outputs.append(f"=== {change.title}, {shown} (exit {measured.code}, {measured.seconds:.2f} s)\n")
                outputs.append(measured.output + "\n")
                say(table_lines([row])[1])
                if form == "naive" and measured.code != 0:
                    # What the raw tool could not apply leaves the naive copy, or the next change's
                    # raw tool would meet it again and fail on it instead of on its own change.
                    copies[form] = restore(copy, *naive_before)
                if form == "recipe" and measured.code != 0:
                    tail = measured.output.splitlines()[-8:]
                    say("    make migrate said:\n" + "\n".join(f"      {line}" for line in tail))
            for path, text in originals.items():  # as applied to the recipe database, for the next changes
                path.write_text(text)
        apps.stop()
        found = catalog(urls["recipe"], changes)
        apps_log = workdir / "apps.log"
        outputs.append(
            "=== the apps' log (uvicorn, next start)\n" + (apps_log.read_text() if apps_log.exists() else "")
        )

    say("\n" + "\n".join(table_lines(rows)))
    say(
        "(sent, failed: requests due while the migration ran; failed: non-2xx or no answer in "
        f"{knobs.timeout:g} s. p50, p99: latency from the time each was due, in the {knobs.before:g} s before "
        "and during. p99 x: during / before. lock wait: the longest an app query waited on a lock the "
        "migration held or queued for, and what was ahead of it. migration: the command's wall time, make migrate's "
        "checks included.)"
    )
    for title, reason in skipped:
        say(f"{title}: skipped: {reason}")
    say(
        "\ntargets (recipes: no failed request, p99 during <= 2x before, no app query waiting longer than "
        f"DB_LOCK_TIMEOUT={lock_timeout_text}):"
    )
    for line in verdicts(rows):
        say(line)
    say("\nthe recipe database's catalog after the run:")
    for what, ok in found.items():
        say(f"  {'✓' if ok else '✗'} {what}")
    total = time.monotonic() - begun
    say(f"\nwhole run: {total:.0f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    result_file = RESULTS / f"live-{stamp}.json"
    result_file.write_text(
        json.dumps(
            {
                "date": stamp,
                "machine": os.uname().nodename,
                "cpus": os.cpu_count(),
                "knobs": asdict(knobs),
                "lock_timeout": lock_timeout_text,
                "columns": [name for name, _ in COLUMNS],
                "rows": [asdict(row) for row in rows],
                "skipped": dict(skipped),
                "catalog": found,
                "kept_database": kept,
                "seconds": round(total, 1),
            },
            indent=2,
        )
    )
    (RESULTS / f"live-{stamp}.md").write_text(markdown(rows))
    (RESULTS / f"live-{stamp}.log").write_text(redact("".join(outputs)))
    say(f"results: {result_file.relative_to(REPO_ROOT)} (the table: .md; the migrations' output, apps' log: .log)")
    return 0


if __name__ == "__main__":
    entry_point(main)
