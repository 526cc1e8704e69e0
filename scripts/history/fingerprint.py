"""What a cached answer depends on: a fingerprint of the files the checks read, and the database it is for.

The fast path (scripts/fastpath.py) and the checks' caches (scripts/checks/) key their records with these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from scripts.core import systems
from scripts.core.config import REPO_ROOT
from scripts.core.database_url import SECRET_PARAMETERS, libpq_parameters, parse
from scripts.history import frontend_sources


def database_key(raw: str) -> str:
    """Which database a record is for, as libpq reads its URL; no password is part of it."""
    parameters = libpq_parameters(parse(raw))
    public = sorted((name, value) for name, value in parameters.items() if name not in SECRET_PARAMETERS)
    return hashlib.sha256(repr(public).encode()).hexdigest()


def fingerprint_sources() -> list[str]:
    """What the checks and the tools read: migration files, models, configuration, tool versions.

    Not the apps' own code (the backend's app/, the frontend's pages): editing an app
    changes no migration, and must not cost the next ``make migrate`` its fast answer.
    """
    frontend, backend = systems.load().all
    return [
        frontend.migrations_folder,
        frontend.shown("drizzle.config.ts"),
        frontend.shown("package-lock.json"),
        backend.shown("alembic"),
        backend.shown("alembic.ini"),
        backend.shown("models"),
        "systems.env",
        "scripts",
        "Makefile",
        "uv.lock",
        # What the frontend checks read: Better Auth's config, the Drizzle schema, what they import.
        *frontend_sources.auth_config_sources(),
        *frontend_sources.drizzle_schema_sources(),
    ]


def fingerprint(sources: list[str] | None = None, root: Path = REPO_ROOT) -> str:
    """A hash of the named files and folders (relative to ``root``), names and contents."""
    digest = hashlib.sha256()
    for path in _source_files(fingerprint_sources() if sources is None else sources, root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _source_files(sources: list[str], root: Path) -> Iterator[Path]:
    for source in sources:
        path = root / source
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
