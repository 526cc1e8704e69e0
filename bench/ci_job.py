"""`make bench-ci-job`: the wall time of the CI job a project inherits (.github/workflows/ci.yml),
its commands run in sequence from a warm checkout, as docs/development.md reports it beside
`make test-all`'s.

The development database is DATABASE_URL's (the checkout's .env or .env.example; `make db-up`
starts the local one first); `make test-previous-release` runs with base=HEAD. A command that
fails ends the benchmark with its output: a time is only worth reporting for a job that passed.
Written as JSON to bench/results/ci-job-<UTC time>.json. Speed is measured here, never asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.test_suite import RESULTS, summary
from scripts.core.config import REPO_ROOT

PYTEST_SUMMARY = re.compile(r"^=+ .* in [\d.]+s", re.MULTILINE)
# The workflow's commands, in its order (the installs left out: a warm checkout has them).
JOB = (
    ("db-up",),
    ("lint",),
    ("migrate-sql",),
    ("migrate",),
    ("migrate-check",),
    ("test",),
    ("test-end-to-end",),
    ("test-previous-release", "base=HEAD"),
)


def main() -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    print(f"bench: the project's CI job, {len(JOB)} commands in sequence, {os.cpu_count()} CPUs", flush=True)
    steps = []
    for arguments in JOB:
        started = time.monotonic()
        result = subprocess.run(
            ["make", "--no-print-directory", *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            print(result.stdout + result.stderr, file=sys.stderr)
            sys.exit(f"make {' '.join(arguments)} failed (exit {result.returncode}): no time to report")
        shown = summary(result.stdout) if PYTEST_SUMMARY.search(result.stdout) else ""
        print(f"  make {' '.join(arguments):<34} {seconds:6.1f} s   {shown}", flush=True)
        steps.append({"command": f"make {' '.join(arguments)}", "seconds": round(seconds, 2), "summary": shown})
    total = sum(step["seconds"] for step in steps)
    print(f"  in all {total / 60:.1f} min; load average now {os.getloadavg()[0]:.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_file = RESULTS / f"ci-job-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    result_file.write_text(json.dumps({"cpus": os.cpu_count(), "steps": steps, "seconds": total}, indent=2))
    print(f"results: {result_file.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
