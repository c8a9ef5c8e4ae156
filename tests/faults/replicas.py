"""Several replicas of every process behind the local balancer, one of each killed under load:
the platform (`ReplicaPlatform`) and the scenario (`rehearse`) shared by the fault test
(tests/faults/test_replicas.py, about a minute) and the full rehearsal (bench/rehearsal.py,
three minutes of load, bench/results/faults.json).

The platform is `FaultPlatform` (harness.py) with N processes of each service and of the gateway,
each with its own port and instance id (YOUFU_INSTANCE_ID = <process>-<n>), and one balancer
process (youfu/balancer.py) on the processes' usual ports: clients and the services themselves
reach each process through its balancer, as in Kubernetes through a Service.

The load: clients placing orders (a third voucher-paid, each with its own Idempotency-Key, and
repeating a refused or broken request with the same key until it is answered), a provider desk
per provider accepting and delivering every offer (repeating a broken call after reading the
order again), a recurring rule spawning orders, and the monthly issuance the schedulers of both
vouchers replicas try at start-up. Midway one replica of each process is SIGKILLed; it is started
again later. A provider is suspended through one providers replica while the load runs; the other
replica's candidate index must stop offering it within 5 s. At the end the month-end of last month
is asked of both vouchers replicas at the same instant.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import httpx

from shared.city import CITY_TZ
from tests.faults.harness import (
    NAMES,
    ROOT,
    FaultPlatform,
    add_caregivers,
    add_service_item,
    fetch,
    ledger_check,
    login,
    new_provider,
    ok,
    reconcile,
)
from youfu.broker import free_port, stop_process

SERVICES = ("assessment", "providers", "orders", "vouchers")
CODE = "ft_replica"
SUSPEND_BOUND_S = 5.0
OUTBOX_BOUND_S = 60.0
RETRYABLE = (502, 503, 504)


class ReplicaPlatform(FaultPlatform):
    """FaultPlatform with `replicas` processes of each name behind one balancer process."""

    def __init__(self, databases, tmp, label: str, replicas: int = 2, extra_env: dict[str, str] | None = None) -> None:
        # ten processes on one PostgreSQL shared with the rest of the suite: smaller pools
        super().__init__(databases, tmp, label, {"YOUFU_DB_POOL_SIZE": "8", **(extra_env or {})})
        self.replicas = replicas
        self.replica_ports = {n: [free_port() for _ in range(replicas)] for n in NAMES}
        self.balancer: subprocess.Popen | None = None

    def base_env(self) -> dict[str, str]:
        env = super().base_env()
        return env | {f"YOUFU_{n.upper()}_URL": f"http://127.0.0.1:{self.ports[n]}" for n in NAMES}

    def start(self) -> ReplicaPlatform:
        self._start_balancer()
        return super().start()

    def _start_balancer(self) -> None:
        pools = [f"{n}={self.ports[n]}=" + ",".join(f"http://127.0.0.1:{p}" for p in self.replica_ports[n]) for n in NAMES]
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / "balancer.log", "ab")
        self.balancer = subprocess.Popen([sys.executable, "-m", "youfu.balancer", *pools], cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start_process(self, name: str, *, wait: bool = True, extra_env: dict[str, str] | None = None) -> None:
        """`name` is a process ("orders": every replica) or one replica ("orders-2")."""
        if "-" in name:
            process, i = name.rsplit("-", 1)
            replicas = [int(i) - 1]
        else:
            process, replicas = name, range(self.replicas)
        for i in replicas:
            rname = f"{process}-{i + 1}"
            self.spawn(rname, process, {f"YOUFU_{process.upper()}_PORT": str(self.replica_ports[process][i]),
                                        "YOUFU_INSTANCE_ID": rname} | (extra_env or {}))
        if wait:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout_s: float = 90) -> None:
        if "-" in name:
            return self.wait_url(self.replica_url(name), name, timeout_s)
        for i in range(self.replicas):
            rname = f"{name}-{i + 1}"
            self.wait_url(self.replica_url(rname), rname, timeout_s)
        return None

    def replica_url(self, rname: str) -> str:
        process, i = rname.rsplit("-", 1)
        return f"http://127.0.0.1:{self.replica_ports[process][int(i) - 1]}"

    def close(self) -> None:
        if self.balancer is not None:
            stop_process(self.balancer)
        super().close()

    def balancer_stats(self) -> dict[str, dict]:
        out = {}
        for n in NAMES:
            with httpx.Client(timeout=10) as c:
                out[n] = c.get(f"{self.service_url(n)}/_balancer").json()
        return out


# ---- the load ---------------------------------------------------------------------------------

class Load:
    """Clients placing orders and provider desks delivering them; every answer counted."""

    def __init__(self, p: ReplicaPlatform, elder_id: str, family: dict, desks: dict[str, dict]) -> None:
        self.p, self.elder_id, self.family, self.desks = p, elder_id, family, desks
        self.answers: Counter = Counter()  # "place 201", "accept 502" …
        self.retried: Counter = Counter()  # requests repeated after a 5xx or a broken connection
        self.unanswered: list[str] = []  # gave up after the retries
        self.unexpected: list[str] = []
        self.keys: dict[str, str] = {}  # Idempotency-Key → order id
        self.delivered: set[str] = set()
        self.stop = asyncio.Event()
        self.stop_placing = asyncio.Event()

    async def _send(self, c: httpx.AsyncClient, what: str, method: str, path: str, headers: dict, **kw):
        """One request; 5xx and broken connections are repeated (same headers: same key) up to 8 times."""
        for attempt in range(9):
            try:
                r = await c.request(method, path, headers=headers, **kw)
                self.answers[f"{what} {r.status_code}"] += 1
                if r.status_code not in RETRYABLE:
                    return r
            except httpx.TransportError as exc:
                self.answers[f"{what} {type(exc).__name__}"] += 1
            if attempt == 8:
                break
            self.retried[what] += 1
            await asyncio.sleep(0.5)
        self.unanswered.append(f"{what} {path}")
        return None

    async def placer(self, every_s: float) -> None:
        async with httpx.AsyncClient(base_url=self.p.url, timeout=30) as c:
            i = 0
            running: set[asyncio.Task] = set()
            while not self.stop_placing.is_set():
                i += 1
                t = asyncio.create_task(self._place(c, "community" if i % 3 == 0 else "self_pay"))
                running.add(t)
                t.add_done_callback(running.discard)
                await asyncio.sleep(every_s)
            await asyncio.gather(*running, return_exceptions=True)

    async def _place(self, c: httpx.AsyncClient, payment: str) -> None:
        key = str(uuid.uuid4())
        start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(hours=2)
        body = {"elder_id": self.elder_id, "service_code": CODE, "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=1)).isoformat(), "payment": payment, "notes": f"副本演练 {key}"}
        r = await self._send(c, "place", "POST", "/api/orders/orders", {**self.family, "Idempotency-Key": key}, json=body)
        if r is None:
            return
        if r.status_code == 201:
            self.keys[key] = r.json()["order_id"]
        elif r.status_code in (409, 422) and payment == "community":
            self.answers["place community: wallet spent"] += 1  # the demo elder's month runs out: expected
        else:
            self.unexpected.append(f"place {r.status_code} {r.text[:200]}")

    async def desk(self, provider_id: str) -> None:
        headers = self.desks[provider_id]
        busy: set[str] = set()
        running: set[asyncio.Task] = set()
        async with httpx.AsyncClient(base_url=self.p.url, timeout=30) as c:
            while not self.stop.is_set():
                r = await self._send(c, "offers", "GET", "/api/orders/offers", headers)
                for offer in (r.json() if r is not None and r.status_code == 200 else []):
                    if offer["order_id"] not in busy:
                        busy.add(offer["order_id"])
                        t = asyncio.create_task(self._deliver(c, headers, offer))
                        running.add(t)
                        t.add_done_callback(running.discard)
                await asyncio.sleep(0.2)
            await asyncio.gather(*running, return_exceptions=True)

    async def _deliver(self, c: httpx.AsyncClient, headers: dict, offer: dict) -> None:
        """accept → check in → check out. A step whose answer was lost is judged by the order's state."""
        oid = offer["order_id"]
        lat, lon = offer["order"]["lat"], offer["order"]["lon"]
        steps = (("accept", "accepted", f"/api/orders/orders/{oid}/accept", {}),
                 ("check-in", "in_service", f"/api/orders/orders/{oid}/check-in", {"lat": lat + 0.0001, "lon": lon}),
                 ("check-out", "completed", f"/api/orders/orders/{oid}/check-out",
                  {"record": "副本演练：服务完成", "duration_min": 30, "unconfirmed_reason": "副本演练：老人没有手机"}))
        for what, reached, path, body in steps:
            r = await self._send(c, what, "POST", path, headers, json=body)
            if r is not None and r.status_code == 200:
                continue
            state = await self._state(c, headers, oid)
            done = {"accepted": {"accepted", "in_service", "completed", "settled"},
                    "in_service": {"in_service", "completed", "settled"}, "completed": {"completed", "settled"}}[reached]
            if state in done and r is not None and r.status_code == 409:
                self.answers[f"{what} 409 after a lost answer"] += 1  # the first try had gone through
                continue
            if what == "accept" and r is not None and r.status_code in (404, 409):
                return  # the offer went to someone else (deadline passed, suspended): not ours
            self.unexpected.append(f"{what} {oid}: {None if r is None else r.status_code} state {state}")
            return
        self.delivered.add(oid)

    async def _state(self, c: httpx.AsyncClient, headers: dict, oid: str) -> str | None:
        r = await self._send(c, "read", "GET", f"/api/orders/orders/{oid}", headers)
        return r.json().get("state") if r is not None and r.status_code == 200 else None


