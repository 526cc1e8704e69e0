"""``make migrate-merge``: after ``git merge``, the merged tree put right for both migration tools.

    python -m scripts merge --backend "alembic merge heads" --frontend "drizzle-kit generate"

Two branches from one base that each added migrations meet in a merge:

- **Alembic** gets two heads. ``alembic merge heads`` (the real command) writes a merge revision
  with both as its ``down_revision``; its place in the combined order is recorded as
  ``make migration-backend`` records it (``after_frontend``, scripts/history/order.py).
- **Drizzle** gets two migrations with one number, two snapshots with one parent, and a journal
  git cannot merge: drizzle-kit keeps one linear history, and its migrator applies only files newer
  than the newest applied one. The side that comes first (ours: the branch merged into, whose
  migrations the databases most likely have; ``first=theirs`` for the other) keeps its files,
  journal and snapshots exactly as they were; the other side's migrations are taken out of the
  tree and ``drizzle-kit generate`` (the real tool, into a temporary copy of the folder first, so
  that a failure leaves the tree as it was) writes one new migration from the merged schema, with
  its own snapshot and journal entry: the other side's changes, numbered after ours (each of its
  migrations that changed no schema, data or hand-written SQL, kept as written in a
  ``drizzle-kit generate --custom`` one after it). The new file
  keeps the other side's ``-- after_backend:`` markers, and names what it replaces
  (``-- merged_from: TAG (when W, sha256 H)``): a database that applied the original is
  recognised by drizzle's bookkeeping (its ``created_at`` and hash) and refused with what to do
  (exit 63), never given the same changes twice. Backend revisions that were marked after a
  replaced migration are marked after the new one.

The sides come from git: a merge in progress (``HEAD`` and ``MERGE_HEAD``), else a merge
commit at ``HEAD`` (its two parents). What it resolves (the Drizzle folder, the new revision) it
stages (``git add``), as resolving a conflict by hand would; conflicts in your own files
(``lib/schema.ts``, ``models/__init__.py``) are yours to resolve first, and it says which.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.core.errors import MergeNotPossible, StepFailed
from scripts.history import order
from scripts.history.alembic import alembic_revisions
from scripts.history.drizzle_journal import JournalEntry, JournalUnreadable, parse_journal
from scripts.history.merge_state import git, merge_in_progress, unmerged_paths
from scripts.history.order import after_backend

AFTER_FRONTEND = re.compile(r'^(after_frontend\s*(?::[^=]*)?=\s*)["\']([^"\']*)["\']', re.MULTILINE)


@dataclass(frozen=True)
class Sides:
    first: str  # the commit whose Drizzle history is kept
    second: str  # the commit whose Drizzle migrations are regenerated after it
    base: str
    names: tuple[str, str]  # how the output names them


@dataclass(frozen=True)
class Replaced:
    tag: str
    when: int
    sha256: str
    after: tuple[str, ...]
    sql: str
    source: str  # the commit it comes from, as git names it (MERGE_HEAD)
    changes_schema: bool  # its snapshot differs from the one before: not only data or hand-written SQL


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, help="the command that merges Alembic's heads")
    parser.add_argument("--frontend", required=True, help="the command that generates a Drizzle migration")
    parser.add_argument("--first", choices=("ours", "theirs"), default="ours", help="whose Drizzle history stays")
    parser.add_argument("--message", default="merge heads", help="the merge revision's message")
    parser.add_argument("--name", help="the regenerated Drizzle migration's name (default: the replaced ones')")
    args = parser.parse_args()
    frontend = systems.load().frontend
    refuse_unresolved_code(frontend.migrations_folder)
    sides = merge_sides(args.first)
    did = []
    if sides is not None:
        did += merge_frontend(sides, shlex.split(args.frontend), args.name)
    elif problem := frontend_needs_sides():
        raise MergeNotPossible(
            f"frontend: {problem}, and git shows no merge to take the two sides from "
            "(no MERGE_HEAD, and HEAD is no merge commit)",
            "run make migrate-merge during the merge (before git commit) or right after it; by hand: "
            "docs/migrations.md, Merging branches",
        )
    if len(order.backend_heads()) > 1:
        did += merge_backend(shlex.split(args.backend), args.message)
    if not did and (problem := merge_in_progress()):  # a sign of a merge that is none: never a loop of hints
        raise MergeNotPossible(
            f"{problem}, but git's two sides hold no migrations to merge",
            "not a merge's doing: fix it as make migrate-check's other hints and docs/migrations.md "
            "(What to do when) say",
        )
    if not did:
        print("✓ migrate-merge: nothing to merge: Alembic has one head, and the Drizzle history is one line")
        return 0
    print("✓ migrate-merge: " + "; ".join(did))
    print("  → review the new files, resolve any conflict left in your own files, git commit, then make migrate")
    return 0


# ---- git ----------------------------------------------------------------------------------------


def refuse_unresolved_code(migrations_folder: str) -> None:
    """Conflicts in files other than the generated Drizzle ones are the user's to resolve first."""
    others = [path for path in unmerged_paths() if not path.startswith(migrations_folder + "/")]
    if not others:
        return
    init = next((path for path in others if path.endswith("models/__init__.py")), None)
    hint = "resolve them (git add each), then make migrate-merge again"
    if init:
        hint = f"in {init}, keep both sides' import lines and delete git's <<<<<<< ======= >>>>>>> lines; " + hint
    raise MergeNotPossible(f"git left conflicts in your own files: {', '.join(others)}", hint)


