"""A platform of its own for fault tests: its own Tansu broker, fresh PostgreSQL databases, and the
five processes started one by one (`python -m youfu serve <process>`, with the environment
`youfu up` gives them), so that one process can be SIGKILLed and restarted, or the broker stopped
and started empty, without touching the session's platform. `youfu up` is not used: it stops
everything when a child dies.

Also here: signing in, waiting for effects, the demo world's helpers (more caregivers, a cheap
service item, new elders), a provider robot that accepts and delivers every offer, the ledger
check, the reconciliation of orders against vouchers, and bench/results/faults.json.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx

from shared.city import CITY_TZ
from tests.support.clients import login, login_as  # noqa: F401 - the fault tests import them from here
from tests.support.factories import credit_code, id_card
from youfu.broker import free_port, port_open, start_broker, stop_process
from youfu.keys import ensure_dev_keys, mint_service_token
from youfu.launcher import LaunchError, wait_ready

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("gateway", "assessment", "providers", "orders", "vouchers")
RESULTS = ROOT / "bench" / "results" / "faults.json"


class FaultPlatform:
    """Broker + five processes on fresh databases, each process killable and restartable."""

    def __init__(self, databases, tmp: Path, label: str, extra_env: dict[str, str] | None = None) -> None:
        self.label = label
        self.var_dir = tmp / "var"
        self.logs = self.var_dir / "logs"
        self.databases = databases
        self.ports = {n: free_port() for n in NAMES}
        self.broker_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.broker_port}"
        self.broker: subprocess.Popen | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.db_urls: dict[str, str] = {}
        self.extra_env = extra_env or {}
        self.url = f"http://127.0.0.1:{self.ports['gateway']}"

    # ---- life cycle --------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_") or k.startswith("YOUFU_TEST")}
        env |= {f"YOUFU_{n.upper()}_PORT": str(p) for n, p in self.ports.items()}
        env |= {f"YOUFU_{n.upper()}_DATABASE_URL": u for n, u in self.db_urls.items()}
        env |= {"YOUFU_VAR_DIR": str(self.var_dir), "YOUFU_KAFKA_BOOTSTRAP": self.bootstrap,
                "YOUFU_OUTBOX_POLL_S": "0.2",
                # every client here is 127.0.0.1 and one principal places hundreds of orders
                "YOUFU_LOGIN_FAILURES_PER_ADDRESS": "1000000", "YOUFU_WRITES_PER_MINUTE": "1000000",
                # the monthly visit planner would add orders of its own to the demo elder: the
                # tests count orders exactly, so only theirs exist
                "YOUFU_ORDERS_AUTO_PLAN_VISITS": "false",
                # a hold whose order was never written is released after this long (10 min in
                # production); well above any placing's hold → commit gap, even under load here
                "YOUFU_VOUCHERS_ORPHAN_HOLD_AFTER_S": "10", "YOUFU_VOUCHERS_ORPHAN_SWEEP_S": "1",
                # 10 connections a service, not production's 20: under `make test` (pytest-xdist) a
                # fault platform runs beside the session platform and an integration module, and
                # the bursts here filled every pool (70 connections for this platform alone); the
                # races still meet 10 transactions at once in the database (D63)
                "YOUFU_DB_POOL_SIZE": "10"}
        return env | self.extra_env

    def start(self) -> FaultPlatform:
        self.logs.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.start_broker()
        # copies of databases migrated once per session (tests/conftest.py Databases.migrated_url)
        self.db_urls = {n: self.databases.migrated_url(n, f"f{self.label}_{n}") for n in NAMES}
        ensure_dev_keys(self.var_dir)
        for name in NAMES:
            self.start_process(name, wait=False)
        for name in NAMES:
            self.wait_ready(name)
        subprocess.run([sys.executable, "-c", "from shared.settings import Settings; from youfu.seed import seed_demo;"
                        " seed_demo(Settings())"], cwd=ROOT, env=self.base_env(), check=True)
        self.startup_s = round(time.monotonic() - started, 1)
        return self

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            stop_process(proc, timeout_s=15)
        self.stop_broker()

    def start_broker(self) -> float:
        """Start the broker (empty, with a fresh cluster id) on the platform's port; returns when it listens."""
        self.broker, _ = start_broker(self.broker_port, log_path=self.logs / "broker.log")
        return time.monotonic()

    def stop_broker(self) -> None:
        if self.broker is not None:
            stop_process(self.broker)
            self.broker = None

    def start_process(self, name: str, *, wait: bool = True, extra_env: dict[str, str] | None = None) -> None:
        self.spawn(name, name, extra_env or {})
        if wait:
            self.wait_ready(name)

    def spawn(self, label: str, process: str, env: dict[str, str]) -> None:
        """`youfu serve <process>` as `label` (its log file and key in `procs`), with the service
        token and `env` over the platform's environment."""
        private = (self.var_dir / "keys" / "jwt_private.pem").read_text()
        env = self.base_env() | {"YOUFU_SERVICE_TOKEN": mint_service_token(private, process)} | env
        log = open(self.logs / f"{label}.log", "ab")
        self.procs[label] = subprocess.Popen([sys.executable, "-m", "youfu", "serve", process], cwd=ROOT, env=env,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def kill(self, name: str) -> int:
        """SIGKILL one process; returns its exit code."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        return proc.wait(10)

    def wait_ready(self, name: str, timeout_s: float = 90) -> None:
        self.wait_url(self.service_url(name), name, timeout_s)

    def wait_url(self, url: str, label: str, timeout_s: float) -> None:
        """The launcher's readiness wait (`youfu up` uses it too), with the process's log tail."""
        try:
            wait_ready(url, self.procs[label], timeout_s)
        except LaunchError as exc:
            raise RuntimeError(f"{label}: {exc}\n" + "\n".join(self.log_tail(label))) from None

    @property
    def broker_running(self) -> bool:
        return self.broker is not None and self.broker.poll() is None and port_open("127.0.0.1", self.broker_port)

    # ---- facts -------------------------------------------------------------------------------

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def dsn(self, name: str) -> str:
        return self.db_urls[name].replace("postgresql+asyncpg://", "postgresql://")

    @property
    def world(self) -> dict:
        return json.loads((self.var_dir / "demo-world.json").read_text())

    def account(self, role: str) -> dict:
        accounts = json.loads((self.var_dir / "demo-accounts.json").read_text())
        return next(a for a in accounts if a["role"] == role)

    def log_tail(self, name: str, n: int = 30) -> list[str]:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace").splitlines()[-n:] if path.exists() else []

    def private_key(self) -> str:
        return (self.var_dir / "keys" / "jwt_private.pem").read_text()


# ---- HTTP helpers ----------------------------------------------------------------------------

def ok(r: httpx.Response) -> dict:
    assert r.status_code < 400, f"{r.request.method} {r.request.url.path} → {r.status_code} {r.text[:400]}"
    return r.json() if r.content else {}


async def eventually(fetch, done, *, timeout_s: float = 60, every_s: float = 0.2, what: str = ""):
    """Poll `fetch` (sync or async) until `done(value)`; returns the value."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if asyncio.iscoroutine(last):
            last = await last
        if done(last):
            return last
        await asyncio.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}: last={str(last)[:500]}")