# ---- the rehearsal ----------------------------------------------------------------------------

async def rehearse(p: ReplicaPlatform, *, load_s: float, kill_at_s: float, down_s: float,
                   place_every_s: float = 0.25) -> dict:
    """Runs the load for `load_s`, kills one replica of each process at `kill_at_s` and restarts it
    `down_s` later, then waits for everything to settle and checks it. Returns the figures;
    raises AssertionError naming the first rule broken."""
    world = p.world
    add_service_item(p, CODE, price_fen=100)
    second = new_provider(p, 3, [CODE])
    add_caregivers(p, max(6, int(load_s / place_every_s / 40) + 2), [CODE])  # 50 orders a day each
    add_caregivers(p, 3, [CODE], provider_id=second["provider_id"], headers=second["headers"],
                   location=tuple(p.world["provider_location"]))
    family, officer = login(p, "family"), login(p, "officer")
    desks = {world["provider_id"]: login(p, "provider_admin"), second["provider_id"]: second["headers"]}
    load = Load(p, world["elder_id"], family, desks)
    # a recurring rule: both orders replicas' spawners see its occurrences of today and tomorrow
    today = datetime.now(CITY_TZ).date()
    at = (datetime.now(CITY_TZ) + timedelta(hours=3)).strftime("%H:%M")
    with httpx.Client(base_url=p.url, timeout=30) as c:
        rule = ok(c.post("/api/orders/recurring-orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())},
                         json={"elder_id": world["elder_id"], "service_code": CODE, "weekdays": [1, 2, 3, 4, 5, 6, 7],
                               "time": at, "start_date": str(today), "weeks": 1, "duration_min": 60,
                               "payment": "self_pay"}))
    tasks = [asyncio.create_task(load.placer(place_every_s))] + [asyncio.create_task(load.desk(pid)) for pid in desks]
    timeline: dict[str, float] = {}
    t0 = time.monotonic()
    killed: dict[str, int] = {}
    suspended_at = None
    try:
        # a provider suspended through providers-1 while the load runs
        await asyncio.sleep(min(kill_at_s / 2, 15))
        async with httpx.AsyncClient(base_url=p.replica_url("providers-1"), timeout=30) as c:
            r = await c.post(f"/providers/{second['provider_id']}/suspend", headers=officer,
                             json={"reason": "副本演练：暂停接单"})
            assert r.status_code == 200, r.text
        suspended_at = datetime.now(CITY_TZ)
        timeline["suspended_s"] = time.monotonic() - t0
        await asyncio.sleep(max(0.0, kill_at_s - (time.monotonic() - t0)))
        before_kill = p.balancer_stats()
        for name in NAMES:
            proc = p.procs[f"{name}-1"]
            proc.send_signal(signal.SIGKILL)
            killed[name] = proc.wait(10)
        timeline["killed_s"] = time.monotonic() - t0
        await asyncio.sleep(down_s)
        # one after another, each when the last is ready (as a scheduler restarts pods one by one):
        # five cold starts at once on two cores starve the running replicas for seconds. The load
        # stops at load_s whether or not they are all back.
        restart_took_s: dict[str, float] = {}

        async def restart() -> None:
            for name in NAMES:
                started = time.monotonic()
                await asyncio.to_thread(p.start_process, f"{name}-1")
                restart_took_s[name] = round(time.monotonic() - started, 1)
            timeline["restarted_s"] = time.monotonic() - t0

        restarting = asyncio.create_task(restart())
        await asyncio.sleep(max(0.0, load_s - (time.monotonic() - t0)))
        load.stop_placing.set()
        await tasks[0]
        load_stopped = time.monotonic()
        timeline["load_stopped_s"] = load_stopped - t0
        await restarting
        # every outbox empty within OUTBOX_BOUND_S of the load stopping
        outbox_s = None
        while time.monotonic() - load_stopped < OUTBOX_BOUND_S + 5:
            pending = {s: (await fetch(p.dsn(s), "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL"))[0]["n"]
                       for s in SERVICES}
            if not any(pending.values()):
                outbox_s = round(time.monotonic() - load_stopped, 1)
                break
            await asyncio.sleep(0.5)
        # everything placed delivered and settled
        placed = set(load.keys.values())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            states = {r["state"]: r["n"] for r in await fetch(p.dsn("orders"), "SELECT state, count(*) AS n FROM orders "
                                                                                 "WHERE notes LIKE '副本演练%' GROUP BY state")}
            # settled, or (no caregiver left today, the deadline passed) unmatched: nothing more happens to them
            if set(states) <= {"settled", "unmatched"} and sum(states.values()) >= len(placed):
                break
            await asyncio.sleep(1)
        settled_s = round(time.monotonic() - load_stopped, 1)
    finally:
        load.stop_placing.set()
        load.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    figures: dict = {}
    try:
        return await _check(p, load, figures, world=world, second=second, rule=rule, today=today,
                            suspended_at=suspended_at, killed=killed, timeline=timeline, before_kill=before_kill,
                            restart_took_s=restart_took_s, outbox_s=outbox_s, settled_s=settled_s, load_s=load_s,
                            kill_at_s=kill_at_s, down_s=down_s)
    except AssertionError:
        print("[replicas] figures so far:", json.dumps(figures, ensure_ascii=False, default=str))
        raise


