"""The tooling's one cache: records in the git-ignored ``.cache/`` folder, each written whole or not at all.

Two forms: a check's pass (``NAME-passed``, holding the key it passed with: a fingerprint of what it
read, scripts/history/fingerprint.py) and the fast path's record (``NAME.json``). Whatever is there that
does not match is as good as nothing: the check runs again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scripts.core.config import REPO_ROOT

CACHE = REPO_ROOT / ".cache"
Problem = TypeVar("Problem")


def passed(name: str, key: str) -> bool:
    """Whether the check ``name`` passed with this ``key`` before."""
    record = CACHE / f"{name}-passed"
    return record.is_file() and record.read_text() == key


def remember_pass(name: str, key: str) -> None:
    _write(CACHE / f"{name}-passed", key)


def unless_passed(name: str, key: str, check: Callable[[], list[Problem]]) -> list[Problem]:
    """Run ``check`` unless it passed with the same ``key`` before; remember a pass."""
    if passed(name, key):
        return []
    problems = check()
    if not problems:
        remember_pass(name, key)
    return problems


def read_record(name: str) -> dict:
    """The record ``NAME.json``; an error (OSError, ValueError) when there is none that can be read."""
    record = json.loads((CACHE / f"{name}.json").read_text())
    if not isinstance(record, dict):
        raise ValueError(f"{name}.json holds no record")
    return record


def write_record(name: str, record: dict) -> None:
    _write(CACHE / f"{name}.json", json.dumps(record))


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a run killed mid-write, or two runs at once, leave no half record."""
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
