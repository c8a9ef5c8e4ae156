"""Issue 11, item 4: concurrency through the gateway and the real processes.

- 200 orders at once on one elder's wallet: exactly the affordable number are placed (every full
  share, plus one that takes the last fen of the wallet), the rest are refused with 409 naming
  what is left, and nothing else is written; the wallet ends at 0 and the holds sum to what it had.
- 50 accepts at once of one grab-mode order offered to five providers: one winner, 49 × 409.
- 20 clients at once with the same Idempotency-Key and body: one order, one hold, one answer.
Each ends with the ledger check and the reconciliation of orders against vouchers.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.faults.harness import (
    add_service_item,
    eventually,
    fetch,
    ledger_check,
    login,
    new_elder,
    new_provider,
    order_body,
    reconcile,
    record_figures,
    wallet_available,
)

pytestmark = pytest.mark.slow
GRAB = "ft_grab"


async def burst(url: str, n: int, make_request) -> tuple[list[httpx.Response | Exception], float]:
    """`n` requests at the same moment: every client has its connection open before the signal.

    One TLS context for all (httpx builds one per client otherwise: 10 s for 200 here, though no
    request uses TLS), and the connections are opened with the gateway's cheapest answer (its
    /health asks all four services: 800 calls that took half a minute on this machine)."""
    tls = httpx.create_ssl_context()
    clients = [httpx.AsyncClient(base_url=url, timeout=60, verify=tls) for _ in range(n)]
    try:
        await asyncio.gather(*(c.get("/") for c in clients))  # a redirect to /login, not followed
        go = asyncio.Event()

        async def one(i: int, c: httpx.AsyncClient):
            await go.wait()
            try:
                return await make_request(i, c)
            except httpx.HTTPError as exc:
                return exc

        tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(clients)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        go.set()
        results = await asyncio.gather(*tasks)
        return results, round(time.monotonic() - started, 2)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def pg_headroom(p) -> int:
    """Connections PostgreSQL still accepts (the machine's other users count too)."""
    rows = await fetch(p.dsn("orders"), "SELECT current_setting('max_connections')::int - count(*) AS free "
                                        "FROM pg_stat_activity")
    return rows[0]["free"]


def by_status(results) -> dict:
    return dict(Counter(r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in results))


async def test_200_concurrent_holds_on_one_wallet_place_exactly_the_affordable_number(fault_platform):
    p = fault_platform
    elder_id = await asyncio.to_thread(new_elder, p, "并发测试老人")
    officer = login(p, "officer")  # places orders for the elders of the district
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        available = await eventually(lambda: wallet_available(c, officer, elder_id), lambda a: a, timeout_s=60,
                                     what="the new elder's community voucher")
        quote = (await c.post("/api/vouchers/quotes", headers=login(p, "admin"),
                              json={"elder_id": elder_id, "kind": "community", "price_fen": 1500})).json()
    share = quote["voucher_fen"]
    expected = available // share + (1 if available % share else 0)  # the last one takes what is left
    assert 10 < expected < 200

    headroom = await pg_headroom(p)
    first: list = []

    async def place_retrying(i: int, c: httpx.AsyncClient):
        """A careful client: a 5xx or a broken connection is retried with the same key until the
        answer is definite (the design's recovery for an unknown outcome)."""
        key = str(uuid.uuid4())
        body = order_body(elder_id, "meal", "community")
        for attempt in range(20):
            try:
                r = await c.post("/api/orders/orders", headers={**officer, "Idempotency-Key": key}, json=body)
            except httpx.HTTPError as exc:
                r = exc
            if attempt == 0:
                first.append(r)
            if isinstance(r, httpx.Response) and r.status_code < 500:
                return r
            await asyncio.sleep(0.5 + random.random())
        return r

    results, seconds = await burst(p.url, 200, place_retrying)
    first_statuses = by_status(first)
    statuses = by_status(results)
    placed = [r.json() for r in results if isinstance(r, httpx.Response) and r.status_code == 201]
    refused = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 409]
    assert statuses == {201: expected, 409: 200 - expected}, statuses
    assert sorted(o["voucher_fen"] for o in placed) == sorted([share] * (available // share) +
                                                              ([available % share] if available % share else []))
    assert all(r.headers["content-type"].startswith("application/problem+json") and r.json()["available_fen"] == 0
               for r in refused), refused[0].text
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        assert await wallet_available(c, officer, elder_id) == 0
    orders = await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders WHERE elder_id::text = $1", elder_id)
    holds = await fetch(p.dsn("vouchers"), "SELECT order_id::text AS id, voucher_fen FROM holds WHERE elder_id::text = $1",
                        elder_id)
    assert {o["id"] for o in orders} == {o["order_id"] for o in placed} == {h["id"] for h in holds}
    assert sum(h["voucher_fen"] for h in holds) == available
    recon = await reconcile(p)
    check = await ledger_check(p)
    record_figures("concurrent_holds_one_wallet", {
        "requests": 200, "first_attempt_by_status": first_statuses, "final_by_status": statuses,
        "retries_after_5xx": sum(1 for r in first if not isinstance(r, httpx.Response) or r.status_code >= 500),
        "pg_connections_free_before_burst": headroom, "wallet_fen": available, "voucher_share_fen": share,
        "affordable": expected, "placed": len(placed), "held_fen": sum(h["voucher_fen"] for h in holds),
        "orders_written": len(orders), "holds_written": len(holds), "burst_s": seconds,
        "ledger_transfers_checked": check["transfers_checked"], "orders_reconciled": recon["orders"]})


async def test_50_concurrent_accepts_of_one_grab_offer_have_one_winner(fault_platform):
    p = fault_platform
    add_service_item(p, GRAB, price_fen=3000, mode="grab", grab_size=5)
    others = [await asyncio.to_thread(new_provider, p, n, [GRAB]) for n in range(1, 5)]
    demo_admin = login(p, "provider_admin")
    # the demo provider offers it too, with its caregiver able to do it
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        r = await c.patch(f"/api/providers/caregivers/{p.world['caregiver_id']}", headers=demo_admin,
                          json={"skills": ["meal", "clean", "bath", "visit", GRAB]})
        assert r.status_code == 200, r.text
    providers = [{"provider_id": p.world["provider_id"], "headers": demo_admin}] + others
    family = login(p, "family")
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())},
                         json=order_body(p.world["elder_id"], GRAB, "self_pay"))
        assert r.status_code == 201, r.text
        oid = r.json()["order_id"]
        offers = await eventually(lambda: fetch(p.dsn("orders"), "SELECT provider_id::text AS pid, outcome FROM offers "
                                                                 "WHERE order_id::text = $1", oid),
                                  lambda rows: len(rows) == 5, what="five offers at once")
    assert {o["pid"] for o in offers} == {x["provider_id"] for x in providers}

    results, seconds = await burst(p.url, 50, lambda i, c: c.post(
        f"/api/orders/orders/{oid}/accept", headers=providers[i % 5]["headers"], json={}))
    statuses = by_status(results)
    assert statuses == {200: 1, 409: 49}, statuses
    winner = next(r.json() for r in results if r.status_code == 200)
    reasons = Counter(r.json().get("reason") for r in results if r.status_code == 409)
    assert set(reasons) <= {"taken", "already_accepted"}, reasons
    rows = await fetch(p.dsn("orders"), "SELECT provider_id::text AS pid, outcome FROM offers WHERE order_id::text = $1", oid)
    assert sorted(r["outcome"] for r in rows) == ["accepted", "revoked", "revoked", "revoked", "revoked"]
    assert next(r["pid"] for r in rows if r["outcome"] == "accepted") == winner["provider_id"]
    order = (await fetch(p.dsn("orders"), "SELECT state, provider_id::text AS pid FROM orders WHERE id::text = $1", oid))[0]
    assert order == {"state": "accepted", "pid": winner["provider_id"]}
    accepted_events = await fetch(p.dsn("orders"), "SELECT count(*) AS n FROM outbox WHERE type = 'youfu.order.accepted.v1' "
                                                   "AND payload::json->'data'->>'order_id' = $1", oid)
    assert accepted_events[0]["n"] == 1
    recon = await reconcile(p)
    check = await ledger_check(p)
    record_figures("concurrent_grab_accepts", {
        "requests": 50, "providers_offered": 5, "by_status": statuses, "loser_reasons": dict(reasons),
        "accepted_offers": 1, "order_accepted_events": 1, "burst_s": seconds,
        "ledger_transfers_checked": check["transfers_checked"], "orders_reconciled": recon["orders"]})