async def _check(p: ReplicaPlatform, load: Load, figures: dict, *, world, second, rule, today, suspended_at, killed,
                 timeline, before_kill, restart_took_s, outbox_s, settled_s, load_s, kill_at_s, down_s) -> dict:
    """The rules, in the order of the issue; `figures` fills as they are checked."""
    figures |= {"replicas": p.replicas, "load_s": load_s, "kill_at_s": kill_at_s, "down_s": down_s,
                     "timeline_s": {k: round(v, 1) for k, v in timeline.items()}, "killed_exit_codes": killed,
                     "restart_to_ready_s": restart_took_s}
    assert all(code == -9 for code in killed.values()), killed
    orders = await fetch(p.dsn("orders"), "SELECT id::text AS id, state, notes, payment, recurring_rule_id::text AS rule "
                                          "FROM orders")
    ours = [o for o in orders if (o["notes"] or "").startswith("副本演练 ")]
    by_key = Counter(o["notes"].split(" ", 1)[1] for o in ours)
    twice = {k: n for k, n in by_key.items() if n > 1}
    server_errors = {k: n for k, n in load.answers.items() if k.split()[-1].isdigit() and int(k.split()[-1]) >= 500}
    transport = {k: n for k, n in load.answers.items() if k.split()[-1].endswith(("Error", "Timeout"))}
    balancers = p.balancer_stats()
    in_flight = {n: sum(r["failed_in_flight"] for r in balancers[n]["replicas"].values()) for n in NAMES}
    figures |= {
        "requests": sum(load.answers.values()), "answers": dict(sorted(load.answers.items())),
        "server_errors_seen_by_clients": server_errors, "transport_errors_seen_by_clients": transport,
        "retried_by_clients": dict(load.retried), "unanswered_after_retries": load.unanswered,
        "unexpected_answers": load.unexpected[:20],
        "balancer": {n: {"answered_502": balancers[n]["answered_502"], "failed_in_flight": in_flight[n],
                         "refused_connections": sum(r["refused"] for r in balancers[n]["replicas"].values()),
                         "safe_requests_resent": sum(r["retried_elsewhere"] for r in balancers[n]["replicas"].values()),
                         "requests_by_replica": {u.rsplit(":", 1)[1]: r["requests"]
                                                 for u, r in balancers[n]["replicas"].items()}}
                     for n in NAMES},
        "answers_before_kill_by_balancer": {n: before_kill[n]["answered_502"] for n in NAMES},
        "orders_placed": len(load.keys), "orders_by_idempotency_key_more_than_once": len(twice),
    }
    # no 5xx except in-flight requests on a killed replica, each repeated with its key and answered once
    assert load.unanswered == [], load.unanswered
    assert load.unexpected == [], load.unexpected[:10]
    assert twice == {}, twice
    assert set(load.keys.values()) <= {o["id"] for o in ours}
    # each order offered once per rank
    doubled = await fetch(p.dsn("orders"), "SELECT order_id, rank, count(*) AS n FROM offers GROUP BY 1, 2 HAVING count(*) > 1")
    offers = (await fetch(p.dsn("orders"), "SELECT count(*) AS n FROM offers"))[0]["n"]
    figures |= {"offers": offers, "offers_doubled_at_a_rank": len(doubled)}
    assert doubled == [], doubled[:5]
    # the suspended provider: no offer more than SUSPEND_BOUND_S after its suspension
    late = await fetch(p.dsn("orders"), "SELECT order_id::text AS id, offered_at FROM offers WHERE provider_id = $1 "
                                        "AND offered_at > $2", uuid.UUID(second["provider_id"]),
                       suspended_at + timedelta(seconds=SUSPEND_BOUND_S))
    last = await fetch(p.dsn("orders"), "SELECT max(offered_at) AS t, count(*) AS n FROM offers WHERE provider_id = $1",
                       uuid.UUID(second["provider_id"]))
    figures["suspended_provider"] = {
        "offers_total": last[0]["n"], "offers_later_than_bound": len(late), "bound_s": SUSPEND_BOUND_S,
        "last_offer_after_suspension_s": None if last[0]["t"] is None
        else round((last[0]["t"] - suspended_at).total_seconds(), 2)}
    assert late == [], late[:5]
    # recurring spawns: one order per occurrence
    occurrences = await fetch(p.dsn("orders"), "SELECT occurs_at, count(*) AS n, count(DISTINCT order_id) AS orders "
                                               "FROM recurring_occurrences WHERE rule_id = $1 GROUP BY 1",
                              uuid.UUID(rule["rule_id"]))
    spawned = [o for o in orders if o["rule"] == rule["rule_id"]]
    figures["recurring"] = {"occurrences": len(occurrences), "orders_spawned": len(spawned),
                            "occurrences_recorded_twice": sum(1 for o in occurrences if o["n"] > 1)}
    assert occurrences and all(o["n"] == 1 and o["orders"] == 1 for o in occurrences), occurrences
    assert len(spawned) == len(occurrences)
    # the monthly issuance: one scheduled run this month however many schedulers, one voucher per elder and kind
    month = today.strftime("%Y-%m")
    runs = await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM issuance_runs WHERE trigger = 'scheduled' AND month = $1",
                       month)
    vouchers_twice = await fetch(p.dsn("vouchers"), "SELECT elder_id, kind, count(*) AS n FROM vouchers WHERE month = $1 "
                                                    "GROUP BY 1, 2 HAVING count(*) > 1", month)
    figures["issuance"] = {"scheduled_runs_this_month": runs[0]["n"], "vouchers_issued_twice": len(vouchers_twice)}
    assert runs[0]["n"] == 1 and vouchers_twice == []
    # month-end of last month asked of both vouchers replicas at once: balances expire once
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    async with httpx.AsyncClient(timeout=60) as c:
        answers = await asyncio.gather(*(c.post(p.replica_url(f"vouchers-{i + 1}") + "/month-end-runs",
                                                headers={**login(p, "city_officer"), "Idempotency-Key": str(uuid.uuid4())},
                                                json={"month": last_month}) for i in range(p.replicas)))
    expired = await fetch(p.dsn("vouchers"), "SELECT coalesce(sum(expired_count), 0) AS n, count(*) AS runs "
                                             "FROM month_end_runs WHERE month = $1", last_month)
    expiries = await fetch(p.dsn("vouchers"), "SELECT count(*) AS n, count(DISTINCT debit_account) AS accounts "
                                              "FROM ledger_transfers WHERE kind = 'expire'")
    figures["month_end"] = {"answers": sorted(r.status_code for r in answers), "runs_recorded": expired[0]["runs"],
                            "vouchers_expired": expired[0]["n"], "expiry_transfers": expiries[0]["n"]}
    assert all(r.status_code in (201, 409) for r in answers), [r.text[:200] for r in answers]
    assert expiries[0]["n"] == expiries[0]["accounts"], expiries
    # every completed order settled exactly once, the ledger balances, every outbox emptied in time
    figures["reconciliation"] = await reconcile(p)
    figures["ledger_transfers_checked"] = (await ledger_check(p))["transfers_checked"]
    figures |= {"outbox_empty_after_load_stop_s": outbox_s, "outbox_bound_s": OUTBOX_BOUND_S,
                "all_settled_after_load_stop_s": settled_s}
    assert outbox_s is not None and outbox_s <= OUTBOX_BOUND_S, outbox_s
    return figures


def short(figures: dict) -> str:
    keep = ("orders_placed", "server_errors_seen_by_clients", "retried_by_clients", "offers_doubled_at_a_rank",
            "suspended_provider", "outbox_empty_after_load_stop_s", "restart_to_ready_s")
    return json.dumps({k: figures.get(k) for k in keep}, ensure_ascii=False)
