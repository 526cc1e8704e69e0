"""Signs that the tree holds two branches' migrations that ``make migrate-merge`` has not put right yet.

Read by the checks (scripts/database/migration_state.py, scripts/checks/check.py, scripts/checks/frontend_checks.py) to
turn their hints towards ``make migrate-merge`` after a ``git merge``: the usual fixes of
exits 30, 32, 33 and 37 (a newer timestamp, ``make migration-frontend``) lead, after a merge, to
a second copy of the merged-in branch's changes. Only reads files and git; imports nothing above it.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.history.alembic import alembic_revisions
from scripts.history.drizzle_journal import JournalUnreadable, parse_journal

MERGE_HINT = "a merge of two branches' migrations: run make migrate-merge (docs/migrations.md, Merging branches)"
# Written by make migrate-merge into the migration it regenerates (scripts/commands/merge.py): what it replaces.
MERGED_FROM = re.compile(r"^-- merged_from: (\S+) \(when (\d+), sha256 ([0-9a-f]{64})\)$", re.MULTILINE)


def git(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """git in the repository's root; paths in and out are relative to it. Without git (a deploy
    image) or outside a repository, a failed run: the checks then simply see no merge."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        return subprocess.CompletedProcess(["git", *args], 127, "", str(error))


def unmerged_paths() -> list[str]:
    """The paths git left conflicted (``git ls-files -u``), relative to the repository root."""
    listed = git("ls-files", "-u", "-z")
    if listed.returncode != 0:
        return []
    return sorted({entry.split("\t", 1)[1] for entry in listed.stdout.split("\0") if "\t" in entry})


def merge_in_progress() -> str | None:
    """What shows that the migrations of two branches were merged and not put right, or None."""
    frontend, backend = systems.load().frontend, systems.load().backend
    folders = (frontend.migrations_folder + "/", backend.migrations_folder + "/")
    if conflicted := [path for path in unmerged_paths() if path.startswith(folders)]:
        return f"git left {', '.join(conflicted)} conflicted"
    meta = frontend.migrations_path / "meta"
    try:
        text = (meta / "_journal.json").read_text()
    except OSError:
        return None
    if "<<<<<<<" in text:
        return f"{frontend.migrations_folder}/meta/_journal.json has git's conflict markers"
    try:
        entries = parse_journal(text)
    except JournalUnreadable:
        return None
    indexes = [entry.idx for entry in entries]
    tags = {entry.tag for entry in entries}
    if len(indexes) != len(set(indexes)):
        return f"{frontend.migrations_folder}/meta/_journal.json lists an index twice"
    if len(_alembic_heads()) > 1:
        return "Alembic has more than one head"
    # The signs below have other causes too (a file made by hand): a merge's only where git shows
    # one (in progress, or the commit at HEAD) whose two sides each added Drizzle migrations.
    if not both_sides_added_drizzle_migrations():
        return None
    # Both sides' entries kept by hand: two migrations with one number, and one snapshot for both.
    numbers = [tag.split("_", 1)[0] for tag in tags]
    if twice := sorted({number for number in numbers if numbers.count(number) > 1}):
        return f"{frontend.migrations_folder}/meta/_journal.json lists two migrations numbered {twice[0]}"
    if unlisted := sorted(path.stem for path in frontend.migrations_path.glob("*.sql") if path.stem not in tags):
        return f"{frontend.migrations_folder} has migrations its journal does not list: {', '.join(unlisted)}"
    if shared := _snapshots_sharing_a_parent(meta):
        return f"the snapshots {', '.join(shared)} follow the same parent: two branches generated them"
    return None


def both_sides_added_drizzle_migrations() -> bool:
    """A merge in progress (HEAD, MERGE_HEAD), or the merge commit at HEAD, whose sides each added one."""
    for ours, theirs in (("HEAD", "MERGE_HEAD"), ("HEAD^1", "HEAD^2")):
        if git("rev-parse", "-q", "--verify", f"{theirs}^{{commit}}").returncode == 0:
            base = git("merge-base", ours, theirs).stdout.strip()
            if not base:
                return False
            tags = [set(journal_tags_at(commit)) for commit in (base, ours, theirs)]
            return bool(tags[1] - tags[0]) and bool(tags[2] - tags[0])
    return False


def journal_tags_at(commit: str) -> list[str]:
    """The Drizzle migrations the journal at ``commit`` lists (none when it has none)."""
    journal = f"{systems.load().frontend.migrations_folder}/meta/_journal.json"
    shown = git("show", f"{commit}:./{journal}")
    try:
        return [entry.tag for entry in parse_journal(shown.stdout)] if shown.returncode == 0 else []
    except JournalUnreadable:
        return []


def merge_hint(usual: str) -> str:
    """The hint of a problem: ``make migrate-merge`` when a merge shows, else the usual one."""
    return MERGE_HINT if merge_in_progress() else usual


@dataclass(frozen=True)
class Regenerated:
    original: str  # the merged-in branch's tag
    now: str  # the tag make migrate-merge gave its changes


def regenerated_as(created_at: int, applied_hash: str) -> Regenerated | None:
    """The migration make migrate-merge regenerated from the one a database applied (its
    ``created_at`` and hash in drizzle's bookkeeping), if any."""
    for path in sorted(systems.load().frontend.migrations_path.glob("*.sql")):
        for tag, when, sha in MERGED_FROM.findall(path.read_text()):
            if int(when) == created_at and sha == applied_hash:
                return Regenerated(tag, path.stem)
    return None


def _snapshots_sharing_a_parent(meta: Path) -> list[str]:
    parents: dict[str, list[str]] = {}
    for path in sorted(meta.glob("*_snapshot.json")):
        try:
            parents.setdefault(str(json.loads(path.read_text())["prevId"]), []).append(path.name)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return next((names for names in parents.values() if len(names) > 1), [])


def _alembic_heads() -> list[str]:
    revisions = alembic_revisions()
    parents = {down for revision in revisions for down in revision.down_revisions}
    return [revision.revision for revision in revisions if revision.revision not in parents]
