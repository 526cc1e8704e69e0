"""Who waits on whom: pg_locks and pg_stat_activity sampled from a monitor connection.

Every ~50 ms the monitor reads the backends of the benchmark's database that wait for a lock
(pg_locks.waitstart: when the wait began) and what blocks them (pg_blocking_pids: the holders,
and the requests queued ahead of it). An app query's wait counts when the migration is among
its blockers, directly or through a chain (an app query queued behind one that waits for the
migration): the longest such wait is what a migration makes the traffic pay. The migration's
sessions are recognised by not being the apps' (their application_name says whose they are).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg2

APP_NAMES = ("bench-live-backend", "bench-live-frontend")
HOLDER_NAME = "bench-live-app-transaction"
MONITOR_NAME = "bench-live-monitor"
INTERVAL = 0.05
LABELS = {HOLDER_NAME: "app transaction"}  # the others are named by their backend_type, e.g. "autovacuum worker"

SAMPLE = """
SELECT a.pid, CASE WHEN a.backend_type = 'client backend' THEN a.application_name ELSE a.backend_type END,
       a.backend_type = 'client backend', l.waitstart, pg_blocking_pids(a.pid), clock_timestamp()
FROM pg_stat_activity a
LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
WHERE a.datname = current_database()
"""


@dataclass
class LockMonitor:
    url: str
    waits: dict[tuple[int, object], float] = field(default_factory=dict)  # (pid, waitstart): longest seen
    behind: dict[tuple[int, object], set[str]] = field(default_factory=dict)  # what was ahead of it
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._connection = psycopg2.connect(self.url, application_name=MONITOR_NAME)
        self._connection.autocommit = True
        self._thread = threading.Thread(target=self._run, name="bench-live-locks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._connection.close()

    def longest_wait(self) -> tuple[float, int, str]:
        """Seconds of the longest app query's wait the migration caused, how many app queries
        waited, and what that longest wait was behind (the migration, autovacuum, the app's transaction)."""
        if not self.waits:
            return 0.0, 0, ""
        key = max(self.waits, key=self.waits.__getitem__)
        return self.waits[key], len(self.waits), " + ".join(sorted(self.behind.get(key, ())))

    def _run(self) -> None:
        with self._connection.cursor() as cursor:
            while not self._stop.is_set():
                cursor.execute(SAMPLE)
                self._record(cursor.fetchall())
                self.samples += 1
                time.sleep(INTERVAL)

    def _record(self, rows: list[tuple]) -> None:
        names = {pid: name for pid, name, *_ in rows}
        clients = {pid for pid, _, client, *_ in rows if client}
        blockers: dict[int, set[int]] = {}
        started: dict[int, object] = {}
        now = None
        for pid, _, _, waitstart, blocking, clock in rows:
            now = clock
            if waitstart is not None:
                blockers.setdefault(pid, set()).update(blocking or [])
                started[pid] = min(started.get(pid, waitstart), waitstart)
        known = (*APP_NAMES, HOLDER_NAME, MONITOR_NAME)
        migration = {pid for pid in clients if names[pid] not in known}
        for pid, waitstart in started.items():
            if names.get(pid) not in APP_NAMES:
                continue
            ahead = self._ahead_of(pid, blockers)
            if ahead & migration:
                key = (pid, waitstart)
                self.waits[key] = max(self.waits.get(key, 0.0), (now - waitstart).total_seconds())
                self.behind[key] = {
                    "migration"
                    if blocker in migration
                    else LABELS.get(names.get(blocker, "?"), names.get(blocker, "?"))
                    for blocker in ahead
                    if names.get(blocker) not in APP_NAMES
                }

    @staticmethod
    def _ahead_of(pid: int, blockers: dict[int, set[int]]) -> set[int]:
        """Every backend a waiting one is queued behind, directly or through a chain."""
        seen, todo = set(), [pid]
        while todo:
            for blocker in blockers.get(todo.pop(), ()):
                if blocker not in seen:
                    seen.add(blocker)
                    todo.append(blocker)
        return seen - {pid}
