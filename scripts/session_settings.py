"""Pre-flight check 7: what a migration's session is told reaches the server, and lasts.

Settings travel to a session two ways. The startup parameter ``options`` (a URL's
``?options=``, or PGOPTIONS): PgBouncer refuses it (check 4 names that), and told to
ignore it, drops it without a word. And SET, which every pooler passes: the tools SET the
run's bounds (lock_timeout, statement_timeout) at the start of their session. Both are
tested here on a session connected as the tools connect: what the startup options ask
for is in force, and a SET lasts to the session's next transaction.
"""

from __future__ import annotations

import psycopg2
from psycopg2.extensions import connection

from scripts.config import BOUND_SETTINGS
from scripts.errors import InvalidSetting, SessionSettingsLost

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


def check_bounds_last(session: connection, bounds: dict[str, str], variable: str) -> None:
    """The run's bounds, SET in one transaction, are still in force in the next one."""
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