def window(hours_ahead: float = 1.0) -> tuple[str, str]:
    start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(hours=hours_ahead)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


def order_body(elder_id: str, service_code: str, payment: str) -> dict:
    start, end = window()
    return {"elder_id": elder_id, "service_code": service_code, "window_start": start, "window_end": end,
            "payment": payment, "notes": "故障测试"}


# ---- the world: a cheap item, more caregivers, new elders --------------------------------------

def add_service_item(p: FaultPlatform, code: str, *, price_fen: int, mode: str = "sequential", grab_size: int = 1,
                     provider_ids: list[str] | None = None, provider_headers: list[dict] | None = None) -> None:
    """A standard item (admin), offered by the given providers at the guide price."""
    admin = login(p, "admin")
    with httpx.Client(base_url=p.url, timeout=30) as c:
        ok(c.put(f"/api/providers/service-items/{code}", headers=admin, json={
            "name": f"故障测试{code[-4:]}", "category": "daily_living", "unit": "per_visit", "guide_price_fen": price_fen,
            "min_duration_min": 0, "voucher_kinds": ["community", "mutual_aid"], "dispatch_mode": mode,
            "grab_size": grab_size}))
        for pid, headers in zip(provider_ids or [p.world["provider_id"]],
                                provider_headers or [login(p, "provider_admin")]):
            ok(c.post(f"/api/providers/providers/{pid}/catalogue", headers=headers,
                      json={"service_code": code, "price_fen": price_fen}))