def merge_sides(first: str) -> Sides | None:
    """The two commits being merged, and their base: a merge in progress, else a merge commit at HEAD."""
    if (theirs := _commit("MERGE_HEAD")) and (ours := _commit("HEAD")):
        names = ("HEAD", "MERGE_HEAD")
    elif (ours := _commit("HEAD^1")) and (theirs := _commit("HEAD^2")):
        names = ("HEAD^1", "HEAD^2")
    else:
        return None
    found = git("merge-base", ours, theirs)
    if found.returncode != 0:
        return None
    base = found.stdout.strip()
    if first == "theirs":
        return Sides(theirs, ours, base, (names[1], names[0]))
    return Sides(ours, theirs, base, names)


def frontend_needs_sides() -> str | None:
    problem = merge_in_progress()
    return problem if problem and "Alembic" not in problem else None


def _commit(name: str) -> str | None:
    found = git("rev-parse", "-q", "--verify", f"{name}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def _show(commit: str, path: str) -> str | None:
    shown = git("show", f"{commit}:./{path}")  # ./: relative to the root, also in a larger repository
    return shown.stdout if shown.returncode == 0 else None


def _files(commit: str, folder: str) -> list[str]:
    listed = git("ls-tree", "-r", "--name-only", "-z", commit, "--", folder + "/")
    return [name for name in listed.stdout.split("\0") if name] if listed.returncode == 0 else []


def _journal(commit: str, folder: str) -> list[JournalEntry]:
    text = _show(commit, f"{folder}/meta/_journal.json")
    try:
        return parse_journal(text) if text else []
    except JournalUnreadable:
        return []


def _stage(paths: list[str]) -> None:
    if paths:
        git("add", "-A", "--", *paths)


# ---- Drizzle ------------------------------------------------------------------------------------


def merge_frontend(sides: Sides, generate: list[str], name: str | None) -> list[str]:
    frontend = systems.load().frontend
    folder = frontend.migrations_folder
    base_tags = {entry.tag for entry in _journal(sides.base, folder)}
    first_new = [e.tag for e in _journal(sides.first, folder) if e.tag not in base_tags]
    second = [e for e in _journal(sides.second, folder) if e.tag not in base_tags]
    if not first_new or not second:
        return []  # one side added none: git merged the journal as it is
    # Only what the tree still holds of theirs: a merge put right earlier (by this command, or by
    # hand) is never undone, even when HEAD is still its merge commit.
    first_tags = {entry.tag for entry in _journal(sides.first, folder)}
    conflicted = any(path.startswith(folder + "/") for path in unmerged_paths())
    done = _already_regenerated()
    theirs = _journal(sides.second, folder)
    previous = {entry.tag: theirs[index - 1] if index else None for index, entry in enumerate(theirs)}
    replaced = [
        _replaced(sides, folder, entry, previous[entry.tag])
        for entry in second
        if _differs(sides, f"{folder}/{entry.tag}.sql", entry.tag in first_tags)
        and entry.tag not in done
        and (conflicted or (frontend.migrations_path / f"{entry.tag}.sql").is_file())
    ]
    if not replaced:
        return []
    tags = ", ".join(r.tag for r in replaced)
    print(
        f"→ frontend: both sides added Drizzle migrations ({sides.names[0]}: {', '.join(first_new)}; "
        f"{sides.names[1]}: {tags}): {sides.names[0]}'s history stays, drizzle-kit generates the changes "
        f"of {sides.names[1]}'s again after it"
    )
    # Theirs' schema changes in one migration drizzle-kit generates from the merged schema; each of
    # theirs that changed no schema (data, hand-written SQL) as written, in a --custom one after it.
    schema_changes = [r for r in replaced if r.changes_schema]
    groups = [(schema_changes, False)] if schema_changes else []
    groups += [([r], True) for r in replaced if not r.changes_schema]
    if schema_changes and not all(r.changes_schema for r in replaced[: len(schema_changes)]):
        print(f"  ! {sides.names[1]} changed data before its last schema change: check the order of the new files")
    renamed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="migrate-merge-") as scratch:
        out = Path(scratch) / "migrations"
        kept = _files(sides.first, folder)
        for path in kept:
            target = out / Path(path).relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_show(sides.first, path) or "")
        written = []
        for group, custom in groups:
            written.append(_generate(out, Path(scratch), generate, name or _name(group), group, custom=custom))
            renamed |= {r.tag: written[-1].stem for r in group}
        changed = _apply(out, kept, replaced, written)
    changed += _remark_backend(renamed)
    _stage(changed)
    news = ", ".join(f"{folder}/{path.name}" for path in written)
    print(f"✓ frontend: {news} hold the changes of {tags}, after {first_new[-1]}")
    print(
        f"  ! a database that applied {tags} before this merge cannot take the new files: make migrate refuses "
        "it (exit 63); a development database: make db-reset (docs/migrations.md, Merging branches)"
    )
    return [f"{tags} regenerated as {', '.join(path.stem for path in written)}"]


