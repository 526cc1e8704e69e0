"""Whether a generator did its job: ``make migration-frontend``, ``migration-backend``, ``auth-schema``.

drizzle-kit generate exits 0 when it could not ask its question (no terminal), and when it
failed to write its SQL file; a generator's exit code alone says little. So a generator's
run is judged by what it wrote: the file or folder it was asked to write (``--writes``)
must have changed, unless the tool said there was nothing to generate.
"""

from __future__ import annotations

import re

from scripts.core.config import REPO_ROOT
from scripts.core.errors import NothingGenerated, QuestionWithoutTerminal, StepFailed

# The select prompt drizzle-kit draws (its library, hanji): the chosen option after a cursor.
PROMPT_CURSOR = re.compile(r"^\s*❯ ")
# How each generator says that nothing changed, so nothing is written (a clear "nothing to do").
NOTHING_TO_GENERATE = (
    "No schema changes, nothing to migrate",  # drizzle-kit generate
    "No changes in the models: no revision written.",  # backend/alembic/env.py
    "chema is already up to date",  # the Better Auth CLI
)
# An error a tool printed although it exited 0 (drizzle-kit: "Error: ENOENT: no such file ...").
REPORTED_ERROR = re.compile(r"^\s*(?:\w*Error(?: \[\w+\])?|ENOENT): ")

Written = dict[str, tuple[int, int]]


def written(path: str) -> Written:
    """Every file at ``path`` (a file, or a folder's files), with its modification time and size;
    Python's bytecode caches, which loading the revisions may write, left out."""
    root = REPO_ROOT / path
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    else:
        files = [root] if root.is_file() else []
    return {str(file.relative_to(REPO_ROOT)): (file.stat().st_mtime_ns, file.stat().st_size) for file in files}


def question(lines: list[str]) -> str | None:
    """The question a tool asked (the line above its first choice), if it drew a prompt."""
    for index, line in enumerate(lines):
        if PROMPT_CURSOR.match(line):
            return lines[index - 1].strip() if index else line.strip()
    return None


def judge(label: str, path: str, before: Written, lines: list[str], *, on_terminal: bool) -> bool:
    """After a generator exited 0: True if it wrote ``path``, False if it said there was nothing to
    generate; else the failure. ``on_terminal``: its questions were answered there."""
    if not on_terminal and (asked := question(lines)):
        raise QuestionWithoutTerminal(
            f"{label} asked a question only a terminal can answer, and wrote nothing: {asked}",
            "run the same make command in a terminal and answer it there (arrow keys, then Enter)",
        )
    if error := next((line.strip() for line in lines if REPORTED_ERROR.match(line)), None):
        raise StepFailed(
            f"{label} reported an error although it exited 0: {error}",
            f"check what it wrote under {path} (git status), remove what is incomplete, fix the cause, run it again",
        )
    if written(path) != before:
        return True
    if any(phrase in line for line in lines for phrase in NOTHING_TO_GENERATE):
        return False
    last = next((line.strip() for line in reversed(lines) if line.strip()), "it printed nothing")
    raise NothingGenerated(
        f"{label} ended (exit 0) without writing {path}: {last}",
        "nothing was generated; run the same make command in a terminal to see what it asks or says",
    )
