"""The docs lead somewhere real: every `make TARGET` they name is a public target, and every
link to a section (`file.md#anchor`, or a section named in a message of the tooling) finds it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "README.md"]

CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.DOTALL)
# `make`, its options (-s, -C DIR), variables given before the target (m=..., ENV=...), then the target.
MAKE_TARGET = re.compile(
    r"(?:^|[\s;&|(])make(?:[ \t]+-C[ \t]+\S+|[ \t]+-[a-zA-Z-]+|[ \t]+[A-Za-z_]+=\S*)*[ \t]+([a-z][a-z0-9-]*)\b",
    re.MULTILINE,
)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([a-z-]*\.md|docs/[a-z-]+\.md)?#([^)\s]+)\)")
# A section named in a message or comment of the tooling: docs/X.md, "Section" / (Section) / #anchor.
NAMED_SECTION = re.compile(r"docs/([a-z-]+\.md)(?:#([a-z0-9-]+)|,? \(?[\"'“]?([A-Z][^\"'”)\n]*?)[\"'”]?[)\"'\n])")


def make_targets_named(text: str) -> set[str]:
    """The targets of every `make ...` command in the text's code (inline spans and fenced blocks)."""
    return {target for block, span in CODE.findall(text) for target in MAKE_TARGET.findall(block or span)}


def public_targets() -> set[str]:
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"^  ([a-z][a-z0-9-]*) ", listed, re.MULTILINE))


def headings(markdown: Path) -> list[str]:
    """The file's section titles, as written (code fences, whose `#` lines are comments, left out)."""
    return HEADING.findall(FENCE.sub("", markdown.read_text()))


def anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def test_the_extractor_finds_the_targets_of_every_form_of_make_command() -> None:
    text = (
        "Run `make migrate-sql > plan.sql`, then `make -s migrate-status FORMAT=json`.\n"
        "```bash\nmake rollback-backend to=base\nm='x' make migration-backend  # then make lint\n```\n"
        "`make ENV=production migrate`, `make -C ../base install`; prose: make sure to make the tea."
    )

    assert make_targets_named(text) == {
        "migrate-sql",
        "migrate-status",
        "rollback-backend",
        "migration-backend",
        "lint",
        "migrate",
        "install",
    }


def test_every_make_target_the_docs_name_is_a_public_target() -> None:
    public = public_targets()
    unknown = {
        f"{doc.relative_to(REPO_ROOT)}: make {target}"
        for doc in DOCS
        for target in make_targets_named(doc.read_text())
        if target not in public
    }
    named = set().union(*(make_targets_named(doc.read_text()) for doc in DOCS))

    assert len(named) > 20, named  # the docs were read: most targets are named somewhere
    assert not unknown, f"not in make help: {sorted(unknown)}"


def test_every_link_to_a_section_of_the_docs_finds_its_heading() -> None:
    broken = []
    for doc in DOCS:
        for target, fragment in LINK.findall(doc.read_text()):
            linked = doc if not target else (REPO_ROOT / target if target.startswith("docs/") else doc.parent / target)
            if fragment not in {anchor(title) for title in headings(linked)}:
                broken.append(f"{doc.relative_to(REPO_ROOT)} -> {target or ''}#{fragment}")

    assert not broken


def test_every_doc_section_the_tooling_names_exists() -> None:
    """The tooling's messages and comments say where to read on (docs/migrations.md, "Merging branches")."""
    sources = [
        path
        for folder in ("scripts", "bench", ".github", ".ci")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in {".py", ".mjs", ".yml", ""}
    ] + [REPO_ROOT / "Makefile"]
    broken = []
    named = 0
    for source in sources:
        for doc, fragment, title in NAMED_SECTION.findall(source.read_text(errors="replace")):
            named += 1
            titles = headings(REPO_ROOT / "docs" / doc)
            found = (
                fragment in {anchor(t) for t in titles}
                if fragment
                else any(t.replace("`", "").lower().startswith(title.lower()) for t in titles)
            )
            if not found:
                broken.append(f"{source.relative_to(REPO_ROOT)}: docs/{doc} {fragment or title!r}")

    assert named > 10  # the messages were read
    assert not broken