def add_caregivers(p: FaultPlatform, n: int, skills: list[str], *, provider_id: str | None = None,
                   headers: dict | None = None, location: tuple[float, float] | None = None) -> list[str]:
    """`n` caregivers with the largest daily limit, so that a few hundred orders find someone."""
    world = p.world
    pid = provider_id or world["provider_id"]
    headers = headers or login(p, "provider_admin")
    lat, lon = location or world["provider_location"]
    out = []
    with httpx.Client(base_url=p.url, timeout=30) as c:
        for i in range(n):
            out.append(ok(c.post(f"/api/providers/providers/{pid}/caregivers", headers=headers, json={
                "name": f"护理员{i:02d}", "gender": "female", "skills": skills, "certificate_level": "level_4",
                "base_lat": lat, "base_lon": lon, "service_radius_m": 8000, "daily_limit": 50}))["id"])
    return out


def new_elder(p: FaultPlatform, name: str, *, economic_status: str = "dibao") -> str:
    """A new elder in the demo district, assessed by the two demo assessors (vouchers follow from the
    assessment event); returns the elder id."""
    from services.assessment.instruments import get_instrument

    officer = login(p, "officer")
    accounts = json.loads((p.var_dir / "demo-accounts.json").read_text())
    assessors = [login_as(p, a["phone"], a["password"]) for a in accounts if a["role"] == "assessor"]
    world_elder_loc = (32.494, 119.923)
    digits = f"{random.randrange(500) * 2:03d}"  # the 17th digit is even for a woman
    with httpx.Client(base_url=p.url, timeout=30) as c:
        elder = ok(c.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, json={
            "name": name, "gender": "female", "birth_date": "1944-03-02",
            "id_card": id_card(f"32120219440302{digits}"), "address": "泰州市海陵区城中街道鼓楼南路 20 号",
            "lat": world_elder_loc[0], "lon": world_elder_loc[1], "district_code": "321202", "street": "城中街道",
            "living_situation": "alone", "economic_status": economic_status}))
        items = {i.code: sorted(i.allowed_scores)[len(i.allowed_scores) // 2] for i in get_instrument().items}
        draft = ok(c.post(f"/api/assessment/elders/{elder['id']}/assessments", headers=assessors[0],
                          json={"items": items, "note": "故障测试评估"}))
        ok(c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
        ok(c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))
    return elder["id"]


async def wallet_available(c: httpx.AsyncClient, headers: dict, elder_id: str, kind: str = "community") -> int | None:
    r = await c.get(f"/api/vouchers/wallets/{elder_id}", headers=headers)
    if r.status_code != 200:
        return None
    v = next((v for v in r.json().get("vouchers", []) if v["kind"] == kind), None)
    return None if v is None else v["available_fen"]


# ---- a provider that accepts and delivers every offer ------------------------------------------

@dataclass
class ProviderRobot:
    """Polls the provider's offers; accepts each, checks in at the door and out. Counts statuses."""

    url: str
    headers: dict
    statuses: Counter = field(default_factory=Counter)
    delivered: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    hold_back: set[str] = field(default_factory=set)  # accept, but don't deliver these yet
    abandoned: set[str] = field(default_factory=set)  # held back, then given up (e.g. cancelled)
    phase: str = ""  # prefixes the status counts, so a test can tell the phases of a fault apart
    _stop: bool = False

    async def run(self, concurrency: int = 4) -> None:
        busy: set[str] = set()
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as c:
            tasks: set[asyncio.Task] = set()
            while not self._stop:
                try:
                    r = await c.get("/api/orders/offers", headers=self.headers)
                    self.statuses[f"{self.phase}offers {r.status_code}"] += 1
                    offers = r.json() if r.status_code == 200 else []
                except httpx.HTTPError as exc:
                    self.statuses[f"{self.phase}offers {type(exc).__name__}"] += 1
                    offers = []
                for offer in offers:
                    oid = offer["order_id"]
                    if oid in busy:
                        continue
                    busy.add(oid)
                    t = asyncio.create_task(self._deliver(c, gate, offer))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
                await asyncio.sleep(0.15)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stop = True

    async def _call(self, c: httpx.AsyncClient, what: str, method: str, path: str, **kw) -> httpx.Response | None:
        try:
            r = await c.request(method, path, headers=self.headers, **kw)
        except httpx.HTTPError as exc:
            self.statuses[f"{self.phase}{what} {type(exc).__name__}"] += 1
            self.failures.append(f"{what} {path}: {exc!r}")
            return None
        self.statuses[f"{self.phase}{what} {r.status_code}"] += 1
        if r.status_code >= 400:
            self.failures.append(f"{what} {path}: {r.status_code} {r.text[:200]}")
        return r

    async def _deliver(self, c: httpx.AsyncClient, gate: asyncio.Semaphore, offer: dict) -> None:
        oid = offer["order_id"]
        lat, lon = offer["order"]["lat"], offer["order"]["lon"]
        async with gate:
            r = await self._call(c, "accept", "POST", f"/api/orders/orders/{oid}/accept", json={})
            if r is None or r.status_code != 200:
                return
            while oid in self.hold_back and not self._stop:
                await asyncio.sleep(0.1)
            if oid in self.abandoned or self._stop:
                return
            r = await self._call(c, "check-in", "POST", f"/api/orders/orders/{oid}/check-in",
                                 json={"lat": lat + 0.0001, "lon": lon})
            if r is None or r.status_code != 200:
                return
            r = await self._call(c, "check-out", "POST", f"/api/orders/orders/{oid}/check-out",
                                 json={"record": "故障测试：服务完成", "duration_min": 30,
                                       "unconfirmed_reason": "故障测试：老人没有手机"})
            if r is not None and r.status_code == 200:
                self.delivered.append(oid)


# ---- checks ----------------------------------------------------------------------------------

async def ledger_check(p: FaultPlatform) -> dict:
    async with httpx.AsyncClient(base_url=p.url, timeout=60) as c:
        r = await c.get("/api/vouchers/ledger/check", headers=login(p, "city_officer"))
    check = ok(r)
    assert check["ok"] is True and check["violations"] == [], check
    return check


async def fetch(dsn: str, sql: str, *args) -> list[dict]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def reconcile(p: FaultPlatform) -> dict:
    """Orders against vouchers, row by row; returns figures, raises on the first kind of mismatch.

    - every hold belongs to an order that exists, with that hold id and the same voucher amount
      (a hold without an order is money held for nothing), unless the orphan-hold sweep released
      it (exactly one hold transfer and its void);
    - every voucher-paid order has its hold; a settled one exactly one capture (journal and
      redemption) of its voucher amount, equal to the order's captured amount; a cancelled one a
      released hold and no capture; an open one a hold still held;
    - no hold is resolved twice (one capture or one void per hold, never both);
    - nothing is left completed-but-unsettled (every completion was settled) and no transfer
      names an order that does not exist.
    """
    orders = {str(r["id"]): r for r in await fetch(p.dsn("orders"), """
        SELECT id, state, payment, price_fen, voucher_fen, elder_fen, hold_id, captured_fen FROM orders""")}
    holds = {str(r["order_id"]): r for r in await fetch(p.dsn("vouchers"), """
        SELECT id, order_id, status, voucher_fen, captured_fen FROM holds""")}
    transfers = await fetch(p.dsn("vouchers"), """
        SELECT id, kind, order_id, amount_fen, pending_id FROM ledger_transfers WHERE order_id IS NOT NULL""")
    redemptions = Counter(str(r["order_id"]) for r in await fetch(p.dsn("vouchers"), "SELECT order_id FROM redemptions"))
    by_order: dict[str, Counter] = {}
    amounts: dict[tuple[str, str], int] = {}
    for t in transfers:
        oid = str(t["order_id"])
        by_order.setdefault(oid, Counter())[t["kind"]] += 1
        amounts[(oid, t["kind"])] = amounts.get((oid, t["kind"]), 0) + t["amount_fen"]
    problems: list[str] = []
    orphans_released = 0
    for oid, h in holds.items():
        o = orders.get(oid)
        if o is None:
            # the one allowed case: the order was never written and the orphan-hold sweep gave the
            # money back (services/vouchers/orphans.py): released, its hold voided once, nothing else
            kinds = by_order.get(oid, Counter())
            expected = Counter({"hold": 1, "void": 1}) if h["voucher_fen"] > 0 else Counter()
            if h["status"] == "released" and kinds == expected and not redemptions[oid]:
                orphans_released += 1
                continue
            problems.append(f"hold {h['id']} ({h['status']}, {h['voucher_fen']} fen) has no order {oid}")
            continue
        if str(o["hold_id"]) != str(h["id"]) or o["voucher_fen"] != h["voucher_fen"]:
            problems.append(f"order {oid} names hold {o['hold_id']} / {o['voucher_fen']} fen, vouchers has {h['id']} / "
                            f"{h['voucher_fen']}")
    states = Counter()
    for oid, o in orders.items():
        states[o["state"]] += 1
        kinds = by_order.get(oid, Counter())
        if kinds["capture"] + kinds["void"] > 1:
            problems.append(f"order {oid} resolved more than once: {dict(kinds)}")
        if o["payment"] == "self_pay":
            if oid in holds or kinds:
                problems.append(f"self-paid order {oid} has a hold or transfers")
            continue
        h = holds.get(oid)
        if h is None:
            problems.append(f"voucher-paid order {oid} ({o['state']}) has no hold")
            continue
        if kinds["hold"] != (1 if h["voucher_fen"] > 0 else 0):
            problems.append(f"order {oid}: {kinds['hold']} hold transfers")
        if o["state"] == "settled":
            if h["status"] != "captured" or o["captured_fen"] != o["voucher_fen"] or h["captured_fen"] != o["voucher_fen"]:
                problems.append(f"settled order {oid}: hold {h['status']} captured {h['captured_fen']}, order "
                                f"voucher {o['voucher_fen']} captured {o['captured_fen']}")
            if kinds["capture"] != 1 or amounts.get((oid, "capture")) != o["voucher_fen"] or redemptions[oid] != 1:
                problems.append(f"settled order {oid}: {kinds['capture']} captures of "
                                f"{amounts.get((oid, 'capture'))} fen, {redemptions[oid]} redemptions")
        elif o["state"] == "cancelled":
            if h["status"] != "released" or kinds["capture"] or redemptions[oid]:
                problems.append(f"cancelled order {oid}: hold {h['status']}, {kinds['capture']} captures")
        elif o["state"] == "completed":
            problems.append(f"order {oid} completed but never settled (hold {h['status']})")
        elif h["status"] != "held" or kinds["capture"] or kinds["void"]:
            problems.append(f"open order {oid} ({o['state']}): hold {h['status']}, transfers {dict(kinds)}")
    for oid in by_order:
        if oid not in orders and not (oid in holds and holds[oid]["status"] == "released"
                                      and by_order[oid] == Counter({"hold": 1, "void": 1})):
            problems.append(f"ledger transfers {dict(by_order[oid])} for order {oid} that does not exist")
    assert problems == [], f"{len(problems)} reconciliation problems:\n" + "\n".join(problems[:30])
    return {"orders": len(orders), "orders_by_state": dict(states), "holds": len(holds),
            "captures": sum(c["capture"] for c in by_order.values()), "releases": sum(c["void"] for c in by_order.values()),
            "redemptions": sum(redemptions.values()), "orphan_holds_released": orphans_released}


async def consumed(p: FaultPlatform, name: str) -> dict[str, Counter]:
    """The process's consumer outcomes from /metrics: {event type: Counter(applied, duplicate, …)}."""
    async with httpx.AsyncClient(timeout=10) as c:
        text = (await c.get(p.service_url(name) + "/metrics")).text
    out: dict[str, Counter] = {}
    for line in text.splitlines():
        if line.startswith("#") or "events_consumed" not in line or "_created" in line:
            continue
        labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].replace('"', "").split(","))
        out.setdefault(labels.get("type", "?"), Counter())[labels.get("outcome", "?")] += int(float(line.split()[-1]))
    return out


