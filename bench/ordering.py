"""Benchmark: placing orders through the gateway under a rising load, against the same call made
directly to the orders service and against a bare FastAPI "hello" (the machine's ceiling).

    .venv/bin/python bench/ordering.py            # 2, 5, 10, 20, 40, 80 clients; 2 s warm-up + 8 s each
    .venv/bin/python bench/ordering.py --quick    # 2 and 10 clients; 1 s + 4 s each

What runs: the whole platform as `make up` runs it (`python -m youfu up`: gateway and four services,
each its own process, one PostgreSQL database each, a broker started here), and a bare FastAPI app
under uvicorn in its own process. One load generator (this process, on uvloop) runs closed loops
of N concurrent clients, each on its own keep-alive connection, POSTing as fast as answers come
back. The POSTs go through `RawHttp` (bench/live_platform.py), a bare HTTP/1.1 client: httpx
costs ≈ 0.9 ms of CPU per request here, enough to make the generator, not the hello app, the
ceiling on 2 cores (`--client httpx` to see it). Its CPU is measured and printed with every run.

  gateway   POST /api/orders/orders through the gateway (JWT + session check + write limit + proxy)
  direct    the same POST (same token, body, Idempotency-Key) to the orders service's own port
  hello     the same POST body to the bare app: no database, no auth; what this machine and this
            load generator can do at all

Orders are paid "self_pay" (the demo elder's community voucher would run out after ~20 orders;
a self-paid order takes the same path minus the HTTP call to vouchers for the hold), placed by the
demo family account for the demo elder. The gateway's per-user write limit (120/min) is raised for
the run (YOUFU_WRITES_PER_MINUTE) since the load comes from one account; access tokens live 2 h.

A provider auto-accept client (also in this process) polls GET /offers as the demo provider_admin
every 50 ms and accepts each new offer with the offer's caregiver, over the same path as the POSTs
(gateway or direct). Caregivers (daily_limit 50) are added through the API as the provider_admin
before each run so that every order can be accepted. Per run: placed/s, POST latency p50/p99,
place→accepted (POST sent → accept answered) p50/p99, accepted/s, errors, and the CPU each process
used (psutil), the load generator's included. "Sustained orders/s" is the highest placed/s of a
level whose POST /orders p99 ≤ 150 ms with no errors (the p99 is of the POST call only).
Target: ≥ 100 orders/s through the gateway. Writes bench/results/ordering.json.

The services reach PostgreSQL over TCP on 127.0.0.1, as services on other hosts would;
`--pg-socket /var/run/postgresql` measures them over its Unix socket, as one host can (D77).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import psutil  # noqa: E402
from host_probe import host_probe, probe_note  # noqa: E402
from live_platform import (  # noqa: E402
    CpuMeter,
    LivePlatform,
    RawHttp,
    add_voucher_elders,
    load_note,
    login_headers,
    ms,
    percentile,
    start_hello,
    stop_process,
    wait_quiet,
)

from shared.city import CITY_TZ  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
P99_LIMIT_S = 0.150
ACCEPT_POLL_S = 0.05
CAREGIVER_LIMIT = 50


# ---- load generator --------------------------------------------------------------------------

class Target:
    def __init__(self, name: str, base: str, prefix: str, headers: dict[str, str], path: str) -> None:
        self.name, self.base, self.prefix, self.headers, self.path = name, base, prefix, headers, path


async def closed_loop(client: httpx.AsyncClient | None, target: Target, body: dict, clients: int, warmup_s: float,
                      measure_s: float, on_placed=None, meter: CpuMeter | None = None, body_fn=None) -> dict:
    """`clients` loops POSTing back to back; counts only answers that arrive inside the window.
    `client` None: each loop has its own RawHttp keep-alive connection; else the shared httpx client."""
    samples: list[tuple[float, float, int]] = []
    stop_at = time.perf_counter() + warmup_s + measure_s
    url = target.base + target.path
    content = json.dumps(body).encode()

    async def one_client() -> None:
        raw = RawHttp(target.base) if client is None else None
        try:
            while time.perf_counter() < stop_at:
                headers = {**target.headers, "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
                payload = body_fn() if body_fn else content
                t0 = time.perf_counter()
                answer = b""
                try:
                    if raw is not None:
                        status, answer = await raw.request("POST", target.path, headers, payload)
                    else:
                        r = await client.post(url, content=payload, headers=headers)
                        status, answer = r.status_code, r.content
                except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
                    status = 599
                t1 = time.perf_counter()
                samples.append((t0, t1, status))
                if on_placed and status == 201:
                    on_placed(json.loads(answer)["order_id"], t0)
        finally:
            if raw is not None:
                await raw.close()

    async def window() -> dict:
        await asyncio.sleep(warmup_s)
        w0 = time.perf_counter()
        if meter:
            await asyncio.to_thread(meter.start)
        await asyncio.sleep(measure_s)
        cpu = await asyncio.to_thread(meter.stop) if meter else {}
        return {"w0": w0, "w1": time.perf_counter(), "cpu": cpu}

    tasks = [asyncio.create_task(one_client()) for _ in range(clients)]
    win = await window()
    await asyncio.gather(*tasks)
    w0, w1 = win["w0"], win["w1"]
    inside = [s for s in samples if w0 <= s[1] <= w1]
    ok = [s[1] - s[0] for s in inside if 200 <= s[2] < 300]
    errors = len(inside) - len(ok)
    return {"w0": w0, "w1": w1, "placed_per_s": len(ok) / (w1 - w0), "ok": len(ok), "errors": errors,
            "error_statuses": sorted({s[2] for s in inside if not 200 <= s[2] < 300}),
            "post_p50_s": percentile(ok, 50), "post_p90_s": percentile(ok, 90), "post_p99_s": percentile(ok, 99),
            "post_max_s": max(ok) if ok else None, "cpu": win["cpu"]}


class AutoAccepter:
    """The provider's side: poll the open offers, accept each new one with the offer's caregiver.
    On RawHttp like the POSTs (one connection for the poll, one per accept in flight): on httpx it
    took ≈ 1 ms of the machine's CPU per order, a share the platform under test then lacked."""

    def __init__(self, target: Target, headers: dict[str, str], concurrency: int = 16) -> None:
        self.target, self.headers = target, {**headers, "Content-Type": "application/json"}
        self.gate = asyncio.Semaphore(concurrency)
        self.idle: list[RawHttp] = []  # accept connections not in use
        self.placed: dict[str, float] = {}
        self.accepted: dict[str, float] = {}
        self.inflight: set[str] = set()
        self.failed: dict[int, int] = {}
        self._stop = False
        self._tasks: set[asyncio.Task] = set()

    def on_placed(self, order_id: str, t0: float) -> None:
        self.placed[order_id] = t0

    async def _accept(self, offer: dict) -> None:
        oid = offer["order_id"]
        async with self.gate:
            conn = self.idle.pop() if self.idle else RawHttp(self.target.base)
            try:
                status, _ = await conn.request("POST", f"{self.target.prefix}/orders/{oid}/accept", self.headers,
                                               json.dumps({"caregiver_id": offer["caregiver_id"]}).encode())
                self.idle.append(conn)
            except (OSError, asyncio.IncompleteReadError):
                status = 599
                await conn.close()
        if status == 200:
            self.accepted[oid] = time.perf_counter()
        else:
            self.failed[status] = self.failed.get(status, 0) + 1
            self.inflight.discard(oid)  # try again on a later poll if it is still offered

    async def run(self) -> None:
        poll = RawHttp(self.target.base)
        try:
            while not self._stop:
                try:
                    status, answer = await poll.request("GET", f"{self.target.prefix}/offers", self.headers)
                    offers = json.loads(answer) if status == 200 else []
                except (OSError, asyncio.IncompleteReadError):
                    offers = []
                for offer in offers:
                    if offer["order_id"] in self.inflight:
                        continue
                    self.inflight.add(offer["order_id"])
                    task = asyncio.create_task(self._accept(offer))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(ACCEPT_POLL_S)
        finally:
            await poll.close()

    async def drain(self, timeout_s: float) -> None:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline and set(self.placed) - set(self.accepted):
            await asyncio.sleep(0.05)
        self._stop = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self.idle:
            await conn.close()
        self.idle.clear()


