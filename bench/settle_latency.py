"""Benchmark: order.completed → settled latency, across the real platform and broker.

    .venv/bin/python bench/settle_latency.py            # 200 voucher orders, 4 at a time
    .venv/bin/python bench/settle_latency.py --quick    # 30 orders

What runs: the whole platform as `make up` runs it (`python -m youfu up`, five processes, one
PostgreSQL database each, a broker started here, default settings). A voucher order settles by
events only: check-out commits `order.completed` to the orders outbox → relay → broker → vouchers
consumer captures the hold and commits `voucher.redeemed` to its outbox → relay → broker → orders
consumer marks the order settled. (A self-paid order settles inside the check-out transaction, so
it would measure nothing: every order here is paid by the community voucher.)

Set-up through the API, as the offices would: the district officer registers elders (each assessed
and signed by the two demo assessors, so vouchers issues the month's community voucher from the
assessment event) until their vouchers cover N meal orders; the provider admin adds caregivers
(daily_limit 50) and the admin gives each a login. Then W workers each drive orders one after the
other: the officer places (payment "community"), the provider admin accepts the offer (with the
offer's caregiver), that caregiver checks in at the door and checks out. Orders start at most
1.5 a second (`--rate`): the gateway's write limit of 120 a minute per account applies, and the
officer and the provider admin write once per order. Nothing in the platform's settings is changed.

Measured per order, two ways:
  server   settled_at − completed_at, both written by the orders service (same clock), read from
           the orders database afterwards: the latency itself, untouched by polling
  client   check-out answer received → the order first seen "settled" by a watcher that reads the
           orders database every 20 ms (one query for all orders in flight; polling the API at
           20 ms per order would load the 2-core machine more than the path being measured)
and each order's GET /api/orders/orders/{id} is read once afterwards to confirm it says settled.
The server latency is split into hops from the outbox, inbox and redemption rows of both databases:
relay out of orders, broker → vouchers capture, relay out of vouchers, broker → orders settle.
Target: p99 ≤ 250 ms. Writes bench/results/settle_latency.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import psutil  # noqa: E402
from live_platform import CpuMeter, LivePlatform, load_note, login_headers, ms, percentile, wait_quiet  # noqa: E402

from shared.city import CITY_TZ  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P99_S = 0.250
WATCH_S = 0.020
OFFER_POLL_S = 0.05
DISTRICT = "321202"


def ok(r: httpx.Response, *codes: int) -> dict:
    if r.status_code not in (codes or (200, 201)):
        raise RuntimeError(f"{r.request.method} {r.request.url.path} → {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}


# ---- set-up through the API ------------------------------------------------------------------

async def register_elder(c: httpx.AsyncClient, officer: dict, assessors: list[dict], i: int, near) -> str:
    from services.assessment.instruments import get_instrument
    from services.assessment.rules.idcard import id_card_check_char

    born = date(1940, 1, 1) + timedelta(days=37 * i)
    first17 = f"{DISTRICT}{born:%Y%m%d}{(100 + i) % 1000:03d}"[:16] + "1"  # odd 17th digit: male
    elder = ok(await c.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": f"bench-elder-{i}"}, json={
        "name": f"压测老人{i}", "gender": "male", "birth_date": born.isoformat(),
        "id_card": first17 + id_card_check_char(first17), "phone": f"139{i:08d}",
        "address": f"泰州市海陵区城中街道压测路 {i} 号", "lat": near[0] + (i % 5) * 0.0005, "lon": near[1] + (i % 3) * 0.0005,
        "district_code": DISTRICT, "street": "城中街道", "living_situation": "alone", "economic_status": "dibao",
        "emergency_contacts": [{"name": "家属", "relation": "女儿", "phone": f"137{i:08d}"}]}))
    items = {it.code: sorted(it.allowed_scores)[len(it.allowed_scores) // 2] for it in get_instrument().items}
    draft = ok(await c.post(f"/api/assessment/elders/{elder['id']}/assessments", headers=assessors[0],
                            json={"items": items, "note": "压测评估"}))
    ok(await c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
    ok(await c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))
    return elder["id"]


async def community_available(c: httpx.AsyncClient, officer: dict, elder_id: str, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = await c.get(f"/api/vouchers/wallets/{elder_id}", headers=officer)
        if r.status_code == 200:
            v = next((v for v in r.json().get("vouchers", []) if v["kind"] == "community"), None)
            if v is not None:
                return int(v["available_fen"])
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no community voucher for elder {elder_id} after {timeout_s:.0f}s")


async def add_caregiver_with_login(c: httpx.AsyncClient, plat: LivePlatform, provider: dict, admin: dict,
                                   i: int) -> tuple[str, dict]:
    world = plat.world
    lat, lon = world["provider_location"]
    cg = ok(await c.post(f"/api/providers/providers/{world['provider_id']}/caregivers", headers=provider, json={
        "name": f"压测护理员{i}", "gender": "female", "skills": ["meal", "clean", "bath", "visit"],
        "certificate_level": "level_4", "base_lat": lat + i * 0.0003, "base_lon": lon, "service_radius_m": 6000,
        "daily_limit": 50}))
    account = {"phone": f"136{i:08d}", "password": f"bench-{uuid.uuid4().hex[:12]}"}
    ok(await c.post("/api/admin/users", headers=admin, json={
        **account, "display_name": f"压测护理员{i}", "role": "caregiver", "provider_id": world["provider_id"],
        "caregiver_id": cg["id"]}))
    return cg["id"], await asyncio.to_thread(login_headers, plat.url, account)


# ---- watching ------------------------------------------------------------------------------

class OfferBoard:
    """One provider-admin poller for all workers: GET /offers every 50 ms, hand each offer to the
    worker waiting for that order."""

    def __init__(self, c: httpx.AsyncClient, provider: dict) -> None:
        self.c, self.provider = c, provider
        self.waiting: dict[str, asyncio.Future] = {}
        self.stopped = False

    async def offer_for(self, order_id: str, timeout_s: float = 60) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[order_id] = fut
        return await asyncio.wait_for(fut, timeout_s)

    async def run(self) -> None:
        while not self.stopped:
            if self.waiting:
                r = await self.c.get("/api/orders/offers", headers=self.provider)
                if r.status_code == 200:
                    for offer in r.json():
                        fut = self.waiting.pop(offer["order_id"], None)
                        if fut and not fut.done():
                            fut.set_result(offer)
            await asyncio.sleep(OFFER_POLL_S)


class SettleWatcher:
    """Reads the orders database every 20 ms for all orders awaiting settlement."""

    def __init__(self, dbname: str) -> None:
        self.dbname = dbname
        self.waiting: dict[str, asyncio.Future] = {}
        self.stopped = False

    async def settled(self, order_id: str, timeout_s: float = 60) -> float:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[order_id] = fut
        return await asyncio.wait_for(fut, timeout_s)

    async def run(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database=self.dbname)
        try:
            while not self.stopped:
                if self.waiting:
                    rows = await conn.fetch("SELECT id::text AS id FROM orders WHERE id = ANY($1::uuid[]) "
                                            "AND state = 'settled'", list(self.waiting))
                    seen = time.perf_counter()
                    for row in rows:
                        fut = self.waiting.pop(row["id"], None)
                        if fut and not fut.done():
                            fut.set_result(seen)
                await asyncio.sleep(WATCH_S)
        finally:
            await conn.close()


# ---- the run ---------------------------------------------------------------------------------

async def drive(plat: LivePlatform, n_orders: int, workers: int, rate: float) -> dict:
    accounts = plat.accounts
    by_role = lambda role: [a for a in accounts if a["role"] == role]  # noqa: E731
    login = lambda a: asyncio.to_thread(login_headers, plat.url, a)  # noqa: E731
    officer = await login(by_role("officer")[0])
    admin = await login(by_role("admin")[0])
    provider = await login(by_role("provider_admin")[0])
    assessors = [await login(a) for a in by_role("assessor")[:2]]
    world = plat.world
    async with httpx.AsyncClient(base_url=plat.url, timeout=30,
                                 limits=httpx.Limits(max_connections=64)) as c:
        # elders with enough community voucher for every order (each meal order holds 13.50 yuan)
        elder0 = ok(await c.get(f"/api/assessment/elders/{world['elder_id']}", headers=officer))
        near = (elder0["lat"], elder0["lon"])
        elders: list[tuple[str, int]] = []  # (elder id, orders its voucher covers)
        probe = ok(await c.get("/api/providers/service-items/meal", headers=officer))
        per_order_fen = int(probe["guide_price_fen"])  # an upper bound of the voucher share
        setup_started = time.perf_counter()
        i = 0
        while sum(n for _, n in elders) < n_orders + workers:
            batch = list(range(i, i + 4))
            i += 4
            ids = await asyncio.gather(*(register_elder(c, officer, assessors, j, near) for j in batch))
            avail = await asyncio.gather(*(community_available(c, officer, e) for e in ids))
            elders += [(e, a // per_order_fen) for e, a in zip(ids, avail)]
        caregivers: dict[str, dict] = {world["caregiver_id"]: await login(by_role("caregiver")[0])}
        for cid, headers in await asyncio.gather(*(add_caregiver_with_login(c, plat, provider, admin, k)
                                                   for k in range(max(4, workers)))):
            caregivers[cid] = headers
        setup_s = time.perf_counter() - setup_started
        print(f"set-up: {len(elders)} elders (voucher covers {sum(n for _, n in elders)} orders), "
              f"{len(caregivers)} caregivers with logins, {setup_s:.0f} s", flush=True)

        slots = [e for e, n in elders for _ in range(n)]
        board, watcher = OfferBoard(c, provider), SettleWatcher(plat.databases["orders"])
        background = [asyncio.create_task(board.run()), asyncio.create_task(watcher.run())]
        results: list[dict] = []
        failures: list[str] = []
        queue: asyncio.Queue = asyncio.Queue()
        for k in range(n_orders):
            queue.put_nowait(k)

        pace = {"next": time.perf_counter()}

        async def one_order(k: int) -> None:
            # the gateway allows each account 120 writes a minute: the officer (placing) and the
            # provider admin (accepting) write once per order, so orders start at most `rate`/s
            slot = pace["next"] = max(pace["next"] + 1 / rate, time.perf_counter())
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(minutes=30)
            placed = ok(await c.post("/api/orders/orders", headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, json={
                "elder_id": slots[k], "service_code": "meal", "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=1)).isoformat(), "notes": "压测", "payment": "community"}), 201)
            assert placed["voucher_fen"] > 0, placed
            oid = placed["order_id"]
            offer = await board.offer_for(oid)
            cg = offer.get("caregiver_id") or world["caregiver_id"]
            ok(await c.post(f"/api/orders/orders/{oid}/accept", headers=provider, json={"caregiver_id": cg}))
            caregiver = caregivers[cg]
            ok(await c.post(f"/api/orders/orders/{oid}/check-in", headers=caregiver,
                            json={"lat": placed["lat"] + 0.0001, "lon": placed["lon"]}))
            r = await c.post(f"/api/orders/orders/{oid}/check-out", headers=caregiver,
                             json={"record": "送午餐一份，协助用餐", "duration_min": 30,
                                   "unconfirmed_reason": "压测：老人没有手机"})
            t_checkout = time.perf_counter()
            out = ok(r)
            assert out["state"] == "completed", out["state"]
            seen = await watcher.settled(oid)
            results.append({"order_id": oid, "client_s": seen - t_checkout})

        async def worker() -> None:
            while True:
                try:
                    k = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    await one_order(k)
                except Exception as exc:  # count it, keep going
                    failures.append(f"{type(exc).__name__}: {exc}"[:300])

        warm = min(workers, 4)  # the first orders warm the pools and consumers; not counted
        for k in range(warm):
            queue.get_nowait()
        await asyncio.gather(*(one_order(k) for k in range(warm)))
        results.clear()
        waited, busy = await asyncio.to_thread(wait_quiet, 35.0, 120.0)
        print(f"machine {busy:.0f} % busy before measuring (waited {waited:.0f} s for ≤ 35 %)", flush=True)
        named = {**plat.processes(), "load generator": psutil.Process()}
        meter = CpuMeter(named, list(plat.databases.values()))
        meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - t0
        cpu = meter.stop()
        board.stopped = watcher.stopped = True
        await asyncio.gather(*background, return_exceptions=True)
        # the API says so too
        api_settled = 0
        for res in results:
            r = await c.get(f"/api/orders/orders/{res['order_id']}", headers=officer)
            api_settled += r.status_code == 200 and r.json()["state"] == "settled"
    hops = await server_side(plat, [r["order_id"] for r in results])
    for r in results:
        r |= hops.get(r["order_id"], {})
    return {"results": results, "failures": failures, "elapsed_s": elapsed, "cpu": cpu, "api_settled": api_settled,
            "elders": len(elders), "caregivers": len(caregivers), "setup_s": setup_s}


async def server_side(plat: LivePlatform, order_ids: list[str]) -> dict[str, dict]:
    """Per order: the server-side latency and its hops, from both services' own rows."""
    import asyncpg

    o = await asyncpg.connect(user="postgres", host="127.0.0.1", database=plat.databases["orders"])
    v = await asyncpg.connect(user="postgres", host="127.0.0.1", database=plat.databases["vouchers"])
    try:
        orders = {r["id"]: r for r in await o.fetch(
            "SELECT id::text AS id, completed_at, settled_at FROM orders WHERE id = ANY($1::uuid[])", order_ids)}
        completed_out = {r["oid"]: r for r in await o.fetch(
            "SELECT payload::json->'data'->>'order_id' AS oid, created_at, sent_at FROM outbox "
            "WHERE type = 'youfu.order.completed.v1'")}
        captured = {r["oid"]: r for r in await v.fetch(
            "SELECT order_id::text AS oid, created_at FROM redemptions WHERE order_id = ANY($1::uuid[])", order_ids)}
        redeemed_out = {r["oid"]: r for r in await v.fetch(
            "SELECT payload::json->'data'->>'order_id' AS oid, created_at, sent_at FROM outbox "
            "WHERE type = 'youfu.voucher.redeemed.v1'")}
    finally:
        await o.close()
        await v.close()
    out = {}
    for oid in order_ids:
        row = orders.get(oid)
        if not row or not row["settled_at"] or not row["completed_at"]:
            continue
        d = {"server_s": (row["settled_at"] - row["completed_at"]).total_seconds()}
        co, cap, ro = completed_out.get(oid), captured.get(oid), redeemed_out.get(oid)
        if co and cap and ro and co["sent_at"] and ro["sent_at"]:
            d |= {"relay_orders_s": (co["sent_at"] - row["completed_at"]).total_seconds(),
                  "to_capture_s": (cap["created_at"] - co["sent_at"]).total_seconds(),
                  "relay_vouchers_s": (ro["sent_at"] - cap["created_at"]).total_seconds(),
                  "to_settle_s": (row["settled_at"] - ro["sent_at"]).total_seconds()}
        out[oid] = d
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--orders", type=int, default=0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=1.5, help="orders started per second, at most (the gateway's "
                    "per-account write limit is 120/min and the officer places every order)")
    args = ap.parse_args()
    n = args.orders or (30 if args.quick else 200)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    started = time.time()
    print(f"starting the platform … ({load_note()})", flush=True)
    # the load comes from a handful of accounts: the per-account write limit (120/min) is raised
    plat = LivePlatform("settle", extra_env={"YOUFU_ACCESS_TOKEN_TTL_S": "7200", "YOUFU_WRITES_PER_MINUTE": "100000"})
    plat.start()
    try:
        run = asyncio.run(drive(plat, n, args.workers, args.rate))
    finally:
        plat.stop()
    res = run["results"]
    server = [r["server_s"] for r in res if "server_s" in r]
    client = [r["client_s"] for r in res]
    hop_names = [("relay_orders_s", "orders outbox → broker (relay acked)"),
                 ("to_capture_s", "broker → vouchers consumer captured"),
                 ("relay_vouchers_s", "vouchers outbox → broker (relay acked)"),
                 ("to_settle_s", "broker → orders consumer settled")]
    print(f"\norders measured: {len(res)} (+ warm-up), failures: {len(run['failures'])}, workers: {args.workers}, "
          f"paced at ≤ {args.rate}/s: {len(res) / run['elapsed_s']:.2f} orders/s end to end; cores: {os.cpu_count()}; "
          f"{load_note()}")
    print("\n| measure | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
    for label, xs in (("server: settled_at − completed_at (orders DB)", server),
                      (f"client: check-out answer → seen settled (DB read every {WATCH_S * 1000:.0f} ms)", client)):
        print(f"| {label} | {len(xs)} | {ms(percentile(xs, 50))} | {ms(percentile(xs, 90))} | "
              f"{ms(percentile(xs, 99))} | {ms(max(xs) if xs else None)} |")
    for key, label in hop_names:
        xs = [r[key] for r in res if key in r]
        print(f"| hop: {label} | {len(xs)} | {ms(percentile(xs, 50))} | {ms(percentile(xs, 90))} | "
              f"{ms(percentile(xs, 99))} | {ms(max(xs) if xs else None)} |")
    p99 = percentile(server, 99)
    print(f"\nserver p99 {ms(p99)} ms; target ≤ {TARGET_P99_S * 1000:.0f} ms: "
          f"{'met' if p99 is not None and p99 <= TARGET_P99_S else 'NOT met'}")
    print(f"GET /api/orders/orders/{{id}} says settled for {run['api_settled']}/{len(res)}")
    print("CPU during the measured orders (% of one core): "
          + ", ".join(f"{k} {v:.0f}" for k, v in sorted(run["cpu"].items(), key=lambda kv: -kv[1])))
    if run["failures"]:
        print("failures (first 5):", *run["failures"][:5], sep="\n  ")
    summary = lambda xs: {"n": len(xs), "p50_ms": round(percentile(xs, 50) * 1000, 1) if xs else None,  # noqa: E731
                          "p90_ms": round(percentile(xs, 90) * 1000, 1) if xs else None,
                          "p99_ms": round(percentile(xs, 99) * 1000, 1) if xs else None,
                          "max_ms": round(max(xs) * 1000, 1) if xs else None}
    out = {"benchmark": "settle_latency", "cores": os.cpu_count(), "quick": args.quick, "backend": "postgresql",
           "orders": len(res), "workers": args.workers, "paced_orders_per_s": args.rate, "failures": len(run["failures"]),
           "orders_per_s_end_to_end": round(len(res) / run["elapsed_s"], 2), "payment": "community",
           "server": summary(server), "client": summary(client), "client_watch_ms": WATCH_S * 1000,
           "hops": {key: summary([r[key] for r in res if key in r]) for key, _ in hop_names},
           "target_p99_ms": TARGET_P99_S * 1000, "met": p99 is not None and p99 <= TARGET_P99_S,
           "api_settled": run["api_settled"], "cpu_pct_of_core": run["cpu"], "load": load_note(),
           "elders": run["elders"], "caregivers": run["caregivers"], "duration_s": round(time.time() - started)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "settle_latency.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