async def inbox_count(p: FaultPlatform, name: str) -> int:
    return (await fetch(p.dsn(name), "SELECT count(*) AS n FROM inbox"))[0]["n"]


def record_figures(key: str, figures: dict) -> None:
    """Merge this test's figures into bench/results/faults.json and print them."""
    import fcntl

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # fault modules may run at once on several pytest-xdist workers: one read-merge-write at a time
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        data[key] = figures | {"measured_at": datetime.now(CITY_TZ).isoformat(timespec="seconds"),
                               "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"}
        RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    print(f"\n[faults] {key}: {json.dumps(figures, ensure_ascii=False, sort_keys=True)}")


def subscriptions() -> list[tuple[str, str, str, set[str]]]:
    """(consuming service, subscription name, topic, handled event types) of every subscription."""
    import importlib

    out = []
    for service in ("assessment", "providers", "orders", "vouchers"):
        try:
            module = importlib.import_module(f"services.{service}.consumers")
        except ImportError:
            continue
        ctx = SimpleNamespace(runtime=None, settings=None, db=None)  # handlers are never run
        for sub in module.make_subscriptions(ctx):
            for topic in sub.topics:
                out.append((service, sub.name, topic, (set(sub.handlers) | set(sub.fast_handlers))))
    return out


async def delivery_report(p: FaultPlatform) -> dict:
    """Every event in every outbox that some subscription handles must be in that subscription's
    inbox (the inbox row commits with the effect): what was not delivered, and what is still pending."""
    subs = subscriptions()
    outboxes = {s: await fetch(p.dsn(s), "SELECT event_id, topic, type, sent_at FROM outbox")
                for s in ("assessment", "providers", "orders", "vouchers")}
    inboxes = {s: {(r["consumer"], r["event_id"]) for r in await fetch(p.dsn(s), "SELECT consumer, event_id FROM inbox")}
               for s in ("assessment", "providers", "orders", "vouchers")}
    expected = delivered = 0
    missing: list[str] = []
    pending = 0
    for producer, rows in outboxes.items():
        for row in rows:
            pending += row["sent_at"] is None
            for service, name, topic, types in subs:
                if topic == row["topic"] and row["type"] in types:
                    expected += 1
                    if (name, row["event_id"]) in inboxes[service]:
                        delivered += 1
                    else:
                        missing.append(f"{row['type']} {row['event_id']} from {producer} not in {name}")
    return {"events_published": sum(len(r) for r in outboxes.values()), "deliveries_expected": expected,
            "deliveries_done": delivered, "missing": missing, "outbox_pending": pending}