# ---- set-up through the API ------------------------------------------------------------------

async def add_caregivers(client: httpx.AsyncClient, gw: str, admin: dict, world: dict, n: int) -> int:
    lat, lon = world["provider_location"]
    gate = asyncio.Semaphore(4)

    async def one(i: int) -> bool:
        async with gate:
            r = await client.post(f"{gw}/api/providers/providers/{world['provider_id']}/caregivers", headers=admin,
                                  json={"name": f"压测护理员{i}", "gender": "female" if i % 2 else "male",
                                        "skills": ["meal", "clean", "bath", "visit"], "certificate_level": "level_4",
                                        "base_lat": lat + (i % 7 - 3) * 0.001, "base_lon": lon + (i % 5 - 2) * 0.001,
                                        "service_radius_m": 6000, "daily_limit": CAREGIVER_LIMIT})
            return r.status_code == 201

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


def order_body(elder_id: str) -> dict:
    start = datetime.now(CITY_TZ).replace(second=0, microsecond=0) + timedelta(hours=1)
    return {"elder_id": elder_id, "service_code": "meal", "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(), "notes": "压测", "payment": "self_pay"}


class VoucherBodies:
    """The main path's bodies: voucher-paid, the next elder each time (round the 10,000)."""

    def __init__(self, elder_ids: list[str], template: dict) -> None:
        self.elder_ids, self.template, self.i = elder_ids, template, 0

    def __call__(self) -> bytes:
        self.i += 1
        return json.dumps(self.template | {"elder_id": self.elder_ids[self.i % len(self.elder_ids)],
                                           "payment": "community"}).encode()


async def dispatch_split(dbname: str, order_ids: list[str]) -> dict:
    """Server-side split of place→accepted for these orders: created → first offered (dispatch),
    offered → accepted (the provider's poll and accept call)."""
    import asyncpg

    conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database=dbname)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM min(f.offered_at) - o.created_at)::float8 AS dispatch_s, "
            "extract(epoch FROM o.accepted_at - max(f.offered_at))::float8 AS answer_s "
            "FROM orders o JOIN offers f ON f.order_id = o.id WHERE o.id = ANY($1::uuid[]) GROUP BY o.id", order_ids)
    finally:
        await conn.close()
    dispatch = [r["dispatch_s"] for r in rows if r["dispatch_s"] is not None]
    answer = [r["answer_s"] for r in rows if r["answer_s"] is not None]
    return {"dispatch_p50_s": percentile(dispatch, 50), "dispatch_p99_s": percentile(dispatch, 99),
            "offer_to_accept_p50_s": percentile(answer, 50), "offer_to_accept_p99_s": percentile(answer, 99)}


