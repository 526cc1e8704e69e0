"""The two migration systems sharing the one database, as ``systems.env`` declares them.

Every folder, schema and bookkeeping table the scripts name comes from here, so
that moving an app's folder is the move plus one edit of ``systems.env``. Read
once, on first use rather than on import: a broken ``systems.env`` is then one
line and exit code 17 from :func:`scripts.core.report.entry_point`, not a traceback.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dotenv import dotenv_values

from scripts.core.config import REPO_ROOT
from scripts.core.errors import InvalidSetting

SYSTEMS_FILE = REPO_ROOT / "systems.env"
# Schema and table names go into SQL as they are: plain lower-case identifiers only.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESTORE_HINT = "systems.env declares the two migration systems: restore it from git, then redo your edit"


@dataclass(frozen=True)
class System:
    """One migration system: its app's folder, its tool, its schema and its bookkeeping table."""

    name: str  # "frontend" or "backend": what the scripts call it in their messages
    folder: str  # relative to the repository root, e.g. "nextjs"
    tool: str
    schema: str
    migrations_dir: str  # relative to ``folder``, e.g. "drizzle"
    bookkeeping_schema: str
    bookkeeping_table: str

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.folder

    @property
    def migrations_path(self) -> Path:
        return self.path / self.migrations_dir

    @property
    def migrations_folder(self) -> str:
        """The migrations folder as messages show it, e.g. ``nextjs/drizzle``."""
        return f"{self.folder}/{self.migrations_dir}"

    @property
    def bookkeeping(self) -> str:
        """The table of applied migrations, e.g. ``drizzle.__drizzle_migrations``."""
        return f"{self.bookkeeping_schema}.{self.bookkeeping_table}"

    def shown(self, *parts: str) -> str:
        """A path in the app's folder, as messages show it, e.g. ``shown("drizzle.config.ts")``."""
        return "/".join((self.folder, *parts))


@dataclass(frozen=True)
class Systems:
    frontend: System
    backend: System
    ledger_schema: str  # the tooling's own bookkeeping (scripts/database/ledger.py)

    @property
    def all(self) -> tuple[System, System]:
        return (self.frontend, self.backend)

    @property
    def schemas(self) -> tuple[str, ...]:
        """Every schema the migrations and the tooling create tables in, the frontend's own first, each once."""
        names = [self.frontend.schema, self.backend.schema]
        names += [self.frontend.bookkeeping_schema, self.backend.bookkeeping_schema, self.ledger_schema]
        return tuple(dict.fromkeys(names))

    @property
    def node_bin(self) -> Path:
        """The frontend's Node tools (drizzle-kit, next, ...), as ``npm ci`` installs them."""
        return self.frontend.path / "node_modules" / ".bin"

    def of_folder(self, folder: str) -> System | None:
        """The system whose app lives in ``folder`` (as a step names it), if any."""
        wanted = (REPO_ROOT / folder).resolve()
        return next((system for system in self.all if system.path.resolve() == wanted), None)


@functools.cache
def load(path: Path = SYSTEMS_FILE) -> Systems:
    """``systems.env``, checked: every name present, folders that exist, plain SQL identifiers."""
    if not path.is_file():
        raise InvalidSetting(f"{path.name} is missing from the repository root", RESTORE_HINT)
    try:
        values = {name: value for name, value in dotenv_values(path).items() if value}
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSetting(f"cannot read {path.name}: {error.__class__.__name__}", RESTORE_HINT) from None
    ledger_schema = values.get("LEDGER_SCHEMA", "").strip()
    if not IDENTIFIER.match(ledger_schema):
        raise InvalidSetting(f"{path.name}: LEDGER_SCHEMA is not set to a plain PostgreSQL name", RESTORE_HINT)
    return Systems(
        frontend=_system("frontend", "FRONTEND", values, path),
        backend=_system("backend", "BACKEND", values, path),
        ledger_schema=ledger_schema,
    )


def _system(name: str, prefix: str, values: dict[str, str], path: Path) -> System:
    def value(key: str) -> str:
        variable = f"{prefix}_{key}"
        if not values.get(variable, "").strip():
            raise InvalidSetting(f"{path.name}: {variable} is not set", RESTORE_HINT)
        return values[variable].strip()

    def identifier(key: str) -> str:
        text = value(key)
        if not IDENTIFIER.match(text):
            raise InvalidSetting(
                f"{path.name}: {prefix}_{key}={text[:40]!r} is not a plain PostgreSQL name",
                "use lower-case letters, digits and '_' only",
            )
        return text

    folder, migrations_dir = _folder(prefix, "DIR", value("DIR"), path), value("MIGRATIONS_DIR")
    _folder(prefix, "MIGRATIONS_DIR", migrations_dir, path)
    if not (path.parent / folder).is_dir():
        raise InvalidSetting(
            f"{path.name}: {prefix}_DIR={folder}, but the repository has no folder {folder}/",
            f"set {prefix}_DIR to the folder the {name} app lives in (moved it? this is where to say so)",
        )
    return System(
        name=name,
        folder=folder,
        tool=value("TOOL"),
        schema=identifier("SCHEMA"),
        migrations_dir=migrations_dir,
        bookkeeping_schema=identifier("BOOKKEEPING_SCHEMA"),
        bookkeeping_table=identifier("BOOKKEEPING_TABLE"),
    )


def _folder(prefix: str, key: str, text: str, path: Path) -> str:
    """A relative folder inside the repository, written with '/'."""
    folder = PurePosixPath(text)
    if folder.is_absolute() or ".." in folder.parts or str(folder) == ".":
        raise InvalidSetting(
            f"{path.name}: {prefix}_{key}={text[:60]!r} is not a folder inside the repository",
            "give a relative path such as nextjs or alembic/versions",
        )
    return str(folder)
