"""Pre-flight check 7: what a migration's session is told reaches the server, and lasts.

Settings travel to a session two ways. The startup parameter ``options`` (a URL's
``?options=``, or PGOPTIONS): PgBouncer refuses it (check 4 names that), and told to
ignore it, drops it without a word. And SET, which every pooler passes: the tools SET the
run's bounds (lock_timeout, statement_timeout) at the start of their session. Both are
tested here on a session connected as the tools connect: what the startup options ask
for is in force, and a SET lasts to the session's next transaction.
"""

from __future__ import annotations

import os
import select
import socket
import time

import psycopg2
from psycopg2 import extensions
from psycopg2.extensions import connection

from scripts.core.config import BOUND_SETTINGS
from scripts.core.errors import InvalidSetting, SessionSettingsLost

DROPPED_OPTIONS_HINT = (
    "remove options from the URL and PGOPTIONS (set what you need on the role instead: ALTER ROLE ... SET), "
    "or set DIRECT_DATABASE_URL to the database's direct address; the template SETs its own timeouts "
    "in the session and needs no options"
)


def requested_settings(options: str) -> dict[str, str]:
    """The settings a libpq ``options`` string asks for: ``-c name=value`` and ``--name=value``.

    As the server reads it: words split at spaces, a backslash keeps the next character.
    Other command-line switches are not settings a session can show, and are left out.
    """
    words: list[str] = []
    word, escaped = "", False
    for character in f"{options} ":
        if escaped:
            word, escaped = word + character, False
        elif character == "\\":
            escaped = True
        elif character.isspace():
            if word:
                words.append(word)
            word = ""
        else:
            word += character
    settings: dict[str, str] = {}
    for index, word in enumerate(words):
        if word == "-c" and index + 1 < len(words):
            setting = words[index + 1]
        elif word.startswith("-c") and word != "-c":
            setting = word[2:]
        elif word.startswith("--"):
            setting = word[2:]
        else:
            continue
        name, separator, value = setting.partition("=")
        if separator and name:
            settings[name.replace("-", "_")] = value
    return settings


def check_startup_options(session: connection, options: str, variable: str) -> None:
    """What the startup options ask for is in force: a pooler that ignores them is refused."""
    with session.cursor() as cursor:
        for name, value in requested_settings(options).items():
            cursor.execute("BEGIN")
            try:
                # set_config, rolled back, gives the requested value in the server's own notation.
                cursor.execute("SELECT current_setting(%s, true), set_config(%s, %s, true)", (name, name, value))
                in_force, wanted = cursor.fetchone()
            except psycopg2.Error:
                in_force = wanted = None  # a value the server cannot compare: the login would have failed
            finally:
                cursor.execute("ROLLBACK")
            if in_force != wanted:
                raise SessionSettingsLost(
                    f"{variable}'s startup options do not reach the server: they ask for {name}={value}, "
                    f"the session has {name}={in_force}; something in between drops them (PgBouncer with "
                    "options in ignore_startup_parameters); nothing was changed",
                    DROPPED_OPTIONS_HINT,
                )


def set_bounds(session: connection, bounds: dict[str, str]) -> list[str]:
    """SET each bound in the (autocommit) session; the values in the server's own notation."""
    variables = {setting: (name, default) for name, setting, default in BOUND_SETTINGS}
    set_values = []
    with session.cursor() as cursor:
        for setting, value in bounds.items():
            try:
                # set_config returns the value in the server's own notation ("5s" for "5000ms").
                cursor.execute("SELECT set_config(%s, %s, false)", (setting, value))
            except psycopg2.Error as error:
                name, default = variables.get(setting, (setting, value))
                reason = (error.diag.message_primary or str(error)).strip()
                raise InvalidSetting(
                    f"{name}={value}: the server refuses it ({reason})", f"set {name} to e.g. {default}"
                ) from None
            set_values.append(cursor.fetchone()[0])
    return set_values


def check_bounds_last(session: connection, bounds: dict[str, str], variable: str) -> None:
    """The run's bounds, SET in one transaction, are still in force in the next one."""
    set_values = set_bounds(session, bounds)
    with session.cursor() as cursor:
        # Autocommit: this is the session's next transaction, as a tool's next migration would be.
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(bounds)), list(bounds))
        in_force = cursor.fetchone()
    for setting, wanted, found in zip(bounds, set_values, in_force, strict=True):
        if found != wanted:
            raise SessionSettingsLost(
                f"through {variable}, a SET does not last to the session's next transaction ({setting} was set "
                f"to {wanted}, then was {found}): the migrations' lock and statement timeouts would be lost; "
                "nothing was changed",
                "set DIRECT_DATABASE_URL to the database's direct address for migrations (not the pooler's); "
                "the apps keep DATABASE_URL",
            )