def _differs(sides: Sides, path: str, in_first: bool) -> bool:
    """Theirs' migration is no copy of one ours has (same name, same text: a cherry-pick)."""
    return not in_first or _show(sides.first, path) != _show(sides.second, path)


def _replaced(sides: Sides, folder: str, entry: JournalEntry, previous: JournalEntry | None) -> Replaced:
    sql = _show(sides.second, f"{folder}/{entry.tag}.sql") or ""
    sha = hashlib.sha256(sql.encode()).hexdigest()
    before = _snapshot(sides.second, folder, previous.tag) if previous else None
    after = _snapshot(sides.second, folder, entry.tag)
    changes_schema = before is None or after is None or before != after
    return Replaced(entry.tag, entry.when, sha, after_backend(sql), sql, sides.names[1], changes_schema)


def _snapshot(commit: str, folder: str, tag: str) -> dict | None:
    """The schema drizzle-kit recorded after migration ``tag``, without its own ids."""
    text = _show(commit, f"{folder}/meta/{tag.split('_', 1)[0]}_snapshot.json")
    try:
        snapshot = json.loads(text) if text else None
    except ValueError:
        return None
    return {key: value for key, value in snapshot.items() if key not in ("id", "prevId")} if snapshot else None


def _already_regenerated() -> set[str]:
    from scripts.history.merge_state import MERGED_FROM

    found: set[str] = set()
    for path in systems.load().frontend.migrations_path.glob("*.sql"):
        found |= {tag for tag, _, _ in MERGED_FROM.findall(path.read_text())}
    return found


