"""Where the tooling's configuration comes from: the one place scripts/ reads it.

The apps read theirs themselves (backend/app/settings.py, nextjs/): the tooling
stands apart from them, so that restructuring an app never breaks ``make migrate``.

Order: the process environment, then the env file (``ENV_FILE``, default
``.env`` at the repository root). With neither an environment variable nor an
env file, the defaults of ``.env.example`` apply: a fresh clone works against
the project-local database without any setup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

# From the scripts' own place, whatever the apps' folders are called (systems.env).
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENV_FILE = REPO_ROOT / ".env"
EXAMPLE_ENV_FILE = REPO_ROOT / ".env.example"


class ConfigError(Exception):
    """The configuration cannot be read; the message says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


URL_NAMES = ("DATABASE_URL", "DIRECT_DATABASE_URL")


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str]
    # Where DATABASE_URL came from: "environment", the env file's path, or
    # ".env.example" when nothing is configured.
    database_url_source: str | None
    # Why .env.example's local database was not used although nothing is configured
    # (ENV=production, CI): a deploy with a missing secret must fail, never migrate a throwaway database.
    local_default_refused: str | None = None

    @property
    def database_url(self) -> str | None:
        """The apps' URL: possibly through a connection pooler; the direct one when it is the only one."""
        return self.values.get("DATABASE_URL") or self.values.get("DIRECT_DATABASE_URL") or None

    @property
    def migration_url_name(self) -> str:
        """The variable migrations connect with: DIRECT_DATABASE_URL when set, else DATABASE_URL."""
        return "DIRECT_DATABASE_URL" if self.values.get("DIRECT_DATABASE_URL") else "DATABASE_URL"

    @property
    def migration_database_url(self) -> str | None:
        return self.values.get(self.migration_url_name) or None

    @property
    def uses_example_defaults(self) -> bool:
        return self.database_url_source == EXAMPLE_ENV_FILE.name

    def get(self, name: str, default: str) -> str:
        value = self.values.get(name)
        return value if value not in (None, "") else default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    env_file = _env_file(environ)
    file_values = _read_env_file(env_file) if env_file else {}
    _refuse_empty_urls(environ, file_values, env_file)
    values = {**file_values, **{k: v for k, v in environ.items() if v != ""}}

    configured = any(environ.get(name) or file_values.get(name) for name in ("DATABASE_URL", "DIRECT_DATABASE_URL"))
    if environ.get("DATABASE_URL"):
        source: str | None = "environment"
    elif file_values.get("DATABASE_URL"):
        source = str(env_file)
    elif not configured and env_file is None and EXAMPLE_ENV_FILE.is_file():
        if refused := _deployed(environ):
            return Settings(values=values, database_url_source=None, local_default_refused=refused)
        values = {**_read_env_file(EXAMPLE_ENV_FILE), **values}
        source = EXAMPLE_ENV_FILE.name
    else:
        source = None
    return Settings(values=values, database_url_source=source)


def _deployed(environ: Mapping[str, str]) -> str | None:
    """ENV=production or a CI system (which sets CI): the local database is never the default there."""
    if environ.get("ENV", "").strip().lower() == "production":
        return "ENV=production"
    if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "CI set"
    return None


def _refuse_empty_urls(environ: Mapping[str, str], file_values: Mapping[str, str], env_file: Path | None) -> None:
    """A URL set but empty is a missing secret (a CI variable, a template's blank), never "not configured"."""
    for name in URL_NAMES:
        if name in environ:
            source, value = "the environment", environ[name]
        elif name in file_values:
            source, value = str(env_file), file_values[name]
        else:
            continue
        if not value.strip():
            raise ConfigError(
                f"{name} is set but empty (in {source}): nothing would be migrated",
                f"give {name} the database's URL (a CI/CD secret that is missing gives an empty one), or unset it",
            )


def _env_file(environ: Mapping[str, str]) -> Path | None:
    """The env file in use, or None when there is none to read."""
    configured = environ.get("ENV_FILE")
    if configured:
        path = Path(configured)
        path = path if path.is_absolute() else REPO_ROOT / path
        if not path.exists():
            raise ConfigError(
                f"ENV_FILE={configured} does not exist: create it (cp .env.example {configured}) or unset ENV_FILE"
            )
        return path
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None


def _read_env_file(path: Path) -> dict[str, str]:
    try:
        return {k: v for k, v in dotenv_values(path).items() if v is not None}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error.__class__.__name__}") from None
