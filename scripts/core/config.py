"""Where the tooling's configuration comes from: the one place scripts/ reads it.

The apps read theirs themselves (backend/app/settings.py, nextjs/): the tooling
stands apart from them, so that restructuring an app never breaks ``make migrate``.

Order: the process environment, then the env file (``ENV_FILE``, default
``.env`` at the repository root). With neither an environment variable nor an
env file, the defaults of ``.env.example`` apply: a fresh clone works against
the project-local database without any setup.

Then the scripts' view of it: typed values, checked, or a Failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from scripts.core.database_url import SECRET_PARAMETERS, DatabaseUrl, InvalidDatabaseUrl, parse
from scripts.core.errors import InvalidSetting, MalformedDatabaseUrl, NoDatabaseUrl
from scripts.core.redact import add_secret

# From the scripts' own place, whatever the apps' folders are called (systems.env).
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ENV_FILE = REPO_ROOT / ".env"
EXAMPLE_ENV_FILE = REPO_ROOT / ".env.example"


def shown_path(path: Path) -> str:
    """A path as messages show it: from the repository's root when it is inside the repository."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


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


MAX_SECONDS = 86400  # a day: also keeps PostgreSQL's lock_timeout (milliseconds, int32) in range
# The password of a URL as typed, registered for masking before anything parses the URL.
TYPED_PASSWORD = re.compile(r"^[^:/]*://[^:/@]*:(.*)@")


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    try:
        return load_settings(environ)
    except ConfigError as error:
        raise NoDatabaseUrl(str(error), error.hint) from None


def database_url(settings: Settings, *, for_apps: bool = False) -> DatabaseUrl:
    """The URL migrations use, present and well-formed (pre-flight checks 1 and 2).

    DIRECT_DATABASE_URL when set (a direct connection beside a pooled DATABASE_URL), else
    DATABASE_URL: migrations need a session of their own (docs/configuration.md).
    ``for_apps``: the apps' URL instead, DATABASE_URL (which may go through a pooler).
    """
    if for_apps:
        name = "DATABASE_URL" if settings.values.get("DATABASE_URL") else settings.migration_url_name
        raw = settings.database_url
    else:
        raw, name = settings.migration_database_url, settings.migration_url_name
    if typed := TYPED_PASSWORD.match(raw or ""):
        add_secret(typed.group(1))
    if not raw and settings.local_default_refused:
        raise NoDatabaseUrl(
            f"DATABASE_URL is not set, and with {settings.local_default_refused} the local database is never used",
            "set DATABASE_URL (e.g. from your CI/CD secret) to the database to migrate",
        )
    if not raw:
        raise NoDatabaseUrl(
            "DATABASE_URL is not set (not in the environment, not in the env file)",
            "create .env from the template: cp .env.example .env (then edit it)",
        )
    try:
        url = parse(raw)
    except InvalidDatabaseUrl as error:
        source = f" (from {settings.database_url_source})" if name == "DATABASE_URL" else ""
        raise MalformedDatabaseUrl(
            f"{name}{source} is malformed: {error}",
            "fix it; the expected form is postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        ) from None
    for secret in (url.password, *(url.query.get(parameter) for parameter in SECRET_PARAMETERS)):
        add_secret(secret)
    return url


def seconds(settings: Settings, name: str, default: str) -> float:
    value = settings.get(name, default)
    try:
        number = float(value)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_SECONDS:
        raise InvalidSetting(
            f"{name}={value!r} is not a number of seconds from 0 to {MAX_SECONDS}", f"set {name} to e.g. {default}"
        )
    return number


POSTGRES_DURATION = re.compile(r"^\d+\s*(ms|s|min|h|d)?$")
# The migrations' bounds: the variable that sets each, the PostgreSQL setting, its default.
BOUND_SETTINGS = (
    # Short, and retried (lock_retries): while a migration waits for its lock, every query that
    # comes after it on that table waits behind it, so the app stalls at most this long per attempt.
    # 50ms: the longest that kept p99 within 2x under make bench-live's load; 2s failed requests.
    ("DB_LOCK_TIMEOUT", "lock_timeout", "50ms"),
    ("DB_STATEMENT_TIMEOUT", "statement_timeout", "15min"),
)


def migration_bounds(settings: Settings) -> dict[str, str]:
    """The session settings bounding how long a migration may wait and run, checked.

    ``lock_timeout``: a migration that needs a lock held by live traffic fails in
    seconds instead of queueing every later query behind it. Each tool SETs them at the
    start of its session (scripts/database/applying.py): unlike the startup parameter ``options``, a SET
    passes every pooler.
    """
    bounds = {}
    for name, setting, default in BOUND_SETTINGS:
        value = settings.get(name, default).strip()
        if not POSTGRES_DURATION.match(value):
            raise InvalidSetting(f"{name}={value!r} is not a PostgreSQL duration", f"set {name} to e.g. {default}")
        bounds[setting] = value.replace(" ", "")
    return bounds


DURATION_UNITS = {"ms": 0.001, "": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}  # none: milliseconds


def duration_seconds(value: str) -> float:
    """A checked PostgreSQL duration ("2s", "1500", "15min") in seconds."""
    number, unit = re.match(r"^(\d+)\s*([a-z]*)$", value).groups()
    return int(number) * DURATION_UNITS[unit]


def bounds_variable(bounds: dict[str, str]) -> str:
    """``MIGRATION_BOUNDS``, as env.py and scripts/drizzle_migrate.mjs read it: "lock_timeout=50ms ..."."""
    return " ".join(f"{setting}={value}" for setting, value in bounds.items())


# A migration that times out on a lock gives way, waits, and is tried again (env.py, drizzle_migrate.mjs).
LOCK_RETRIES_DEFAULT = "20"  # with DB_LOCK_TIMEOUT=50ms: at most 1.05 s waiting for locks, 37.5 s between attempts
LOCK_RETRY_MAX_WAIT_DEFAULT = "2"
FIRST_RETRY_WAIT_SECONDS = 0.5
MAX_LOCK_RETRIES = 100


def lock_retries(settings: Settings) -> dict[str, str]:
    """``MIGRATION_LOCK_RETRIES``'s parts, checked: how many more attempts (DB_LOCK_RETRIES), the
    first wait, doubled each time up to DB_LOCK_RETRY_MAX_WAIT seconds (each with jitter)."""
    value = settings.get("DB_LOCK_RETRIES", LOCK_RETRIES_DEFAULT).strip()
    if not value.isdigit() or int(value) > MAX_LOCK_RETRIES:
        raise InvalidSetting(
            f"DB_LOCK_RETRIES={value!r} is not a whole number from 0 to {MAX_LOCK_RETRIES}",
            f"set DB_LOCK_RETRIES to e.g. {LOCK_RETRIES_DEFAULT}",
        )
    max_wait = seconds(settings, "DB_LOCK_RETRY_MAX_WAIT", LOCK_RETRY_MAX_WAIT_DEFAULT)
    return {"retries": str(int(value)), "first_wait": f"{FIRST_RETRY_WAIT_SECONDS:g}", "max_wait": f"{max_wait:g}"}


def settings_variable(values: dict[str, str]) -> str:
    """NAME=VALUE pairs in one variable, as env.py and scripts/drizzle_migrate.mjs read them."""
    return " ".join(f"{name}={value}" for name, value in values.items())
