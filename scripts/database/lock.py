"""One migration run at a time, per database: a PostgreSQL advisory lock.

Neither drizzle-kit nor Alembic takes a lock. The wrapper holds this one on its
own connection for the whole run, across both tools; the database holds it, so
it works for runs from several terminals, CI jobs and containers alike. If the
wrapper dies, PostgreSQL releases the lock with its connection.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2.extensions import connection
from psycopg2.extensions import cursor as Cursor

from scripts.core.errors import MigrationLocked
from scripts.database import session_settings

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
def migration_lock(
    libpq_url: str, wait_seconds: float, connect_timeout: float = 10, lock_timeout: float | None = None
) -> Iterator[bool]:
    """Hold the migration lock; wait up to ``wait_seconds`` for another run to finish.

    Yields whether it waited: the run before may have left nothing to do. Before taking the
    lock, ends what a killed run left running (:func:`end_leftovers`); while holding it, says
    which session holds up a migration that waits for a table's lock (:class:`LockWaits`);
    on leaving (done, failed or interrupted), ends this run's own sessions that are still there.
    """
    connection = session_settings.open_session(
        libpq_url,
        connect_timeout=connect_timeout,
        bounds=None,
        role="lock",
        # A dead network path is noticed, rather than the lock looking held forever.
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    reporter: LockWaits | None = None
    try:
        with connection.cursor() as cursor:
            cursor.execute(NO_SESSION_TIMEOUTS)
            end_leftovers(cursor)
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            waited = not cursor.fetchone()[0]
            if waited:
                holder = _holder(cursor)
                print(
                    f"… another migration is running ({holder}); "
                    f"waiting up to {wait_seconds:g} s (MIGRATE_LOCK_TIMEOUT)",
                    flush=True,
                )
                _wait(cursor, wait_seconds, holder)
        reporter = LockWaits(libpq_url, connect_timeout, lock_timeout)
        reporter.start()
        yield waited
    finally:
        if reporter is not None:
            reporter.stop()
        try:
            end_own_sessions(connection)
        finally:
            connection.close()


def _wait(cursor: Cursor, wait_seconds: float, holder: str) -> None:
    """Try again every half second: a wait in Python, which Ctrl-C and SIGTERM end at once."""
    deadline = time.monotonic() + wait_seconds
    while True:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
        if cursor.fetchone()[0]:
            return
        if time.monotonic() >= deadline:
            raise MigrationLocked(
                f"another migration still holds the lock after {wait_seconds:g} s ({holder})",
                "wait for it to finish and run the command again, or raise MIGRATE_LOCK_TIMEOUT",
            )
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


# The sessions of migration runs: "migrate:ROLE:HOST:PID" (scripts/database/session_settings.py).
RUN_SESSIONS = """
SELECT pid, application_name, state, extract(epoch FROM now() - coalesce(state_change, backend_start))::int,
       left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 60)
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND application_name LIKE 'migrate:%'
"""
# Roles whose sessions may live without a lock of their run: the tooling's own queries, the lock's
# session itself, and the checks (`make migrate-check` takes no lock): never ended from another host.
BEFORE_THE_LOCK = ("tooling", "lock", "check")
LEFTOVER_GRACE_SECONDS = 10


def end_leftovers(cursor: Cursor) -> None:
    """End what a killed run left running: a killed wrapper releases the lock with its session,
    but a tool's statement (a long ALTER, a pg_sleep) goes on until the server notices the client
    is gone. A run whose lock session is gone, and whose process no longer runs on this host (or,
    from another host, that still has a tool's session after the lock's release), left it."""
    cursor.execute(RUN_SESSIONS)
    sessions = cursor.fetchall()
    runs_with_lock = {name.split(":", 2)[2] for _, name, *_ in sessions if name.startswith("migrate:lock:")}
    this_host = session_settings.run_suffix().split(":")[1]
    leftovers = []
    for pid, name, state, seconds, query in sessions:
        parts = name.split(":")
        if len(parts) != 4 or ":".join(parts[2:]) in runs_with_lock:
            continue
        _, role, host, client = parts
        if host == this_host and client.isdigit():
            if process_runs(int(client)):
                continue
            reason = f"its process {client} no longer runs on this host"
        elif role in BEFORE_THE_LOCK:
            continue
        else:
            reason = f"its run on {host} released the migration lock"
        leftovers.append((pid, name, state, seconds, query, reason))
    for pid, name, state, seconds, query, reason in leftovers:
        print(
            f"… a session of an earlier migration run is still there: pid {pid} ({name}, {state} {seconds} s: "
            f"{query}); {reason}, so it is left over (a killed run); ending it",
            flush=True,
        )
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    if leftovers:
        _await_gone(cursor, [pid for pid, *_ in leftovers])


def _await_gone(cursor: Cursor, pids: list[int]) -> None:
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    while True:
        cursor.execute("SELECT array_agg(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
        remaining = cursor.fetchone()[0]
        if not remaining:
            print(f"✓ ended {len(pids)} left-over session(s) of an earlier run", flush=True)
            return
        if time.monotonic() >= deadline:
            print(
                f"! left-over session(s) {', '.join(map(str, remaining))} could not be ended "
                "(the role may not signal them): a migration may wait behind their locks",
                flush=True,
            )
            return
        time.sleep(0.2)


def process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it runs
    # A killed process whose parent died too stays a zombie until something reaps it: it runs no more.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): signal 0 is all there is to ask
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def end_own_sessions(connection: connection) -> None:
    """The run is over: a tool it killed (interrupted, failed) may have left its statement
    running on the server, which must not outlive the run (nor its lock)."""
    if connection.closed:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND datname = current_database() AND application_name LIKE %s",
                (f"migrate:%{session_settings.run_suffix()}",),
            )
    except psycopg2.Error:
        pass  # the server went away (the run's own failure says so): nothing of the run is left on it


# This run's sessions that wait for a lock, and who holds it up (pg_blocking_pids).
LOCK_WAITS = """
SELECT w.pid, split_part(w.application_name, ':', 2),
       coalesce((SELECT l.relation::regclass::text FROM pg_locks l
                  WHERE l.pid = w.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1), 'an object'),
       extract(epoch FROM now() - w.query_start)::float8,
       h.pid, coalesce(nullif(h.application_name, ''), 'no application_name'), coalesce(h.state, '?'),
       extract(epoch FROM now() - coalesce(h.xact_start, h.query_start, h.backend_start))::int,
       left(regexp_replace(coalesce(h.query, ''), '\\s+', ' ', 'g'), 60)
