"""docs/development.md's module table names every module of the tooling, in every layer, and no other."""

from __future__ import annotations

import re

from conftest import REPO_ROOT


def test_the_module_table_lists_exactly_the_tooling_modules() -> None:
    text = (REPO_ROOT / "docs" / "development.md").read_text()
    listed = set(re.findall(r"^\| `(scripts/[a-z_/]+\.(?:py|mjs))` \|", text, re.MULTILINE))
    modules = {
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "scripts").rglob("*")
        if path.suffix in (".py", ".mjs") and path.name != "__init__.py"
    }

    assert listed == modules
