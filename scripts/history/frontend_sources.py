"""The frontend files that Better Auth's config and the Drizzle schema are read from.

The frontend checks (scripts/checks/frontend_checks.py) and the no-op fast path
(scripts/fastpath.py) fingerprint these: when one changes, the checks run again.
Found from the files themselves: ``lib/auth.ts`` and the ``schema`` that
``drizzle.config.ts`` names, and every local file they import, however deep,
so that a user's tables in a file of their own are covered too.

Cheap to import and to run (the fast path uses it): the standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT

# As the Makefile's auth-schema target runs the Better Auth CLI (in the frontend's folder).
AUTH_CONFIG = "lib/auth.ts"
AUTH_SCHEMA = "auth-schema.ts"
# import ... from "./x", export * from "../x", import("./x"), require("./x"): local modules only.
LOCAL_IMPORT = re.compile(r"""(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")
# drizzle.config.ts's `schema: "./lib/schema.ts"` or `schema: ["./a.ts", "./db/*.ts"]`.
SCHEMA_OPTION = re.compile(r"""\bschema\s*:\s*(\[[^\]]*\]|["'`][^"'`]*["'`])""")
STRING = re.compile(r"""["'`]([^"'`]+)["'`]""")
GLOB = re.compile(r"[*?{\[]")
RESOLVED_SUFFIXES = ("", ".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", "/index.ts", "/index.tsx", "/index.js")
FALLBACK_SCHEMA_FOLDER = "lib"


def auth_config_sources() -> list[str]:
    """What ``auth generate`` reads: the config, what it imports, and the generated file it is compared with."""
    frontend = systems.load().frontend
    files = _with_imports([frontend.path / AUTH_CONFIG, frontend.path / AUTH_SCHEMA])
    return [*_relative(files), frontend.shown("package-lock.json")]


def drizzle_schema_sources() -> list[str]:
    """What ``drizzle-kit generate`` reads besides its migrations: its config and the schema files."""
    frontend = systems.load().frontend
    config = frontend.path / "drizzle.config.ts"
    return [*_relative(_with_imports([config, *schema_entries(config)])), frontend.shown("package-lock.json")]


def schema_entries(config: Path) -> list[Path]:
    """The schema files or folders drizzle.config.ts names (a glob: the folder before it)."""
    folder = config.parent
    try:
        match = SCHEMA_OPTION.search(config.read_text())
    except OSError:
        match = None
    if match is None:  # a computed value: the folder the template keeps its schema in
        return [folder / FALLBACK_SCHEMA_FOLDER]
    entries = []
    for pattern in STRING.findall(match.group(1)):
        fixed = GLOB.split(pattern, maxsplit=1)[0]
        entries.append(folder / (fixed.rsplit("/", 1)[0] if fixed != pattern else fixed))
    return entries


def _with_imports(entries: list[Path]) -> list[Path]:
    """The entries (files, or every file of a folder) and every local file they import, transitively."""
    seen: set[Path] = set()
    pending = [file for entry in entries for file in _files(entry)]
    while pending:
        file = pending.pop().resolve()
        if file in seen or not file.is_file() or not file.is_relative_to(REPO_ROOT.resolve()):
            continue
        seen.add(file)
        try:
            text = file.read_text(errors="replace")
        except OSError:
            continue
        for specifier in LOCAL_IMPORT.findall(text):
            if (imported := _resolve(file.parent, specifier)) is not None:
                pending.append(imported)
    return sorted(seen)


def _files(entry: Path) -> list[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.is_file() and "node_modules" not in p.parts)
    return [entry]


def _resolve(folder: Path, specifier: str) -> Path | None:
    base = folder / specifier
    # TypeScript's ESM style names the emitted file: "./schema.js" is ./schema.ts.
    stems = [base, base.with_suffix("")] if base.suffix in (".js", ".mjs", ".cjs") else [base]
    for stem in stems:
        for suffix in RESOLVED_SUFFIXES:
            candidate = Path(f"{stem}{suffix}")
            if candidate.is_file():
                return candidate
    return None


def _relative(files: list[Path]) -> list[str]:
    root = REPO_ROOT.resolve()
    return [str(file.relative_to(root)) for file in files]