# Every session of a migration run is named "migrate:ROLE:HOST:PID" (PID: the wrapper's), so that
# the run can watch its own lock waits, end its own backends, and a later run can tell the
# leftovers of a killed one (scripts/database/lock.py). A SET, not a startup parameter: the user's URL
# may carry an application_name of its own, and libpq's fallback would lose to it.
APPLICATION_PREFIX = "migrate"
# How often the server checks, during a long statement, that the client is still there (PG 14+):
# a killed run's statement ends within seconds instead of running to its end.
CLIENT_CHECK_INTERVAL = "2s"
# psycopg2's states of a connection being set up, which it does not export (psycopg/connection.h).
CONNECTING = (20, 21)


def run_suffix(host: str | None = None, pid: int | None = None) -> str:
    """ ":HOST:PID": the end of every application_name of one run."""
    host = (host or socket.gethostname()).replace(":", "-")[:30]
    return f":{host}:{pid or os.getpid()}"


def application_name(role: str) -> str:
    return f"{APPLICATION_PREFIX}:{role}{run_suffix()}"[:63]


def session_settings(role: str, session: connection | None = None) -> dict[str, str]:
    """What a migration session of ``role`` SETs besides the bounds: its name, and (where the
    server has it, asked on ``session``) client_connection_check_interval."""
    settings = {"application_name": application_name(role)}
    if session is not None and client_check_supported(session):
        settings["client_connection_check_interval"] = CLIENT_CHECK_INTERVAL
    return settings


def client_check_supported(session: connection) -> bool:
    with session.cursor() as cursor:
        try:
            cursor.execute(
                "SELECT set_config(name, %s, false) FROM pg_settings WHERE name = 'client_connection_check_interval'",
                (CLIENT_CHECK_INTERVAL,),
            )
            return cursor.fetchone() is not None
        except psycopg2.Error:  # the platform lacks the check (not Linux): the server says so
            return False


def open_session(
    libpq_url: str,
    *,
    connect_timeout: float,
    bounds: dict[str, str] | None,
    role: str | None = "tooling",
    options: str | None = None,
    **parameters: object,
) -> connection:
    """The one way the tooling opens a session: autocommit, bounded (``bounds``: lock_timeout,
    statement_timeout, SET in the session), named for its run, and interruptible (Ctrl-C or
    SIGTERM cancels the query at once instead of waiting for it to end)."""
    interruptible()
    extra = {"options": options} if options else {}
    session = psycopg2.connect(libpq_url, connect_timeout=max(1, int(connect_timeout)), **extra, **parameters)
    try:
        session.autocommit = True
        # role None: a session that must show what its startup options did, untouched (check 7).
        set_bounds(session, {**(bounds or {}), **(session_settings(role, session) if role else {})})
    except BaseException:
        session.close()
        raise
    return session


def interruptible() -> None:
    """Queries wait in Python, not inside libpq: a signal's handler runs at once (psycopg2 docs,
    "Support for coroutine libraries"). libpq's connect_timeout does not apply in this mode:
    :func:`_wait` keeps it."""
    if extensions.get_wait_callback() is not _wait:
        extensions.set_wait_callback(_wait)


def _wait(session: connection) -> None:
    deadline = None
    if session.status in (extensions.STATUS_SETUP, *CONNECTING):
        timeout = extensions.parse_dsn(session.dsn).get("connect_timeout")
        deadline = time.monotonic() + float(timeout) if timeout and float(timeout) > 0 else None
    while True:
        try:
            state = session.poll()
            if state == extensions.POLL_OK:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise psycopg2.OperationalError("timeout expired")
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            if state == extensions.POLL_READ:
                select.select([session.fileno()], [], [], wait)
            elif state == extensions.POLL_WRITE:
                select.select([], [session.fileno()], [], wait)
        except KeyboardInterrupt:
            # The server stops the statement too: the run ends, its query does not go on.
            try:
                session.cancel()
            except psycopg2.Error:
                pass
            raise
