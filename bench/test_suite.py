"""`make bench-tests`: the wall time of `make test`, the inner loop, from a warm checkout.

cold: the suite's own PostgreSQL is stopped first (`make db-down` on its URL, which keeps its
data), so the run includes starting it again; warm: it is already running. One cold run, then
BENCH_TEST_RUNS warm runs (default 2). Each run's pytest summary line is printed beside its
time, and a run that fails ends the benchmark with its output: a time is only worth reporting
for a suite that passed. The same is written as JSON to bench/results/test-suite-<UTC time>.json.

Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from scripts.core.config import REPO_ROOT

RUNS = int(os.environ.get("BENCH_TEST_RUNS", "2"))
RESULTS = REPO_ROOT / "bench" / "results"


def make(*arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=REPO_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def suite_database_url() -> str:
    """The URL `make test` gives the suite (the Makefile computes its port from the checkout's path)."""
    printed = make("--silent", "--eval", "bench-print-test-url: ; @echo $(TEST_DATABASE_URL)", "bench-print-test-url")
    return printed.stdout.strip()


def summary(output: str) -> str:
    """pytest's closing line, e.g. "75 passed, 1 skipped, 111 deselected in 39.61s"."""
    lines = [line.strip("= ") for line in output.splitlines() if " in " in line and line.startswith("=")]
    return lines[-1] if lines else "(no pytest summary)"


def timed_make_test(kind: str) -> dict[str, object]:
    started = time.monotonic()
    result = make("test")
    seconds = time.monotonic() - started
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
        sys.exit(f"make test failed ({kind} run, exit {result.returncode}): no time to report")
    print(f"  {kind:<5} {seconds:6.1f} s   {summary(result.stdout)}", flush=True)
    return {"kind": kind, "seconds": round(seconds, 2), "summary": summary(result.stdout)}


def main() -> None:
    url = suite_database_url()
    print(f"bench: make test (the inner loop), 1 cold run then {RUNS} warm, {os.cpu_count()} CPUs", flush=True)
    stopped = make("db-down", DATABASE_URL=url, DB_BACKEND="local", ENV_FILE="/dev/null")
    if stopped.returncode != 0:
        sys.exit(f"could not stop the test database:\n{stopped.stdout}{stopped.stderr}")
    runs = [timed_make_test("cold")] + [timed_make_test("warm") for _ in range(RUNS)]
    warm = [run["seconds"] for run in runs if run["kind"] == "warm"]
    if warm:
        print(f"  warm median {statistics.median(warm):.1f} s (min {min(warm):.1f}, max {max(warm):.1f})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_file = RESULTS / f"test-suite-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    result_file.write_text(json.dumps({"machine": os.uname().nodename, "cpus": os.cpu_count(), "runs": runs}, indent=2))
    print(f"results: {result_file.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
