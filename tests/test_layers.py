"""The tooling is a package by layer: each module imports only its own layer or lower ones, and no loop.

Layers, bottom to top (docs/development.md, "The tooling's layers"):

    core  <  history  <  database  <  checks, fastpath  <  commands  <  __main__

Read from the source with ``ast`` (imports inside functions too), without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"

# What each layer may import, besides itself. An import of a layer not listed here is one that
# runs back up (or sideways: the fast path and the checks know nothing of each other).
ALLOWED = {
    "core": set(),
    "history": {"core"},
    "database": {"core", "history"},
    "checks": {"core", "history", "database"},
    "fastpath": {"core", "history", "database"},
    "commands": {"core", "history", "database", "checks", "fastpath"},
    "__main__": {"core", "commands"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """``scripts.history.order`` -> ``history``; ``scripts.fastpath`` -> ``fastpath``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "scripts"


def is_module(name: str) -> bool:
    """A module or a package of scripts (``from scripts import commands`` names the package)."""
    path = SCRIPTS.parent / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module a ``from`` import names, a relative one (``from . import x``) resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    package = package if path.name == "__init__.py" else package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path) -> set[str]:
    """The scripts modules ``path`` imports, anywhere in it (``from scripts.core import config``
    names the module ``scripts.core.config``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "scripts"}
        elif isinstance(node, ast.ImportFrom) and (module := absolute(node, path)).split(".")[0] == "scripts":
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if is_module(submodule) else module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(SCRIPTS.rglob("*.py"))}


def upward_imports(imports: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in imports.items():
        own = layer_of(module)
        for target in sorted(imported):
            if layer_of(target) not in ALLOWED.get(own, set()) | {own} and layer_of(target) != "scripts":
                wrong.append(f"{module} ({own}) imports {target} ({layer_of(target)})")
    return wrong


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Every import loop, each once (depth-first search, as a path back to a module on the stack)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, stack: list[str]) -> None:
        if module in stack:
            found.append([*stack[stack.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(imports.get(module, ())):
            visit(target, [*stack, module])
        done.add(module)

    for module in sorted(imports):
        visit(module, [])
    return found


def test_every_module_is_in_a_layer() -> None:
    layers = {layer_of(module) for module in graph()} - {"scripts"}

    assert layers <= set(ALLOWED), f"a layer with no row in ALLOWED: {sorted(layers - set(ALLOWED))}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(graph()) == []


def test_only_the_dispatcher_imports_by_name() -> None:
    """``importlib`` would hide an import from the checks above: only ``__main__`` picks a command so."""
    by_name = [
        module_name(path)
        for path in sorted(SCRIPTS.rglob("*.py"))
        if path != SCRIPTS / "__main__.py" and ("importlib" in path.read_text() or "__import__(" in path.read_text())
    ]

    assert by_name == []


def test_a_package_or_a_relative_import_is_read_as_the_module_it_names() -> None:
    a_check = SCRIPTS / "checks" / "check.py"
    relative = ast.parse("from ..commands import migrate\nfrom scripts import commands\n").body

    assert [absolute(node, a_check) for node in relative] == ["scripts.commands", "scripts"]
    assert is_module("scripts.commands") and is_module("scripts.commands.migrate")


def test_the_tooling_has_no_import_loop() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("scripts.history.order", "scripts.database.preflight"),  # the pure history reaching the database
        ("scripts.database.preflight", "scripts.commands.migrate"),  # a library reaching a command
        ("scripts.checks.check", "scripts.fastpath"),  # the checks reaching the fast path
        ("scripts.core.errors", "scripts.core.systems"),
    ],
)
def test_an_upward_import_or_a_loop_is_caught(module: str, imported: str) -> None:
    """The checks above are not vacuous: the same graph with one bad arrow added fails them."""
    imports = graph()
    imports[module] = imports[module] | {imported}

    assert upward_imports(imports) or cycles(imports)


def test_the_fast_path_is_imported_only_by_the_migrate_command() -> None:
    importers = {module for module, imported in graph().items() if "scripts.fastpath" in imported}

    assert importers == {"scripts.commands.migrate"}
