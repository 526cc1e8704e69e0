"""The working tree copied as a fresh clone has it: what the tests and the benchmarks run on."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path


def working_tree_files(root: Path) -> list[str]:
    """Tracked and new files, not ignored ones, relative to ``root``.

    git's own list; outside a git repository (a copy of a copy, an unpacked archive), every file
    but those ``.gitignore`` names, so that a copy's own ``make test`` can copy it again.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        return [name for name in listed.stdout.split("\0") if name]
    patterns = [".git/", *_ignore_patterns(root / ".gitignore")]
    # A tool's cache that ignores itself (.ruff_cache, .pytest_cache write a .gitignore of "*").
    self_ignoring = [f.parent for f in root.rglob(".gitignore") if "*" in _ignore_patterns(f)]
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and not _ignored(path.relative_to(root), patterns)
        and not any(folder in path.parents for folder in self_ignoring)
    )


def copy_working_tree(root: Path, target: Path) -> None:
    for name in working_tree_files(root):
        if (root / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, target / name)


def _ignore_patterns(gitignore: Path) -> list[str]:
    lines = gitignore.read_text().splitlines() if gitignore.is_file() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(relative: Path, patterns: list[str]) -> bool:
    """The .gitignore forms the template uses: a name anywhere (``node_modules/``, ``*.pyc``),
    or a path from the root (``bench/results/``)."""
    path = relative.as_posix()
    for pattern in patterns:
        bare = pattern.strip("/")
        if "/" in bare:
            if path == bare or path.startswith(bare + "/"):
                return True
        elif any(fnmatch.fnmatch(part, bare) for part in relative.parts):
            return True
    return False
