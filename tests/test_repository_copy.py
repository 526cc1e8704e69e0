"""The tests' and benchmarks' copy of the working tree (testing/repository.py) works outside git too."""

from __future__ import annotations

from pathlib import Path

from testing.repository import copy_working_tree, working_tree_files
from testing.systems import REPO_ROOT


def test_a_copy_outside_git_lists_the_same_files_as_git_does_and_leaves_out_what_gitignore_names(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "copy"
    copy_working_tree(REPO_ROOT, copy)
    (copy / "node_modules").mkdir()
    (copy / "node_modules" / "left-out.js").write_text("")
    (copy / ".env").write_text("DATABASE_URL=postgresql://left:out@127.0.0.1/out\n")

    assert not (copy / ".git").exists()
    assert working_tree_files(copy) == sorted(working_tree_files(REPO_ROOT))
