"""``make test-previous-release base=REF``: the previous release's API tests on this checkout's schema.

In a rolling deploy the release still running (the base, e.g. the pull request's target branch)
serves on the schema the new one migrated to for a while. This checks it out beside this one
(``git worktree add --detach``), installs it, and runs its backend tests (BACKEND_DIR/tests, with
its own code and test suite) on databases of the suite's test server that THIS checkout's
``make migrate`` brings to head: TEST_MIGRATING_CHECKOUT tells the base's test fixtures which
checkout migrates. A migration that drops or renames a column the base reads fails them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dotenv import dotenv_values

from scripts.core.config import REPO_ROOT
from scripts.core.errors import PreviousReleaseBroken, PreviousReleaseUnprepared, PreviousReleaseUntestable, UsageError
from scripts.history.merge_state import git

# The variable the base's test fixtures (testing/database.py) read to migrate with another checkout (this one).
MIGRATING_CHECKOUT = "TEST_MIGRATING_CHECKOUT"
EXPAND_CONTRACT = "docs/migrations.md#renaming-or-dropping-a-column-in-use-expand-migrate-contract"


def commit_of(base: str) -> str:
    found = git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if found.returncode != 0:
        raise UsageError(
            f"base={base}: this repository has no such commit",
            f"fetch it first (git fetch origin {base}), or name a branch, tag or commit: base=origin/main",
        )
    return found.stdout.strip()


def environment() -> dict[str, str]:
    """This run's environment for the base's tools: its own project, never this checkout's virtualenv."""
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def install(checkout: Path, frontend: str) -> None:
    """The base's Python packages (uv.lock) and Node packages: this checkout's, where its lock file is the same."""
    synced = subprocess.run(
        ["uv", "sync", "--frozen", "--quiet"], cwd=checkout, env=environment(), capture_output=True, text=True
    )
    if synced.returncode != 0:
        raise PreviousReleaseUnprepared(
            f"uv sync in the base's checkout failed: {(synced.stderr.strip().splitlines() or ['?'])[-1]}",
            "check that its uv.lock installs here (make install in a checkout of it)",
        )
    ours, theirs = REPO_ROOT / frontend, checkout / frontend
    if (theirs / "node_modules").exists():
        return
    if (ours / "package-lock.json").read_bytes() == (theirs / "package-lock.json").read_bytes():
        (theirs / "node_modules").symlink_to(ours / "node_modules")
        return
    print(f"the base's {frontend}/package-lock.json differs: npm ci there", flush=True)
    installed = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=theirs, env=environment(), check=False)
    if installed.returncode != 0:
        raise PreviousReleaseUnprepared("npm ci in the base's checkout failed (above)", "fix the cause, run it again")


def run_base_tests(checkout: Path, commit: str) -> None:
    declared = dotenv_values(checkout / "systems.env")
    backend, frontend = declared.get("BACKEND_DIR") or "backend", declared.get("FRONTEND_DIR") or "nextjs"
    tests = checkout / backend / "tests"
    if not tests.is_dir():
        print(f"✓ the base ({commit[:12]}) has no {backend}/tests: nothing to run")
        return
    # Where the base's tests make their databases: tests/conftest.py, or since the test kit, testing/.
    fixtures = [checkout / "tests" / "conftest.py", *sorted((checkout / "testing").glob("*.py"))]
    if not any(MIGRATING_CHECKOUT in path.read_text() for path in fixtures if path.is_file()):
        raise PreviousReleaseUntestable(
            f"the base ({commit[:12]}) predates make test-previous-release: its test fixtures "
            f"(tests/conftest.py, testing/) cannot migrate with this checkout ({MIGRATING_CHECKOUT})",
            "the check works from the first base that has it: merge the template's testing/ first",
        )
    install(checkout, frontend)
    print(f"the base's {backend}/tests ({commit[:12]}) on the schema this checkout's make migrate makes:", flush=True)
    tested = subprocess.run(
        ["uv", "run", "--frozen", "pytest", "-p", "no:cacheprovider", f"{backend}/tests"],
        cwd=checkout,
        env={**environment(), MIGRATING_CHECKOUT: str(REPO_ROOT)},
        check=False,
    )
    if tested.returncode != 0:
        raise PreviousReleaseBroken(
            f"the previous release ({commit[:12]}) fails its API tests (above) on the schema this checkout "
            "migrates to: during a rolling deploy it would fail the same way",
            f"keep what it reads until no release running reads it: expand, migrate, contract ({EXPAND_CONTRACT})",
        )
    print(f"✓ the previous release ({commit[:12]}) passes its API tests on this checkout's schema")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the release still running: a branch, tag or commit (e.g. origin/main)")
    commit = commit_of(parser.parse_args().base)
    folder = Path(tempfile.mkdtemp(prefix="previous-release-"))
    checkout = folder / "base"
    added = git("worktree", "add", "--detach", str(checkout), commit)
    if added.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise PreviousReleaseUnprepared(f"git worktree add failed: {added.stderr.strip()}", "fix the cause, run again")
    try:
        run_base_tests(checkout, commit)
    finally:
        for linked in checkout.glob("*/node_modules"):
            if linked.is_symlink():  # this checkout's packages: only the link goes
                linked.unlink()
        git("worktree", "remove", "--force", str(checkout))
        shutil.rmtree(folder, ignore_errors=True)
        git("worktree", "prune")
    return 0
