"""One migration run at a time, per database: a PostgreSQL advisory lock.

Neither drizzle-kit nor Alembic takes a lock. The wrapper holds this one on its
own connection for the whole run, across both tools; the database holds it, so
it works for runs from several terminals, CI jobs and containers alike. If the
wrapper dies, PostgreSQL releases the lock with its connection.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import errors
from psycopg2.extensions import cursor as Cursor

from scripts.errors import MigrationLocked

LOCK_NAME = "fullstack-template:migrations"
# pg_advisory_lock takes a signed 64-bit key: derived from the project, fixed across runs.
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


# The lock's session sits idle for the whole run: no server-side timeout may end it
# (and so release the lock) under a long migration. Only settings the server has are set.
NO_SESSION_TIMEOUTS = """
SELECT set_config(name, '0', false) FROM pg_settings
WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout', 'statement_timeout')
"""


@contextmanager
def migration_lock(libpq_url: str, wait_seconds: float, connect_timeout: float = 10) -> Iterator[bool]:
    """Hold the migration lock; wait up to ``wait_seconds`` for another run to finish.

    Yields whether it waited: the run before may have left nothing to do.
    """
    application_name = f"migrate on {socket.gethostname()} pid {os.getpid()}"[:63]
    connection = psycopg2.connect(
        libpq_url,
        application_name=application_name,
        connect_timeout=max(1, int(connect_timeout)),
        # A dead network path is noticed, rather than the lock looking held forever.
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(NO_SESSION_TIMEOUTS)
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            waited = not cursor.fetchone()[0]
            if waited:
                holder = _holder(cursor)
                print(
                    f"… another migration is running ({holder}); "
                    f"waiting up to {wait_seconds:g} s (MIGRATE_LOCK_TIMEOUT)"
                )
                _wait(cursor, wait_seconds, holder)
        yield waited
    finally:
        connection.close()


def _wait(cursor: Cursor, wait_seconds: float, holder: str) -> None:
    cursor.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(int(wait_seconds * 1000), 1)}ms",))
    try:
        cursor.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    except errors.LockNotAvailable:
        raise MigrationLocked(
            f"another migration still holds the lock after {wait_seconds:g} s ({holder})",
            "wait for it to finish and run the command again, or raise MIGRATE_LOCK_TIMEOUT",
        ) from None
    cursor.execute("SELECT set_config('lock_timeout', '0', false)")


def _holder(cursor: Cursor) -> str:
    """Who holds the lock, as far as the database can tell."""
    cursor.execute(
        """
        SELECT a.pid, a.application_name, a.client_addr, a.backend_start
        FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = %s
        """,
        (LOCK_KEY,),
    )
    row = cursor.fetchone()
    if row is None:
        return "holder not visible to this role"
    pid, name, address, started = row
    where = f" from {address}" if address else ""
    return f"PostgreSQL backend pid {pid}, {name or 'unnamed'}{where}, since {started:%H:%M:%S}"