async def test_20_clients_with_one_idempotency_key_get_one_order_and_one_answer(fault_platform):
    p = fault_platform
    family = login(p, "family")
    elder_id = p.world["elder_id"]
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        before = await eventually(lambda: wallet_available(c, family, elder_id), lambda a: a, what="the wallet")
    key, body = str(uuid.uuid4()), order_body(elder_id, "meal", "community")
    orders_before = (await fetch(p.dsn("orders"), "SELECT count(*) AS n FROM orders"))[0]["n"]
    holds_before = (await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM holds"))[0]["n"]

    results, seconds = await burst(p.url, 20, lambda i, c: c.post(
        "/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body))
    statuses = by_status(results)
    assert statuses == {201: 20}, statuses
    answers = {r.content for r in results}
    assert len(answers) == 1, [r.text[:300] for r in results][:3]
    order = results[0].json()
    orders_after = (await fetch(p.dsn("orders"), "SELECT count(*) AS n FROM orders"))[0]["n"]
    holds = await fetch(p.dsn("vouchers"), "SELECT order_id::text AS id, voucher_fen FROM holds WHERE order_id::text = $1",
                        order["order_id"])
    holds_after = (await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM holds"))[0]["n"]
    placed_events = await fetch(p.dsn("orders"), "SELECT count(*) AS n FROM outbox WHERE type = 'youfu.order.placed.v1' "
                                                 "AND payload::json->'data'->>'order_id' = $1", order["order_id"])
    assert orders_after - orders_before == 1 and holds_after - holds_before == 1 and placed_events[0]["n"] == 1
    assert holds[0]["voucher_fen"] == order["voucher_fen"] > 0
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        assert await wallet_available(c, family, elder_id) == before - order["voucher_fen"]  # spent once
    recon = await reconcile(p)
    check = await ledger_check(p)
    record_figures("concurrent_same_idempotency_key", {
        "requests": 20, "by_status": statuses, "distinct_answers": len(answers), "orders_written": 1, "holds_written": 1,
        "order_placed_events": 1, "wallet_spent_fen": order["voucher_fen"], "burst_s": seconds,
        "ledger_transfers_checked": check["transfers_checked"], "orders_reconciled": recon["orders"]})
