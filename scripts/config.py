"""The scripts' view of the configuration (read by scripts.settings): typed values, or a Failure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from scripts.database_url import SECRET_PARAMETERS, DatabaseUrl, InvalidDatabaseUrl, parse
from scripts.errors import InvalidSetting, MalformedDatabaseUrl, NoDatabaseUrl
from scripts.redact import add_secret
from scripts.settings import ConfigError, Settings, load_settings

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
    start of its session (scripts/run.py): unlike the startup parameter ``options``, a SET
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
    """``MIGRATION_BOUNDS``, as env.py and scripts/drizzle_migrate.mjs read it: "lock_timeout=5s ..."."""
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