async def order_states(dbname: str) -> tuple[dict[str, int], list[float]]:
    import asyncpg

    conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database=dbname)
    try:
        states = {r["state"]: r["n"] for r in await conn.fetch("SELECT state, count(*) AS n FROM orders GROUP BY state")}
        lags = [r["s"] for r in await conn.fetch(
            "SELECT extract(epoch FROM accepted_at - created_at)::float8 AS s FROM orders WHERE accepted_at IS NOT NULL")]
    finally:
        await conn.close()
    return states, lags


# ---- the run ---------------------------------------------------------------------------------

async def bench(plat: LivePlatform, hello_url: str, hello_proc, levels: list[int], warmup_s: float,
                measure_s: float, client_kind: str, elders: int = 10_000, names=("hello", "direct", "gateway", "voucher")) -> dict:
    world = plat.world
    family = login_headers(plat.url, plat.account("family"))
    officer = login_headers(plat.url, plat.account("officer"))
    provider = login_headers(plat.url, plat.account("provider_admin"))
    body = order_body(world["elder_id"])
    hello_body = body
    procs = plat.processes()
    named = {**procs, "load generator": psutil.Process(), "hello app": psutil.Process(hello_proc.pid)}
    meter = CpuMeter(named, list(plat.databases.values()))
    targets = {
        "hello": Target("hello", hello_url, "", {}, "/hello"),
        "direct": Target("direct", plat.service_url("orders"), "", family, "/orders"),
        "gateway": Target("gateway", plat.url, "/api/orders", family, "/api/orders/orders"),
        # the main path: voucher-paid (a hold in vouchers per order), 10,000 elders, placed by the
        # district's officer through the gateway
        "voucher": Target("voucher", plat.url, "/api/orders", officer, "/api/orders/orders"),
    }
    voucher_bodies = VoucherBodies(await add_voucher_elders(plat, elders), body) if "voucher" in names else None
    runs: list[dict] = []
    capacity = 8  # the demo caregiver
    used = 0
    rate_guess = 150.0
    limits = httpx.Limits(max_connections=max(levels) + 16, max_keepalive_connections=max(levels) + 16)
    async with httpx.AsyncClient(timeout=30, limits=limits) as shared, \
            httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as side:
        client = shared if client_kind == "httpx" else None
        capacity += CAREGIVER_LIMIT * await add_caregivers(side, plat.url, provider, world, 8)
        await asyncio.sleep(1.0)
        # warm every path once: imports, pools, the service-item cache, the elder copy
        for name in [n for n in ("direct", "gateway", "voucher") if n in names]:
            acc = AutoAccepter(targets[name], provider)
            task = asyncio.create_task(acc.run())
            await closed_loop(client, targets[name], body, 2, 0.0, 1.0, on_placed=acc.on_placed,
                              body_fn=voucher_bodies if name == "voucher" else None)
            await acc.drain(20)
            await task
            used += len(acc.accepted)
        await closed_loop(client, targets["hello"], hello_body, 2, 0.0, 1.0)
        for clients in levels:
            for name in names:
                target = targets[name]
                acc = None
                if name != "hello":
                    need = int(rate_guess * (warmup_s + measure_s) * 1.5) + 50
                    if capacity - used < need:
                        add = -(-(need - (capacity - used)) // CAREGIVER_LIMIT)
                        capacity += CAREGIVER_LIMIT * await add_caregivers(side, plat.url, provider, world, add)
                        await asyncio.sleep(1.0)  # let providers' index settle
                    acc = AutoAccepter(target, provider)
                    acc_task = asyncio.create_task(acc.run())
                waited, busy_before = await asyncio.to_thread(wait_quiet)
                r = await closed_loop(client, target, hello_body if name == "hello" else body, clients, warmup_s,
                                      measure_s, on_placed=acc.on_placed if acc else None, meter=meter,
                                      body_fn=voucher_bodies if name == "voucher" else None)
                r |= {"clients": clients, "target": name, "load": load_note(), "waited_for_quiet_s": round(waited, 1),
                      "machine_busy_before_pct": busy_before}
                if acc:
                    await acc.drain(45)
                    await acc_task
                    used += len(acc.accepted)
                    sample = [acc.accepted[o] - t0 for o, t0 in acc.placed.items()
                              if r["w0"] <= t0 <= r["w1"] and o in acc.accepted]
                    in_window = [o for o, t0 in acc.placed.items() if r["w0"] <= t0 <= r["w1"]]
                    r |= {"accept_p50_s": percentile(sample, 50), "accept_p99_s": percentile(sample, 99),
                          "accepted_per_s": sum(1 for t in acc.accepted.values() if r["w0"] <= t <= r["w1"])
                          / (r["w1"] - r["w0"]),
                          "placed_in_window": len(in_window), "accepted_of_those": len(sample),
                          "accept_failures": acc.failed}
                    r |= await dispatch_split(plat.databases["orders"], in_window)
                    rate_guess = max(rate_guess * 0.5, r["placed_per_s"] * 1.3, 20.0)
                runs.append(r)
                print(f"  {clients:>3} clients {name:<8} {r['placed_per_s']:7.1f}/s  POST p50 {ms(r['post_p50_s'])} "
                      f"p99 {ms(r['post_p99_s'])} ms  errors {r['errors']}"
                      + (f"  accept p50 {ms(r['accept_p50_s'])} p99 {ms(r['accept_p99_s'])} ms "
                         f"({r['accepted_of_those']}/{r['placed_in_window']}; dispatch p50 "
                         f"{ms(r['dispatch_p50_s'])} p99 {ms(r['dispatch_p99_s'])}, offer→accept p50 "
                         f"{ms(r['offer_to_accept_p50_s'])} p99 {ms(r['offer_to_accept_p99_s'])})" if acc else "")
                      + f"  cpu: {fmt_cpu(r['cpu'])}", flush=True)
    states, lags = await order_states(plat.databases["orders"])
    return {"runs": runs, "order_states": states, "caregiver_capacity": capacity,
            "db_accept_lag_p50_s": percentile(lags, 50), "db_accept_lag_p99_s": percentile(lags, 99)}


def fmt_cpu(cpu: dict) -> str:
    keys = ("gateway", "orders", "providers", "vouchers", "postgres (ours)", "broker", "load generator", "hello app",
            "other", "total busy")
    return " ".join(f"{k.split(' ')[0] if k != 'postgres (ours)' else 'pg'}={cpu.get(k, 0):.0f}" for k in keys if k in cpu)


PLATFORM = ("gateway", "orders", "providers", "vouchers", "assessment", "broker", "postgres (ours)")


def cpu_ms_per_order(r: dict) -> float | None:
    """CPU of the platform's processes per order, counting an order as placed + dispatched +
    accepted (the mean of placed/s and accepted/s: a backlog moves work between windows)."""
    if "accepted_per_s" not in r:
        return None
    rate = (r["placed_per_s"] + r["accepted_per_s"]) / 2
    used = sum(r["cpu"].get(g, 0) for g in PLATFORM) * 10  # % of a core → ms of CPU per second
    return used / rate if rate else None


def cpu_per_order(r: dict) -> str:
    ms_ = cpu_ms_per_order(r)
    return "–" if ms_ is None else f"{ms_:.1f}"


def sustained(runs: list[dict], target: str) -> dict | None:
    ok = [r for r in runs if r["target"] == target and r["errors"] == 0 and r["post_p99_s"] is not None
          and r["post_p99_s"] <= P99_LIMIT_S]
    return max(ok, key=lambda r: r["placed_per_s"]) if ok else None


def report(result: dict) -> dict:
    runs = result["runs"]
    print(f"\ncores: {os.cpu_count()}  levels: {sorted({r['clients'] for r in runs})} clients (closed loop)  "
          f"payment: self_pay  accept poll: {ACCEPT_POLL_S * 1000:.0f} ms")
    print("\n| clients | path | placed/s | POST p50 ms | POST p99 ms | errors | place→accepted p50 ms | p99 ms "
          "| accepted/s | load-gen CPU % | machine busy % |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        accept = (f"{ms(r['accept_p50_s'])} | {ms(r['accept_p99_s'])} | {r['accepted_per_s']:.1f}"
                  if "accepted_per_s" in r else "– | – | –")
        print(f"| {r['clients']} | {r['target']} | {r['placed_per_s']:.1f} | {ms(r['post_p50_s'])} | "
              f"{ms(r['post_p99_s'])} | {r['errors']} | {accept} | {r['cpu'].get('load generator', 0):.0f} | "
              f"{r['cpu'].get('total busy', 0):.0f} |")
    print("\nWhere place→accepted goes (server-side, orders DB): placed → first offer (dispatcher + providers "
          "/candidates), offer → accepted (the provider's poll every 50 ms + accept call):")
    print("| clients | path | dispatch p50 ms | dispatch p99 ms | offer→accepted p50 ms | p99 ms | accepted of placed |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in runs:
        if "dispatch_p50_s" in r:
            print(f"| {r['clients']} | {r['target']} | {ms(r['dispatch_p50_s'])} | {ms(r['dispatch_p99_s'])} | "
                  f"{ms(r['offer_to_accept_p50_s'])} | {ms(r['offer_to_accept_p99_s'])} | "
                  f"{r['accepted_of_those']}/{r['placed_in_window']} |")
    print("\nCPU per process during each run (% of one core; the machine has "
          f"{os.cpu_count() * 100} %):")
    groups = ["gateway", "orders", "providers", "vouchers", "assessment", "broker", "postgres (ours)",
              "postgres (other)", "hello app", "load generator", "other", "total busy"]
    print("| clients | path | " + " | ".join(groups) + " | platform CPU ms per order |")
    print("|---:|---|" + "---:|" * (len(groups) + 1))
    for r in runs:
        print(f"| {r['clients']} | {r['target']} | " + " | ".join(f"{r['cpu'].get(g, 0):.0f}" for g in groups)
              + f" | {cpu_per_order(r)} |")
    if not all(any(r["target"] == t for r in runs) for t in ("gateway", "direct", "hello")):
        # a partial run (`--paths voucher` to look at the main path alone): no comparisons to make
        return main_path(runs) if any(r["target"] == "voucher" for r in runs) else {}
    gw, direct, hello = (sustained(runs, t) for t in ("gateway", "direct", "hello"))
    best = {t: max((r for r in runs if r["target"] == t), key=lambda r: r["placed_per_s"]) for t in ("gateway", "direct", "hello")}
    summary = {
        "sustained_gateway_orders_per_s": round(gw["placed_per_s"], 1) if gw else 0.0,
        "sustained_gateway_at_clients": gw["clients"] if gw else None,
        "sustained_direct_orders_per_s": round(direct["placed_per_s"], 1) if direct else 0.0,
        "sustained_hello_req_per_s": round(hello["placed_per_s"], 1) if hello else 0.0,
        "max_gateway_orders_per_s": round(best["gateway"]["placed_per_s"], 1),
        "max_direct_orders_per_s": round(best["direct"]["placed_per_s"], 1),
        "max_hello_req_per_s": round(best["hello"]["placed_per_s"], 1),
    }
    s = summary
    hop_sustained = s["sustained_gateway_orders_per_s"] / s["sustained_direct_orders_per_s"] if s["sustained_direct_orders_per_s"] else None
    hop_max = s["max_gateway_orders_per_s"] / s["max_direct_orders_per_s"]
    per_level = []
    for c in sorted({r["clients"] for r in runs}):
        g = next(r for r in runs if r["clients"] == c and r["target"] == "gateway")
        d = next(r for r in runs if r["clients"] == c and r["target"] == "direct")
        h = next(r for r in runs if r["clients"] == c and r["target"] == "hello")
        per_level.append({"clients": c, "gateway_over_direct_rate": round(g["placed_per_s"] / d["placed_per_s"], 3),
                          "gateway_over_direct_p99": round(g["post_p99_s"] / d["post_p99_s"], 2),
                          "gateway_fraction_of_hello": round(g["placed_per_s"] / h["placed_per_s"], 3)})
    summary |= {
        "gateway_hop_ratio_sustained": round(hop_sustained, 3) if hop_sustained else None,
        "gateway_hop_ratio_max": round(hop_max, 3),
        "gateway_fraction_of_ceiling": round(s["sustained_gateway_orders_per_s"] / s["max_hello_req_per_s"], 3),
        "per_level": per_level,
    }
    # The CPU budget: at the sustained level's CPU per order, how many orders a second this
    # machine could carry with every core busy on the platform alone (an upper bound: it leaves
    # out the load generator and assumes perfect parallelism)
    at = gw or best["gateway"]
    per_order = cpu_ms_per_order(at)
    if per_order:
        summary |= {"platform_cpu_ms_per_order": round(per_order, 1),
                    "cpu_bound_orders_per_s": round((os.cpu_count() or 1) * 1000 / per_order, 1)}
        print(f"CPU budget: {per_order:.1f} ms of platform CPU per order at {at['clients']} clients through the gateway; "
              f"{os.cpu_count()} cores carry at most ≈ {summary['cpu_bound_orders_per_s']:.0f} orders/s at that cost "
              f"(100 orders/s needs ≤ {(os.cpu_count() or 1) * 10:.0f} ms an order)")
    print(f"\nsustained orders/s with POST /orders p99 ≤ {P99_LIMIT_S * 1000:.0f} ms and no errors:")
    print(f"  gateway {s['sustained_gateway_orders_per_s']}/s"
          + (f" (at {gw['clients']} clients)" if gw else "") + f"  direct {s['sustained_direct_orders_per_s']}/s"
          + (f" (at {direct['clients']} clients)" if direct else "")
          + f"  hello {s['sustained_hello_req_per_s']}/s (best {s['max_hello_req_per_s']}/s)")
    print(f"gateway-hop ratio (gateway ÷ direct orders/s): sustained {summary['gateway_hop_ratio_sustained']}, "
          f"at each level's best {summary['gateway_hop_ratio_max']}")
    print("per level: " + "; ".join(f"{p['clients']} clients: rate ×{p['gateway_over_direct_rate']}, p99 "
                                    f"×{p['gateway_over_direct_p99']}, of hello {p['gateway_fraction_of_hello']:.0%}"
                                    for p in per_level))
    print(f"fraction of the ceiling (sustained gateway orders/s ÷ best hello req/s): "
          f"{summary['gateway_fraction_of_ceiling']:.1%}")
    print(f"target ≥ 100 orders/s through the gateway: {'met' if s['sustained_gateway_orders_per_s'] >= 100 else 'NOT met'}")
    if any(r["target"] == "voucher" for r in runs):
        summary |= main_path(runs)
    print(f"orders by state at the end: {result['order_states']}  (server-side placed→accepted "
          f"p50 {ms(result['db_accept_lag_p50_s'])} ms, p99 {ms(result['db_accept_lag_p99_s'])} ms over all orders)")
    return summary


def main_path(runs: list[dict]) -> dict:
    """The voucher-paid main path against the self-paid figure of the same run: sustained rate,
    CPU per order, and their ratios level by level."""
    v = sustained(runs, "voucher")
    best_v = max((r for r in runs if r["target"] == "voucher"), key=lambda r: r["placed_per_s"])
    at = v or best_v
    per_order = cpu_ms_per_order(at)
    levels = []
    for r in runs:
        if r["target"] != "voucher":
            continue
        g = next((x for x in runs if x["clients"] == r["clients"] and x["target"] == "gateway"), None)
        cv, cg = cpu_ms_per_order(r), cpu_ms_per_order(g) if g else None
        levels.append({"clients": r["clients"], "voucher_per_s": round(r["placed_per_s"], 1),
                       "voucher_p99_ms": round(r["post_p99_s"] * 1000, 1) if r["post_p99_s"] else None,
                       "voucher_cpu_ms_per_order": round(cv, 2) if cv else None,
                       "self_paid_cpu_ms_per_order": round(cg, 2) if cg else None,
                       "voucher_over_self_paid_rate": round(r["placed_per_s"] / g["placed_per_s"], 3) if g else None,
                       "voucher_over_self_paid_cpu": round(cv / cg, 3) if cv and cg else None})
    out = {"main_path": {
        "what": "voucher-paid (community) orders over 10,000 elders with wallets, placed by the district officer "
                "through the gateway; a hold in vouchers per order",
        "sustained_orders_per_s": round(v["placed_per_s"], 1) if v else 0.0,
        "sustained_at_clients": v["clients"] if v else None,
        "max_orders_per_s": round(best_v["placed_per_s"], 1),
        "platform_cpu_ms_per_order": round(per_order, 2) if per_order else None,
        "targets": {"orders_per_s": 150, "post_p99_ms": 150, "platform_cpu_ms_per_order": 10},
        "per_level": levels}}
    m = out["main_path"]
    print(f"\nmain path (voucher-paid, 10,000 elders, through the gateway): sustained {m['sustained_orders_per_s']}/s"
          + (f" at {m['sustained_at_clients']} clients" if v else "") + f", best {m['max_orders_per_s']}/s; "
          f"platform CPU {m['platform_cpu_ms_per_order']} ms an order (target ≤ 10)")
    print("per level: " + "; ".join(f"{x['clients']} clients: ×{x['voucher_over_self_paid_rate']} the self-paid rate, "
                                    f"CPU {x['voucher_cpu_ms_per_order']} vs {x['self_paid_cpu_ms_per_order']} ms"
                                    for x in levels))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--levels", type=str, default="", help="comma-separated client counts (overrides the default)")
    ap.add_argument("--paths", default="hello,direct,gateway,voucher",
                    help="which of hello, direct, gateway (self-paid), voucher (the main path) to measure")
    ap.add_argument("--elders", type=int, default=10_000, help="elders with wallets for the voucher path")
    ap.add_argument("--pg-socket", metavar="DIR", help="services reach PostgreSQL over its Unix socket in DIR "
                    "(e.g. /var/run/postgresql), as on one host, instead of TCP on 127.0.0.1 (D77)")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="load generator's HTTP client for the measured POSTs (the accepter always uses httpx)")
    args = ap.parse_args()
    levels = [2, 10] if args.quick else [2, 5, 10, 20, 40, 80]
    if args.levels:
        levels = [int(x) for x in args.levels.split(",")]
    warmup_s, measure_s = (1.0, 4.0) if args.quick else (2.0, 8.0)
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    started = time.time()
    probe_before = host_probe()
    print(f"starting the platform … ({load_note()}; {probe_note(probe_before)})", flush=True)
    plat = LivePlatform("ord", extra_env={"YOUFU_WRITES_PER_MINUTE": "100000000", "YOUFU_ACCESS_TOKEN_TTL_S": "7200"},
                        pg_socket=args.pg_socket)
    plat.start()
    hello_proc, hello_url = start_hello()
    try:
        result = asyncio.run(bench(plat, hello_url, hello_proc, levels, warmup_s, measure_s, args.client,
                                   elders=args.elders, names=tuple(args.paths.split(","))))
    finally:
        stop_process(hello_proc)
        plat.stop()
    probe_after = host_probe()
    print(f"after: {probe_note(probe_after)}", flush=True)
    summary = report(result)
    out = {"benchmark": "ordering", "cores": os.cpu_count(), "quick": args.quick, "backend": "postgresql",
           "database_connection": f"unix socket {args.pg_socket}" if args.pg_socket else "tcp 127.0.0.1",
           "load_generator": (f"{'RawHttp (bench/live_platform.py)' if args.client == 'raw' else 'httpx.AsyncClient'} "
                              f"on {loop_name}, closed loop, one keep-alive connection per client, one process "
                              f"(this one, which also runs the auto-accepter on httpx)"),
           "payment": "self_pay (direct, gateway); community voucher over 10,000 elders (voucher: the main path)",
           "accept_poll_ms": ACCEPT_POLL_S * 1000, "warmup_s": warmup_s, "measure_s": measure_s,
           "p99_limit_ms": P99_LIMIT_S * 1000, "target_orders_per_s": 100, "load_at_end": load_note(),
           "duration_s": round(time.time() - started), "host_probe_ms": {"before": probe_before, "after": probe_after},
           **summary,
           "order_states": result["order_states"], "caregiver_capacity": result["caregiver_capacity"],
           "runs": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k not in ("w0", "w1")}
                    for r in result["runs"]]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ordering.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
