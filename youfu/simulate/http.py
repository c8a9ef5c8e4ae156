"""Talking to the gateway like the people it serves: one httpx.AsyncClient, one signed-in session
per person, and a tally of every answer.

Every call names the refusals it expects (a grab another provider won, a spent wallet, a cancel
that came too late): anything else at 4xx, every 5xx and every transport failure is an error and is
kept, with the request, for the report. A 429 (the gateway's per-account write limit) is waited out
for as long as Retry-After says and counted as throttled, as a person would wait and try again.

Signing in and creating an account cost the gateway an argon2 hash each (≈50 ms of one core here,
on purpose): at most `SIGNINS_AT_ONCE` of them are in flight, enough to keep a two-core
gateway busy without a queue of sign-ins that time out behind each other.
"""
from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_KEPT_ERRORS = 50
SIGNINS_AT_ONCE = 2


class SimulationError(RuntimeError):
    """The simulation cannot go on (a world it needs could not be created)."""


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def detail(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body)[:300]
        return str(self.body)[:300]


@dataclass
class Tally:
    by_route: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    expected_refusals: int = 0
    throttled: int = 0
    requests: int = 0
    seconds: list[float] = field(default_factory=list)

    def record(self, route: str, status: int, elapsed: float) -> None:
        self.requests += 1
        self.by_route[route][status] += 1
        if len(self.seconds) < 200_000:
            self.seconds.append(elapsed)

    def error(self, route: str, status: int, detail: str, who: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append({"route": route, "status": status, "who": who, "detail": detail})

    def unexpected(self, route: str, status: int, detail: str, who: str) -> None:
        """An answer first taken as an expected refusal that turned out not to be one."""
        self.expected_refusals -= 1
        self.error(route, status, detail, who)

    def by_class(self) -> dict[str, int]:
        out: Counter = Counter()
        for statuses in self.by_route.values():
            for status, n in statuses.items():
                out["transport" if status == 0 else f"{status // 100}xx"] += n
        return dict(sorted(out.items()))

    def snapshot(self) -> dict:
        return {"requests": self.requests, "errors": self.error_count, "server_errors": self.server_errors(),
                "throttled": self.throttled, "expected_refusals": self.expected_refusals}

    def since(self, before: dict) -> dict:
        return {k: v - before[k] for k, v in self.snapshot().items()}

    def server_errors(self) -> int:
        return sum(n for statuses in self.by_route.values() for s, n in statuses.items() if s >= 500)


def route_of(method: str, path: str) -> str:
    return f"{method} {UUID_RE.sub('{id}', path.split('?')[0])}"


class Gateway:
    def __init__(self, base_url: str, *, connections: int = 64, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(timeout_s, connect=5.0),
                                        limits=httpx.Limits(max_connections=connections,
                                                            max_keepalive_connections=connections))
        self.tally = Tally()
        self.signins = asyncio.Semaphore(SIGNINS_AT_ONCE)  # calls that hash or verify a password

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, session: Session | None, method: str, path: str, *, json: Any = None,
                   params: dict | None = None, expect: tuple[int, ...] = (), key: str | None = None,
                   retries: int = 2) -> Answer:
        """One request as `session`'s person. Returns the answer; an unexpected one is also tallied
        as an error (the caller decides whether the simulation can go on)."""
        route = route_of(method, path)
        who = session.label if session else "anonymous"
        attempt, refreshed = 0, False
        while True:
            headers = await session.headers(self) if session else {}
            if key:
                headers["Idempotency-Key"] = key
            started = time.monotonic()
            try:
                r = await self.client.request(method, path, json=json, params=params, headers=headers)
            except httpx.TransportError as exc:
                self.tally.record(route, 0, time.monotonic() - started)
                attempt += 1
                if attempt <= retries and (method == "GET" or key):  # safe to repeat
                    await asyncio.sleep(0.5 * attempt)
                    continue
                self.tally.error(route, 0, f"{type(exc).__name__}: {exc}"[:300], who)
                return Answer(0, None)
            self.tally.record(route, r.status_code, time.monotonic() - started)
            body = _body(r)
            if r.status_code == 429:
                self.tally.throttled += 1
                wait = _retry_after(r, body)
                await asyncio.sleep(min(wait, 30.0))
                continue
            if r.status_code == 401 and session and not refreshed:
                refreshed = True
                await session.renew(self, stale=headers.get("Authorization", "")[7:])
                continue
            answer = Answer(r.status_code, body)
            if answer.ok:
                return answer
            if r.status_code in expect and r.status_code < 500:
                self.tally.expected_refusals += 1
                return answer
            self.tally.error(route, r.status_code, answer.detail(), who)
            return answer


def _body(r: httpx.Response) -> Any:
    if not r.content:
        return None
    try:
        return r.json()
    except ValueError:
        return r.text[:500]


def _retry_after(r: httpx.Response, body: Any) -> float:
    for value in (r.headers.get("retry-after"), body.get("retry_after") if isinstance(body, dict) else None):
        try:
            return max(0.2, float(value))
        except (TypeError, ValueError):
            continue
    return 2.0


class Session:
    """A signed-in person: access token refreshed (with the refresh token, never the password)
    a minute before it runs out, one refresh at a time (a refresh token is single-use)."""

    def __init__(self, label: str, phone: str, password: str, role: str) -> None:
        self.label, self.phone, self.password, self.role = label, phone, password, role
        self.access = self.refresh = ""
        self.valid_until = 0.0
        self.user_id: str | None = None
        self._lock = asyncio.Lock()

    async def login(self, gw: Gateway) -> Session:
        async with gw.signins:
            answer = await gw.call(None, "POST", "/api/auth/login",
                                   json={"phone": self.phone, "password": self.password})
        if answer.status == 0:
            raise SimulationError(f"cannot reach the gateway at {gw.base_url} (is `make up` running? --gateway URL)")
        if not answer.ok:
            raise SimulationError(f"sign-in of {self.label} ({self.role}) failed: {answer.status} {answer.detail()}")
        self._take(answer.body)
        return self

    async def resume(self, gw: Gateway, refresh_token: str | None) -> bool:
        """Signed in again with a refresh token kept from an earlier run (no password, no argon2);
        False when the token is no longer good (used, revoked, expired, another platform)."""
        if not refresh_token:
            return False
        answer = await gw.call(None, "POST", "/api/auth/refresh", json={"refresh_token": refresh_token},
                               expect=(401, 404, 422))
        if not answer.ok:
            return False
        self._take(answer.body)
        return True

    def _take(self, tokens: dict) -> None:
        self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]
        self.valid_until = time.monotonic() + float(tokens.get("expires_in", 900)) - 60

    async def headers(self, gw: Gateway) -> dict[str, str]:
        if time.monotonic() >= self.valid_until:
            await self.renew(gw)
        return {"Authorization": f"Bearer {self.access}"}

    async def renew(self, gw: Gateway, stale: str | None = None) -> None:
        """New tokens; `stale` is the access token a 401 came back for (renew even if it looks valid)."""
        async with self._lock:
            if stale is None and time.monotonic() < self.valid_until and self.access:
                return  # another task renewed it meanwhile
            if stale is not None and self.access != stale:
                return
            answer = await gw.call(None, "POST", "/api/auth/refresh", json={"refresh_token": self.refresh})
            if answer.ok:
                self._take(answer.body)
            else:  # signed out somewhere: sign in again
                await self.login(gw)


def new_key() -> str:
    return str(uuid.uuid4())
