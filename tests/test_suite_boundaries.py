"""The app's tests and the tooling's stay apart: they share the test kit (testing/), nothing else.

The app's tests (the backend's tests, the frontend's e2e) import nothing from tests/ by name; the
tooling's tests and the kit never import the app, whose modules the user renames and splits at will.
Both take schema names from systems.env (testing.systems), never spelled in their SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from testing.systems import BACKEND_SCHEMA, REPO_ROOT, SYSTEMS

APP_TESTS = [REPO_ROOT / SYSTEMS["BACKEND_DIR"] / "tests", REPO_ROOT / SYSTEMS["FRONTEND_DIR"] / "e2e"]
TOOLING = [REPO_ROOT / "tests", REPO_ROOT / "testing"]
# The backend's importable packages (backend/pyproject.toml: app, models).
APP_PACKAGES = {"app", "models"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function (not text in its strings)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def importing(folders: list[Path], wanted: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in sorted(p for folder in folders for p in folder.rglob("*.py")):
        hits = {m for m in imported_modules(path) if m.split(".")[0] in wanted}
        if hits:
            found[str(path.relative_to(REPO_ROOT))] = hits
    return found


def test_the_app_tests_import_nothing_from_the_tooling_tests_by_name() -> None:
    assert all(folder.is_dir() for folder in APP_TESTS)

    assert importing(APP_TESTS, {"conftest"}) == {}


def test_the_tooling_tests_and_the_test_kit_never_import_the_app() -> None:
    assert importing(TOOLING, APP_PACKAGES) == {}


def test_no_test_spells_the_backend_schema_in_its_sql() -> None:
    # SCHEMA.table, schema="SCHEMA" or 'SCHEMA': a name systems.env declares, and a user may change.
    spelled = re.compile(rf"(?<![\w./]){BACKEND_SCHEMA}\.\w|[\"']{BACKEND_SCHEMA}[\"']")
    found = {}
    for path in sorted(p for folder in [*APP_TESTS, *TOOLING] for p in folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree) if has_docstring(node)}
        strings = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        ]
        if hits := [text for text in strings if spelled.search(text)]:
            found[str(path.relative_to(REPO_ROOT))] = hits
    assert found == {}


def has_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and bool(node.body)
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    )