def _name(replaced: list[Replaced]) -> str:
    parts = [r.tag.split("_", 1)[1] if "_" in r.tag else r.tag for r in replaced]
    return "_".join(parts)[:60]


def _generate(
    out: Path, scratch: Path, generate: list[str], name: str, replaced: list[Replaced], *, custom: bool
) -> Path:
    """drizzle-kit generate into ``out`` (ours' history, and what was generated before): the new
    SQL file, marked. ``custom``: an empty migration (--custom) given the replaced one's SQL."""
    from scripts.checks.frontend_checks import RENAME_QUESTION, extended_config
    from scripts.core import config
    from scripts.core.database_url import for_node
    from scripts.database.tools import child_environment, run_tool

    frontend = systems.load().frontend
    settings = config.settings()
    url = config.database_url(settings) if settings.migration_database_url else None
    env = child_environment(settings, for_node(url) if url else None)
    shown = [*generate, *(["--custom"] if custom else []), "--name", name]
    argv = [*shown, "--config", str(extended_config(scratch, out))]
    before = set(out.glob("*.sql"))
    print(f"→ {frontend.folder}: {shlex.join(shown)} (into a copy of the folder first)")
    result = run_tool(frontend.folder, argv, env, echo=True)
    unchanged = result.code == 0 and any("No schema changes" in line for line in result.lines)
    if unchanged:  # ours made the same changes already: an empty migration still names what it replaces
        result = run_tool(frontend.folder, [*argv, "--custom"], env, echo=True)
    new = sorted(set(out.glob("*.sql")) - before)
    if result.code != 0 or len(new) != 1:
        question = next((m.group(1) for line in result.lines if (m := RENAME_QUESTION.search(line))), None)
        raise MergeNotPossible(
            "frontend: drizzle-kit generate could not write the merged migration: "
            + (f'it asks "{question}"' if question else result.cause),
            "nothing was changed; resolve it by hand as docs/migrations.md (Merging branches) shows",
        )
    generated = new[0].read_text()
    if custom:
        body = "\n--> statement-breakpoint\n".join(_without_markers(r.sql).strip() for r in replaced) + "\n"
    elif unchanged:
        body = "-- make migrate-merge: this branch's migrations already make these changes\n"
    else:
        body = generated
    markers = [f"-- merged_from: {r.tag} (when {r.when}, sha256 {r.sha256})" for r in replaced]
    after = list(dict.fromkeys(a for r in replaced for a in r.after))
    if after:
        markers.insert(0, f"-- after_backend: {', '.join(after)}")
    new[0].write_text("\n".join(markers) + "\n" + _without_markers(body))
    if not custom and not unchanged:
        _warn_of_dropped_statements(replaced, generated, new[0].name)
    return new[0]


def _without_markers(sql: str) -> str:
    return "".join(line for line in sql.splitlines(keepends=True) if not line.startswith("-- after_backend:"))


def _statements(sql: str) -> list[str]:
    found = []
    for chunk in sql.split("--> statement-breakpoint"):
        lines = [line for line in chunk.splitlines() if line.strip() and not line.lstrip().startswith("--")]
        if text := " ".join(" ".join(lines).split()):
            found.append(text)
    return found