FROM pg_stat_activity w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid)
JOIN pg_stat_activity h ON h.pid = blocking.pid
WHERE w.wait_event_type = 'Lock' AND w.application_name LIKE %s AND w.pid <> pg_backend_pid()
ORDER BY w.pid, h.pid
"""
REPORT_AFTER_SECONDS = 1.0  # or half the lock timeout, if shorter: every wait that times out is seen
POLL_SECONDS = 0.25
REPORT_EVERY_SECONDS = 5.0


# A session of the run that waits longer than DB_LOCK_TIMEOUT (and this) did not SET it: a tool's
# own session (drizzle-kit pull in the checks), which the template cannot bound from inside.
UNBOUNDED_GRACE_SECONDS = 2.0
_LAST_WAIT: list[str | None] = [None]


def last_wait() -> str | None:
    """The latest lock wait of this run's sessions, as the last :class:`LockWaits` saw it."""
    return _LAST_WAIT[0]


def describe_holder(pid: int, name: str, state: str, seconds: int, query: str) -> str:
    return f"pid {pid} ({name}, {state}, {seconds} s: {query})"


class LockWaits:
    """While a session of this run waits for a lock for more than a second, say every few
    seconds (a new line each time: CI logs have no terminal) which table, and who holds it."""

    def __init__(self, libpq_url: str, connect_timeout: float, lock_timeout: float | None = None) -> None:
        self.libpq_url, self.connect_timeout, self.lock_timeout = libpq_url, connect_timeout, lock_timeout
        self.report_after = min(REPORT_AFTER_SECONDS, lock_timeout / 2) if lock_timeout else REPORT_AFTER_SECONDS
        # Twice per lock timeout at least: an attempt of 50 ms is seen, and its holder named.
        self.poll = min(POLL_SECONDS, lock_timeout / 2) if lock_timeout else POLL_SECONDS
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lock-waits", daemon=True)
        self.last: str | None = None  # the latest wait seen: named in a failure's message

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)

    def _run(self) -> None:
        try:
            session = session_settings.open_session(
                self.libpq_url, connect_timeout=self.connect_timeout, bounds={"lock_timeout": "1s"}, role="watch"
            )
        except Exception:  # noqa: BLE001 - a report the run can do without
            return
        reported: dict[tuple[int, str], float] = {}
        try:
            while not self.stopped.wait(self.poll):
                with session.cursor() as cursor:
                    cursor.execute(LOCK_WAITS, (f"migrate:%{session_settings.run_suffix()}",))
                    rows = cursor.fetchall()
                waiting = {}
                for pid, role, relation, waited, *holder in rows:
                    waiting.setdefault((pid, relation), (role, waited, []))[2].append(describe_holder(*holder))
                for key, (role, waited, holders) in waiting.items():
                    self.last = _LAST_WAIT[0] = f"lock on {key[1]} held by {', '.join(holders)}"
                    if waited >= self.report_after and waited - reported.get(key, -REPORT_EVERY_SECONDS) >= (
                        REPORT_EVERY_SECONDS
                    ):
                        reported[key] = waited
                        shown = f"{waited:.0f} s" if waited >= 1 else f"{waited * 1000:.0f} ms"  # a 50 ms attempt
                        print(f"  … {role}: waiting {shown} for a {self.last}", flush=True)
                    if self.lock_timeout is not None and waited > self.lock_timeout + UNBOUNDED_GRACE_SECONDS:
                        self._cancel(session, key[0], role, waited)
                reported = {key: value for key, value in reported.items() if key in waiting}
        except Exception:  # noqa: BLE001 - e.g. the server went away: the run itself will say so
            return
        finally:
            session.close()

    def _cancel(self, session: connection, pid: int, role: str, waited: float) -> None:
        print(
            f"  ✗ {role}: its session (pid {pid}) has waited {waited:.0f} s, more than DB_LOCK_TIMEOUT: "
            "cancelling its statement (lock timeout)",
            flush=True,
        )
        with session.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", (pid,))


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