def new_provider(p: FaultPlatform, n: int, skills: list[str]) -> dict:
    """Another approved provider near the demo elder, with an admin account (created by the demo
    admin), the given items in its catalogue at the guide price, a service area and one caregiver.
    Returns {"provider_id", "headers", "caregiver_id"}."""
    officer, admin = login(p, "officer"), login(p, "admin")
    lat, lon = p.world["provider_location"]
    lat, lon = lat + 0.001 * n, lon - 0.001 * n
    with httpx.Client(base_url=p.url, timeout=30) as c:
        prov = ok(c.post("/api/providers/providers", headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, json={
            "kind": "home_care_centre", "legal_name": f"泰州市海陵区故障测试养老服务中心{n:02d}",
            "credit_code": credit_code(f"52321202MJ{random.randrange(10**7):07d}"), "district_code": "321202",
            "street": "城中街道", "address": f"泰州市海陵区城中街道鼓楼路 {n + 10} 号", "lat": lat, "lon": lon,
            "contact_name": "周主任", "contact_phone": "0523-86000000", "star_rating": 3}))
        pid = prov["id"]
        today = datetime.now(CITY_TZ).date()
        for kind, number in (("licence", f"MZ32120299{n:02d}"), ("insurance", f"PICC-2026-99{n:02d}")):
            ok(c.post(f"/api/providers/providers/{pid}/documents", headers=officer, json={
                "kind": kind, "number": number, "issued_on": str(today - timedelta(days=30)),
                "expires_on": str(today + timedelta(days=365))}))
        ok(c.post(f"/api/providers/providers/{pid}/approve", headers=officer, json={"reason": "材料齐全"}))
        phone, password = f"1390000{n:04d}", f"fault-{uuid.uuid4().hex[:10]}"
        ok(c.post("/api/admin/users", headers=admin, json={"phone": phone, "password": password, "role": "provider_admin",
                                                           "display_name": f"服务商管理员{n:02d}", "provider_id": pid}))
        headers = login_as(p, phone, password)
        items = {i["code"]: i for i in ok(c.get("/api/providers/service-items", headers=headers))}
        for code in skills:
            ok(c.post(f"/api/providers/providers/{pid}/catalogue", headers=headers, json={
                "service_code": code, "price_fen": items[code]["guide_price_fen"]}))
        ok(c.put(f"/api/providers/providers/{pid}/service-area", headers=headers,
                 json={"radius_m": 8000, "streets": ["城中街道", "城东街道", "城西街道"]}))
        caregiver = ok(c.post(f"/api/providers/providers/{pid}/caregivers", headers=headers, json={
            "name": f"护理员{n:02d}", "gender": "female", "skills": skills, "certificate_level": "level_4",
            "base_lat": lat, "base_lon": lon, "service_radius_m": 8000, "daily_limit": 50}))
    return {"provider_id": pid, "headers": headers, "caregiver_id": caregiver["id"]}