def _warn_of_dropped_statements(replaced: list[Replaced], generated: str, new_file: str) -> None:
    """Statements of the replaced files drizzle-kit did not write again: hand-written or data SQL."""
    regenerated = set(_statements(generated))
    for r in replaced:
        if missing := [s for s in _statements(r.sql) if s not in regenerated]:
            print(
                f"  ! {r.tag}.sql had statements drizzle-kit did not generate again (edited or data SQL): "
                f"{'; '.join(s[:80] for s in missing[:3])}: copy what still applies into {new_file} "
                f"(the original: git show {r.source}:{systems.load().frontend.migrations_folder}/{r.tag}.sql)"
            )


def _apply(out: Path, kept: list[str], replaced: list[Replaced], new_sql: list[Path]) -> list[str]:
    """The repository's migrations folder made what ``out`` holds; the paths changed."""
    frontend = systems.load().frontend
    folder = frontend.migrations_folder
    changed: list[str] = []
    for r in replaced:
        stray = REPO_ROOT / folder / f"{r.tag}.sql"
        if f"{folder}/{r.tag}.sql" not in kept and (stray.exists() or _tracked(stray)):
            stray.unlink(missing_ok=True)
            changed.append(f"{folder}/{r.tag}.sql")
    meta = REPO_ROOT / folder / "meta"
    wanted = {path.name for path in (out / "meta").iterdir()}
    for path in sorted(meta.iterdir()) if meta.is_dir() else []:
        if path.name not in wanted:
            path.unlink()
            changed.append(f"{folder}/meta/{path.name}")
    meta.mkdir(parents=True, exist_ok=True)
    for path in sorted((out / "meta").iterdir()):
        shutil.copyfile(path, meta / path.name)
        changed.append(f"{folder}/meta/{path.name}")
    for path in [REPO_ROOT / p for p in kept if p.endswith(".sql")]:
        source = out / path.relative_to(REPO_ROOT / folder)
        if not path.is_file() or path.read_bytes() != source.read_bytes():
            shutil.copyfile(source, path)
            changed.append(str(path.relative_to(REPO_ROOT)))
    for path in new_sql:
        shutil.copyfile(path, REPO_ROOT / folder / path.name)
        changed.append(f"{folder}/{path.name}")
    return changed


def _tracked(path: Path) -> bool:
    return git("ls-files", "--error-unmatch", "--", str(path.relative_to(REPO_ROOT))).returncode == 0


def _remark_backend(renamed: dict[str, str]) -> list[str]:
    """Backend revisions marked after a replaced migration, marked after its new one instead
    (a revision's marker is no part of its checksum: applied ones may change too)."""
    changed = []
    for revision in alembic_revisions():
        if revision.after_frontend not in renamed:
            continue
        new_tag = renamed[revision.after_frontend]
        text = revision.path.read_text()
        revision.path.write_text(AFTER_FRONTEND.sub(lambda m, tag=new_tag: f'{m.group(1)}"{tag}"', text, count=1))
        changed.append(str(revision.path.relative_to(REPO_ROOT)))
        print(f"✓ {changed[-1]}: now after frontend migration {new_tag}")
    return changed


# ---- Alembic ------------------------------------------------------------------------------------


def merge_backend(merge_heads: list[str], message: str) -> list[str]:
    """The real ``alembic merge heads``, run as make migration-backend runs its command: offline
    (no database needed), the new revision's place in the combined order recorded."""
    from scripts.core import config
    from scripts.database.steps import run_step
    from scripts.database.tools import child_environment

    backend = systems.load().backend
    heads = order.backend_heads()
    existing = order.migration_files(backend)
    env = child_environment(config.settings(), None)
    run_step(backend.folder, [*merge_heads, "-m", message], env, None, record_order=True)
    new = sorted(order.migration_files(backend) - existing)
    if len(new) != 1:
        raise StepFailed(f"backend: {shlex.join(merge_heads)} wrote {len(new)} revision files", "see its output above")
    _stage([str(path.relative_to(REPO_ROOT)) for path in new])
    return [f"Alembic's heads {', '.join(heads)} merged by {new[0].name}"]
