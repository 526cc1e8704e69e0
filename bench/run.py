"""`make bench`: the wrapper's wall time against the raw tools, measured in the same run.

On a throwaway PostgreSQL cluster (scripts/database/localcluster.py, in a temporary folder),
each command runs BENCH_RUNS times (default 5); the table gives median, min and max
wall time, and the ratio of the wrapper to the raw tools, which are run the way the
guide shows them (`npx drizzle-kit migrate`, `uv run alembic upgrade head`). Raw
Alembic is measured twice: with its Python files compiled (as `make install` leaves
them) and uncompiled (as on a machine with PYTHONDONTWRITEBYTECODE and no install
step), so that no ratio flatters the wrapper.

Scenarios: no-op (both systems at head); from empty with the template's migrations;
from empty with generated histories (in a temporary copy, never committed); pre-flight
with the database up, and down.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.core.database_url import for_libpq, parse
from scripts.database.localcluster import LocalCluster
from scripts.history.alembic import alembic_revisions
from testing import repository

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LARGE_RUNS = int(os.environ.get("BENCH_LARGE_RUNS", "3"))
HISTORIES = [(100, 50), (150, 150)]  # (Alembic revisions, Drizzle migrations) added to the template's
RESULTS = REPO_ROOT / "bench" / "results"


@dataclass
class Measure:
    scenario: str
    command: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Bench:
    admin_url: str
    measures: list[Measure] = field(default_factory=list)
    ratios: list[dict] = field(default_factory=list)

    def database(self, name: str) -> str:
        """A fresh, empty database; its URL."""
        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            connection.close()
        return for_libpq(parse(self.admin_url).set(database=name))

    def measure(
        self,
        scenario: str,
        label: str,
        command: list[str],
        cwd: Path,
        url: str,
        runs: int = RUNS,
        expect_failure: bool = False,
        prepare=None,
        **env: str,
    ) -> Measure:
        """Median of ``runs`` after one untimed warm-up run (file caches, the tools' own caches)."""
        timed(command, cwd, prepare() if prepare else url, expect_failure, **env)
        measure = Measure(scenario, label)
        for _ in range(runs):
            run_url = prepare() if prepare else url
            measure.seconds.append(timed(command, cwd, run_url, expect_failure, **env))
        self.measures.append(measure)
        print(f"  {scenario:<28} {label:<46} {measure.median:7.3f} s", flush=True)
        return measure

    def ratio(self, scenario: str, wrapper: Measure | float, raw: float, what: str) -> None:
        wrapper_seconds = wrapper.median if isinstance(wrapper, Measure) else wrapper
        self.ratios.append(
            {
                "scenario": scenario,
                "against": what,
                "wrapper": wrapper_seconds,
                "raw": raw,
                "ratio": wrapper_seconds / raw,
            }
        )


def timed(command: list[str], cwd: Path, url: str, expect_failure: bool = False, **env: str) -> float:
    environment = {**os.environ, "ENV_FILE": "/dev/null", "DATABASE_URL": url, **env}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if (result.returncode != 0) != expect_failure:
        sys.exit(f"bench: {' '.join(command)} in {cwd} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def uncompiled_env() -> dict[str, str]:
    """Python finds no compiled files and writes none: every start compiles what it imports."""
    return {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="bench-nopyc-")}


def commands(root: Path) -> dict[str, tuple[list[str], Path]]:
    frontend, backend = systems.load().all
    return {
        "make migrate": (["make", "-s", "--no-print-directory", "migrate"], root),
        "uv run alembic upgrade head": (["uv", "run", "--frozen", "alembic", "upgrade", "head"], root / backend.folder),
        "npx drizzle-kit migrate": (["npx", "drizzle-kit", "migrate"], root / frontend.folder),
    }


def no_op(bench: Bench) -> None:
    url = bench.database("bench_noop")
    run = commands(REPO_ROOT)
    for _ in range(2):  # the first applies, the second finds nothing to do and records it
        timed(*run["make migrate"], url)
    wrapper = bench.measure("no-op", "make migrate", *run["make migrate"], url)
    alembic = bench.measure("no-op", "uv run alembic upgrade head (compiled)", *run["uv run alembic upgrade head"], url)
    cold = bench.measure(
        "no-op",
        "uv run alembic upgrade head (uncompiled)",
        *run["uv run alembic upgrade head"],
        url,
        **uncompiled_env(),
    )
    drizzle = bench.measure("no-op", "npx drizzle-kit migrate", *run["npx drizzle-kit migrate"], url)
    bench.ratio("no-op", wrapper, alembic.median + drizzle.median, "raw tools, Alembic compiled")
    bench.ratio("no-op", wrapper, cold.median + drizzle.median, "raw tools, Alembic uncompiled")


def from_empty(bench: Bench, scenario: str, root: Path, runs: int) -> tuple[float, float]:
    """Median seconds of the wrapper and of the raw tools (Drizzle then Alembic) from an empty database."""
    run = commands(root)
    names = iter(range(10_000))

    def fresh() -> str:
        return bench.database(f"bench_empty_{next(names)}")

    wrapper = bench.measure(scenario, "make migrate", *run["make migrate"], "", runs=runs, prepare=fresh)
    raw = Measure(scenario, "npx drizzle-kit migrate + uv run alembic upgrade head")
    warm_up = fresh()
    timed(*run["npx drizzle-kit migrate"], warm_up)
    timed(*run["uv run alembic upgrade head"], warm_up)
    for _ in range(runs):
        url = fresh()
        raw.seconds.append(
            timed(*run["npx drizzle-kit migrate"], url) + timed(*run["uv run alembic upgrade head"], url)
        )
    bench.measures.append(raw)
    print(f"  {scenario:<28} {raw.command:<46} {raw.median:7.3f} s", flush=True)
    bench.ratio(scenario, wrapper, raw.median, "raw tools, Alembic compiled")
    return wrapper.median, raw.median


def copy_working_tree(target: Path) -> None:
    """The working tree as git sees it (tracked and new, not ignored files), copied into ``target``."""
    repository.copy_working_tree(REPO_ROOT, target)


def copy_with_history(alembic_count: int, drizzle_count: int, workdir: Path) -> Path:
    """The working tree copied, with generated migrations appended to both histories."""
    root = workdir / f"repo-{alembic_count}-{drizzle_count}"
    copy_working_tree(root)
    frontend, backend = systems.load().all
    (root / frontend.folder / "node_modules").symlink_to(frontend.path / "node_modules")

    down = [r.revision for r in alembic_revisions()][-1]
    for number in range(1, alembic_count + 1):
        revision = f"bench{number:07d}"
        (root / backend.folder / backend.migrations_dir / f"{revision}_bench.py").write_text(
            f'"""bench {number}"""\nfrom alembic import op\n\nrevision = {revision!r}\ndown_revision = {down!r}\n'
            f"branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n"
            f'    op.execute("CREATE TABLE api.bench_{number} (id integer)")\n\n\n'
            f'def downgrade() -> None:\n    op.execute("DROP TABLE api.bench_{number}")\n'
        )
        down = revision

    migrations = root / frontend.folder / frontend.migrations_dir
    meta = migrations / "meta"
    journal = json.loads((meta / "_journal.json").read_text())
    previous = json.loads((meta / f"{len(journal['entries']) - 1:04d}_snapshot.json").read_text())
    for number in range(1, drizzle_count + 1):
        index = len(journal["entries"])
        tag = f"{index:04d}_bench_{number}"
        journal["entries"].append(
            dict(journal["entries"][-1], idx=index, tag=tag, when=journal["entries"][-1]["when"] + 1000)
        )
        (migrations / f"{tag}.sql").write_text(f'CREATE TABLE "bench_{number}" ("id" integer);\n')
        previous = {**previous, "id": str(uuid.uuid4()), "prevId": previous["id"]}
        (meta / f"{index:04d}_snapshot.json").write_text(json.dumps(previous))
    (meta / "_journal.json").write_text(json.dumps(journal, indent=2))
    subprocess.run(["uv", "sync", "--frozen", "--compile-bytecode", "--quiet"], cwd=root, check=True)
    return root


def preflight(bench: Bench, down_url: str) -> None:
    url = bench.database("bench_preflight")
    command = ["make", "-s", "--no-print-directory", "preflight"]
    bench.measure("pre-flight, database up", "make preflight", command, REPO_ROOT, url)
    bench.measure(
        "pre-flight, database down", "make preflight (to the error)", command, REPO_ROOT, down_url, expect_failure=True
    )


def print_table(bench: Bench) -> None:
    print(f"\n{'scenario':<28} {'command':<54} {'median':>8} {'min':>8} {'max':>8}")
    for m in bench.measures:
        print(f"{m.scenario:<28} {m.command:<54} {m.median:8.3f} {min(m.seconds):8.3f} {max(m.seconds):8.3f}")
    print(f"\n{'scenario':<28} {'wrapper against':<40} {'wrapper':>8} {'raw':>8} {'ratio':>7}")
    for r in bench.ratios:
        print(f"{r['scenario']:<28} {r['against']:<40} {r['wrapper']:8.3f} {r['raw']:8.3f} {r['ratio']:7.2f}")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin = parse(f"postgresql://bench:bench-only-password@127.0.0.1:{port}/postgres")
    cluster = LocalCluster(home=workdir / "cluster", port=port)
    print(f"bench: throwaway PostgreSQL on 127.0.0.1:{port}, {RUNS} runs each ({LARGE_RUNS} for large histories)")
    try:
        cluster.ensure_running(admin)
        bench = Bench(admin_url=for_libpq(admin))
        no_op(bench)
        template_wrapper, template_raw = from_empty(bench, "from empty (template)", REPO_ROOT, RUNS)
        growth = []
        for alembic_count, drizzle_count in HISTORIES:
            root = copy_with_history(alembic_count, drizzle_count, workdir)
            scenario = f"from empty (+{alembic_count}/+{drizzle_count})"
            wrapper, raw = from_empty(bench, scenario, root, LARGE_RUNS)
            added = alembic_count + drizzle_count
            growth.append(
                {
                    "added_migrations": added,
                    "wrapper_ms_per_migration": (wrapper - template_wrapper) / added * 1000,
                    "raw_ms_per_migration": (raw - template_raw) / added * 1000,
                }
            )
        preflight(bench, for_libpq(admin.set(port=1)))
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(bench)
    print("\ngrowth with history length (from empty, over the template's own migrations):")
    for row in growth:
        print(
            f"  +{row['added_migrations']:>3} migrations: wrapper {row['wrapper_ms_per_migration']:.1f} ms "
            f"per migration, raw tools {row['raw_ms_per_migration']:.1f} ms per migration"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_file = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    result_file.write_text(
        json.dumps(
            {
                "runs": RUNS,
                "large_runs": LARGE_RUNS,
                "machine": os.uname().nodename,
                "measures": [asdict(m) | {"median": m.median} for m in bench.measures],
                "ratios": bench.ratios,
                "growth": growth,
            },
            indent=2,
        )
    )
    print(f"results: {result_file.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
