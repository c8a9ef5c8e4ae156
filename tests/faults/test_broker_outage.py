"""Issue 11, item 1: the broker goes away for 30 s under a steady stream of orders and comes back
empty (the bundled broker keeps nothing).

While it is down, everything that does not need it keeps working: placing (vouchers' hold is
HTTP), offers, accepting, check-in and check-out all answer as usual, and `/ready` stays 200
("degraded"). Completions wait in the outbox. After the restart every relay notices the new
cluster id and re-sends what it had sent; every handled event reaches every subscriber's inbox,
every completed voucher order is captured and settled exactly once, the inbox absorbs the
re-sent copies, and the ledger's invariants hold.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.faults.harness import (
    ProviderRobot,
    add_caregivers,
    add_service_item,
    consumed,
    delivery_report,
    eventually,
    fetch,
    ledger_check,
    login,
    order_body,
    reconcile,
    record_figures,
)

pytestmark = pytest.mark.slow
OUTAGE_S = 30
PLACE_EVERY_S = 0.4
CODE = "ft_outage"


async def test_broker_outage_under_a_stream_of_orders_loses_nothing_and_spends_nothing_twice(fault_platform):
    p = fault_platform
    add_service_item(p, CODE, price_fen=200)  # 1.80 voucher share at 低保: the wallet lasts the whole stream
    add_caregivers(p, 6, [CODE])
    elder_id = p.world["elder_id"]
    family, provider = login(p, "family"), login(p, "provider_admin")
    robot = ProviderRobot(p.url, provider, phase="before:")
    phase = {"name": "before"}
    stats: dict[str, Counter] = {k: Counter() for k in ("before", "outage", "after")}
    placed: dict[str, str] = {}  # order id → payment
    stop_placing = asyncio.Event()

    def count(what: str, status) -> None:
        stats[phase["name"]][f"{what} {status}"] += 1

    async def placer() -> None:
        async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
            i = 0
            while not stop_placing.is_set():
                i += 1
                payment = "self_pay" if i % 3 == 0 else "community"
                try:
                    r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())},
                                     json=order_body(elder_id, CODE, payment))
                    count("place", r.status_code)
                    if r.status_code == 201:
                        placed[r.json()["order_id"]] = payment
                        # a read that needs no broker either
                        count("read", (await c.get(f"/api/orders/orders/{r.json()['order_id']}", headers=family)).status_code)
                except httpx.HTTPError as exc:
                    count("place", type(exc).__name__)
                await asyncio.sleep(PLACE_EVERY_S)

    async def settled(ids) -> set[str]:
        if not ids:
            return set()
        rows = await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders WHERE state = 'settled' AND id::text = ANY($1)",
                           list(ids))
        return {r["id"] for r in rows}

    robot_task = asyncio.create_task(robot.run())
    placer_task = asyncio.create_task(placer())
    try:
        # the flow works end to end before the fault
        await eventually(lambda: settled([o for o, pay in placed.items() if pay == "community"]),
                         lambda s: len(s) >= 3, timeout_s=60, what="a few voucher orders settled before the outage")

        p.stop_broker()
        phase["name"], robot.phase = "outage", "outage:"
        outage_started = time.monotonic()
        delivered_before = set(robot.delivered)
        async with httpx.AsyncClient(timeout=10) as c:
            await asyncio.sleep(3)
            ready = {n: (await c.get(p.service_url(n) + "/ready")) for n in ("orders", "vouchers", "providers")}
        for name, r in ready.items():
            assert r.status_code == 200 and r.json()["broker"] == "down" and r.json()["status"] == "degraded", (name, r.text)
        await asyncio.sleep(OUTAGE_S - (time.monotonic() - outage_started))
        # voucher orders completed while the broker was away: their completion waits in the outbox
        completed_in_outage = [r["id"] for r in await fetch(
            p.dsn("orders"), "SELECT id::text AS id FROM orders WHERE state = 'completed' AND payment <> 'self_pay'")]
        delivered_in_outage = [o for o in robot.delivered if o not in delivered_before]
        assert len(completed_in_outage) >= 5 and len(delivered_in_outage) >= 5, (completed_in_outage, delivered_in_outage)
        restarted = p.start_broker()
        phase["name"], robot.phase = "after", "after:"
        outage_s = time.monotonic() - outage_started

        async def stop_placing_soon() -> None:  # orders keep coming while relays and consumers find the new broker
            await asyncio.sleep(3)
            stop_placing.set()

        stopper = asyncio.create_task(stop_placing_soon())
        await eventually(lambda: settled(completed_in_outage), lambda s: len(s) == len(completed_in_outage),
                         timeout_s=90, every_s=0.1, what="orders completed in the outage settled")
        recovery_s = round(time.monotonic() - restarted, 2)
        await stopper
        await placer_task
        placed_ok = set(placed)
        await eventually(lambda: placed_ok <= set(robot.delivered), lambda done: done, timeout_s=60,
                         what="every placed order delivered")
        robot.stop()
        await robot_task
        voucher_orders = {o for o, pay in placed.items() if pay == "community"}
        await eventually(lambda: settled(voucher_orders), lambda s: s == voucher_orders, timeout_s=60,
                         what="every voucher order settled")
        report = await eventually(lambda: delivery_report(p), lambda r: not r["missing"] and not r["outbox_pending"],
                                  timeout_s=60, what="every event delivered")
        all_quiet_s = round(time.monotonic() - restarted, 2)
    finally:
        stop_placing.set()
        robot.stop()
        await asyncio.gather(placer_task, robot_task, return_exceptions=True)

    # nothing that needed no broker failed, in any phase
    requests = {ph: dict(stats[ph]) | {k.removeprefix(ph + ":"): v for k, v in robot.statuses.items()
                                       if k.startswith(ph + ":")}
                for ph in stats}
    for ph, counts in requests.items():
        bad = {k: v for k, v in counts.items() if not k.endswith((" 200", " 201"))}
        assert not bad, f"{ph}: {bad}"
    assert robot.failures == []
    settled_counts = await fetch(p.dsn("orders"),
                                 "SELECT payment, count(*) AS n FROM orders WHERE state = 'settled' GROUP BY payment")
    twice = await fetch(p.dsn("vouchers"), """SELECT pending_id, count(*) AS n FROM ledger_transfers
                                              WHERE pending_id IS NOT NULL GROUP BY pending_id HAVING count(*) > 1""")
    assert twice == []
    recon = await reconcile(p)
    assert recon["orders_by_state"] == {"settled": len(placed)}
    check = await ledger_check(p)
    outcomes = {n: await consumed(p, n) for n in ("orders", "vouchers", "providers")}
    duplicates = {f"{n} {t}": c["duplicate"] for n, by_type in outcomes.items() for t, c in by_type.items() if c["duplicate"]}
    record_figures("broker_outage", {
        "outage_s": round(outage_s, 1), "orders_placed": len(placed),
        "voucher_orders": len(voucher_orders), "self_paid_orders": len(placed) - len(voucher_orders),
        "orders_delivered_during_outage": len(delivered_in_outage),
        "voucher_orders_waiting_for_the_broker_at_restart": len(completed_in_outage),
        "requests_by_phase": {ph: dict(sorted(c.items())) for ph, c in requests.items()},
        "requests_total": sum(sum(c.values()) for c in requests.values()), "requests_failed": 0,
        "settled_by_payment": {r["payment"]: r["n"] for r in settled_counts},
        "events_published": report["events_published"], "deliveries": report["deliveries_done"],
        "deliveries_missing": len(report["missing"]),
        "redeliveries_absorbed_by_inbox": duplicates, "duplicate_ledger_entries": len(twice),
        "captures": recon["captures"], "ledger_transfers_checked": check["transfers_checked"],
        "recovery_s_until_outage_completions_settled": recovery_s, "recovery_s_until_every_event_delivered": all_quiet_s,
    })
