"""The Makefile as a user meets it: its help, and a test run per checkout."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import Clone, copy_of_repository
from testing.systems import REPO_ROOT

ANSI_ESCAPE = re.compile(r"\x1b\[")


def test_help_piped_is_plain_text() -> None:
    piped = subprocess.run(["make", "--no-print-directory"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)

    assert "migrate" in piped.stdout
    assert not ANSI_ESCAPE.search(piped.stdout)


def test_help_lists_every_public_target_with_a_description() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    described = set(re.findall(r"^([a-z][a-z-]*):[^\n]*## ", makefile, re.MULTILINE))
    phony = set(re.search(r"^\.PHONY:(.*?)(?<!\\)\n", makefile, re.MULTILINE | re.DOTALL).group(1).split()) - {"\\"}
    listed = subprocess.run(["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout

    assert phony - {"require-tools", "require-uv"} <= described
    assert all(re.search(rf"^  {target} ", listed, re.MULTILINE) for target in described)


def test_help_lists_the_targets_under_their_sections() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    sections = re.findall(r"^##@ (.+)$", makefile, re.MULTILINE)
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    headings = [line for line in listed.splitlines() if line and not line.startswith((" ", "Usage:", "Docs:", "Your "))]

    assert len(sections) > 3
    assert headings == sections
    # Each section's first target comes right after its heading.
    for section in sections:
        after = listed.split(f"\n{section}\n", 1)[1]
        assert after.startswith("  "), section


@pytest.mark.full
def test_two_checkouts_run_make_test_at_the_same_time(clone: Clone, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = copy_of_repository(tmp_path_factory.mktemp("second-checkout") / "repo")
    # A small, real part of each suite: each checkout starts its own test server and tests on it.
    arguments = "PYTEST_ARGS=tests/test_systems.py -m 'not full' -q"
    try:
        runs = [checkout.popen("test", arguments) for checkout in (clone, other)]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
    finally:
        other.tear_down()

    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
        assert re.search(r"\d+ passed", output), output[-3000:]
