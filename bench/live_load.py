"""The live benchmark's traffic: signed-in users reading and writing at a fixed rate, open loop.

Request i is sent at start + i / rate whatever became of the earlier ones (a slow or stuck
request never delays the next), so a migration that makes queries queue shows up as latency
and failures, not as fewer requests. Latency is counted from the scheduled time, so a late
start (the event loop busy) is not hidden either. Each request is one of a fixed cycle of
operations through the frontend's /api (Next.js rewrites it to the backend), the backend
directly, and Better Auth's own routes (/api/auth).
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from dataclasses import dataclass, field

import httpx2 as httpx

from scripts.core.errors import Failure

# One cycle of 20 requests: 9 reads of notes, 4 note creations and 4 deletions (so the users'
# note lists keep their size), 2 session look-ups and, rarely, a sign-in. Better Auth limits
# each client address to 100 requests per 10 s per route and 3 sign-ins per 10 s: each load
# user has its own address (X-Forwarded-For) and stays well below both.
CYCLE = (
    "front_list",
    "back_list",
    "front_create",
    "back_delete",
    "session",
    "front_list",
    "back_list",
    "front_create",
    "back_delete",
    "back_list",
    "front_list",
    "back_list",
    "front_create",
    "back_delete",
    "session",
    "front_list",
    "front_create",
    "back_delete",
    "back_list",
    "sign_in",
)
SIGN_IN_EVERY = 10  # of the cycle's sign-ins, one in this many is sent (the others read the session)


@dataclass(frozen=True)
class Sample:
    scheduled: float  # time.monotonic() the request was due
    seconds: float  # from scheduled to the answer (or the failure)
    operation: str
    ok: bool
    status: str  # HTTP status, or the error's name


@dataclass
class LoadUser:
    email: str
    password: str
    address: str  # X-Forwarded-For: Better Auth's rate limit counts per client address
    cookie: str = ""
    created: collections.deque[int] = field(default_factory=collections.deque)


@dataclass
class Load:
    frontend: str
    backend: str
    users: list[LoadUser]
    rate: float
    timeout: float
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-live-load", daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.timeout + 30)
        if self._error:
            raise Failure(f"the load generator stopped: {self._error}", "see the apps' logs in the bench's folder")
        return self.samples

    def _run(self) -> None:
        try:
            asyncio.run(self._drive())
        except BaseException as error:  # noqa: BLE001 - reported by stop(), in the main thread
            self._error = error

    async def _drive(self) -> None:
        # Idle connections are dropped before the servers drop them (uvicorn and Node after 5 s):
        # a request sent on a connection the server is closing would fail for no fault of the app.
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=2)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            for user in self.users:
                if not user.cookie:
                    response = await self._sign_in(client, user)
                    if response.status_code != 200 or not user.cookie:
                        answer = f"HTTP {response.status_code} {response.text[:200]}"
                        raise Failure(f"{user.email} could not sign in: {answer}")
            pending: set[asyncio.Task] = set()
            started = time.monotonic()
            number = 0
            while not self._stop.is_set():
                due = started + number / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self._one(client, number, due))
                pending.add(task)
                task.add_done_callback(pending.discard)
                number += 1
            if pending:
                await asyncio.wait(pending, timeout=self.timeout + 5)

    async def _sign_in(self, client: httpx.AsyncClient, user: LoadUser) -> httpx.Response:
        response = await client.post(
            f"{self.frontend}/api/auth/sign-in/email",
            json={"email": user.email, "password": user.password},
            headers={"X-Forwarded-For": user.address, "Origin": self.frontend},
        )
        cookie = response.cookies.get("better-auth.session_token")
        if response.status_code == 200 and cookie:
            user.cookie = f"better-auth.session_token={cookie}"
        return response

    async def _one(self, client: httpx.AsyncClient, number: int, due: float) -> None:
        # Shifted by one user each cycle: every user gets every operation.
        user = self.users[(number + number // len(CYCLE)) % len(self.users)]
        operation = CYCLE[number % len(CYCLE)]
        if operation == "sign_in":
            cycle = number // len(CYCLE)
            if cycle % SIGN_IN_EVERY:
                operation = "session"
            else:  # the users in turn: each signs in once every users * SIGN_IN_EVERY cycles
                user = self.users[(cycle // SIGN_IN_EVERY) % len(self.users)]
        if operation == "back_delete" and not user.created:
            operation = "back_list"
        headers = {"Cookie": user.cookie, "X-Forwarded-For": user.address, "Origin": self.frontend}
        try:
            if operation == "front_list":
                response = await client.get(f"{self.frontend}/api/notes", headers=headers)
            elif operation == "back_list":
                response = await client.get(f"{self.backend}/notes", headers=headers)
            elif operation == "front_create":
                body = {"title": f"load {number}", "body": "written during the benchmark"}
                response = await client.post(f"{self.frontend}/api/notes", json=body, headers=headers)
                if response.status_code == 201:
                    user.created.append(response.json()["id"])
            elif operation == "back_delete":
                response = await client.delete(f"{self.backend}/notes/{user.created.popleft()}", headers=headers)
            elif operation == "session":
                response = await client.get(f"{self.frontend}/api/auth/get-session", headers=headers)
                if response.status_code == 200 and not response.json():
                    response.status_code = 401  # answered, but the session was not found
            else:
                response = await self._sign_in(client, user)
            ok, status = 200 <= response.status_code < 300, str(response.status_code)
        except httpx.TimeoutException:
            ok, status = False, "timeout"
        except httpx.HTTPError as error:
            ok, status = False, type(error).__name__
        self.samples.append(Sample(due, time.monotonic() - due, operation, ok, status))
