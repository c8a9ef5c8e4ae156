"""Issue 11, items 2 and 3: processes die without warning.

Item 2. The vouchers service is SIGKILLed in the middle of a stream of orders (some placed, some
being delivered, some about to be cancelled) and started again. The design (README, "Placing an
order needs the vouchers service"): while it is down, a voucher-paid order is refused with a
clear 503 naming the vouchers service and nothing is written; a self-paid one is placed as
usual; a cancellation goes through (its event releases the hold later); completions wait in the
broker. After the restart the clients retry their refused orders with the same Idempotency-Key,
which places each exactly once, and everything reconciles: every completed order captured and
settled once, every cancelled order's hold released, no hold without an order.

Item 3. The vouchers process dies between committing a capture (effect + inbox row) and
committing the Kafka offset (failpoint `consumer.after_effect`, shared/failpoints.py). The broker
still has the offset behind the event; the restarted process receives the event again, the inbox
recognises it, and nothing changes the second time: one capture, one redemption, one
`voucher.redeemed` event, and the order settles once.
"""
from __future__ import annotations

import asyncio
import os
import signal
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
    wallet_available,
)

pytestmark = pytest.mark.slow
CODE = "ft_crash"
PLACE_EVERY_S = 0.3


@pytest.fixture(scope="module")
def world(fault_platform):
    add_service_item(fault_platform, CODE, price_fen=200)
    add_caregivers(fault_platform, 4, [CODE])
    return fault_platform.world


async def test_vouchers_killed_mid_flow_refuses_holds_with_503_and_everything_reconciles(fault_platform, world):
    p = fault_platform
    elder_id = world["elder_id"]
    family, provider = login(p, "family"), login(p, "provider_admin")
    robot = ProviderRobot(p.url, provider, phase="up:")
    phase = {"name": "up"}
    stats: dict[str, Counter] = {k: Counter() for k in ("up", "down", "restarted")}
    placed: dict[str, str] = {}
    refused: list[tuple[str, dict]] = []  # (idempotency key, body) of every 503
    problems: list[str] = []
    stop_placing = asyncio.Event()

    async def placer() -> None:
        async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
            i = 0
            while not stop_placing.is_set():
                i += 1
                body = order_body(elder_id, CODE, "self_pay" if i % 3 == 0 else "community")
                key = str(uuid.uuid4())
                try:
                    r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
                except httpx.HTTPError as exc:
                    stats[phase["name"]][f"place {body['payment']} {type(exc).__name__}"] += 1
                    continue
                stats[phase["name"]][f"place {body['payment']} {r.status_code}"] += 1
                if r.status_code == 201:
                    placed[r.json()["order_id"]] = body["payment"]
                elif r.status_code == 503:
                    refused.append((key, body))
                    b = r.json()
                    if not (r.headers["content-type"].startswith("application/problem+json")
                            and b.get("service") == "vouchers" and "养老服务券服务" in b.get("detail", "")):
                        problems.append(f"unclear 503: {r.text[:300]}")
                else:
                    problems.append(f"place {body['payment']} → {r.status_code} {r.text[:300]}")
                await asyncio.sleep(PLACE_EVERY_S)

    robot_task = asyncio.create_task(robot.run())
    placer_task = asyncio.create_task(placer())
    try:
        await eventually(lambda: len([o for o in robot.delivered if placed.get(o) == "community"]),
                         lambda n: n >= 3, timeout_s=60, what="a few voucher orders delivered")
        # three voucher orders the provider accepts but does not deliver: cancelled while vouchers is down
        async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
            to_cancel = []
            for _ in range(3):
                r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())},
                                 json=order_body(elder_id, CODE, "community"))
                assert r.status_code == 201, r.text
                robot.hold_back.add(r.json()["order_id"])
                robot.abandoned.add(r.json()["order_id"])
                to_cancel.append(r.json()["order_id"])
                placed[r.json()["order_id"]] = "community"

            await eventually(lambda: fetch(p.dsn("orders"), "SELECT count(*) AS n FROM orders WHERE state = 'accepted' "
                                                            "AND id::text = ANY($1)", to_cancel),
                             lambda rows: rows[0]["n"] == 3, what="the three accepted")
            code = p.kill("vouchers")
            killed = time.monotonic()
            phase["name"], robot.phase = "down", "down:"
            assert code == -9
            for oid in to_cancel:
                r = await c.post(f"/api/orders/orders/{oid}/cancel", headers=family, json={"reason": "家里临时有事"})
                stats["down"][f"cancel {r.status_code}"] += 1
                assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
                robot.hold_back.discard(oid)
            r = await c.get(f"/api/vouchers/wallets/{elder_id}", headers=family)
            assert r.status_code == 503, r.text  # the gateway says so, as problem+json
            await asyncio.sleep(max(0.0, 6 - (time.monotonic() - killed)))
            assert stats["down"]["place community 503"] >= 3, stats["down"]
            await asyncio.to_thread(p.start_process, "vouchers")
            phase["name"], robot.phase = "restarted", "restarted:"
            restarted = time.monotonic()
            down_s = restarted - killed
            await asyncio.sleep(3)
        stop_placing.set()
        await placer_task
        assert problems == [], problems

        # the refused clients try again with the same key: each order is placed exactly once
        before_retry_holds = await fetch(p.dsn("vouchers"), "SELECT order_id::text AS id FROM holds")
        orphans_before_retry = [h["id"] for h in before_retry_holds if h["id"] not in placed]
        retried = Counter()
        async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
            for key, body in refused:
                r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
                retried[r.status_code] += 1
                assert r.status_code == 201, r.text
                again = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
                assert again.status_code == 201 and again.json()["order_id"] == r.json()["order_id"]
                placed[r.json()["order_id"]] = body["payment"]
        delivered_target = {o for o in placed if o not in to_cancel}
        await eventually(lambda: delivered_target <= set(robot.delivered), lambda done: done, timeout_s=90,
                         what="every order delivered")
        robot.stop()
        await robot_task
        voucher_orders = {o for o, pay in placed.items() if pay == "community" and o not in to_cancel}
        await eventually(lambda: fetch(p.dsn("orders"), "SELECT state, count(*) AS n FROM orders GROUP BY state"),
                         lambda rows: {r["state"]: r["n"] for r in rows} == {"settled": len(delivered_target),
                                                                              "cancelled": 3},
                         timeout_s=60, what="all settled, three cancelled")
        settled_s = round(time.monotonic() - restarted, 2)
        report = await eventually(lambda: delivery_report(p), lambda r: not r["missing"] and not r["outbox_pending"],
                                  timeout_s=60, what="every event delivered")
    finally:
        stop_placing.set()
        robot.stop()
        await asyncio.gather(placer_task, robot_task, return_exceptions=True)

    orders_in_db = {r["id"] for r in await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders")}
    assert orders_in_db == set(placed)  # a refused request left no order behind (its retry made exactly one)
    recon = await reconcile(p)  # no hold without an order, each settled order captured once, cancelled released
    assert recon["releases"] == 3
    check = await ledger_check(p)
    robot_failures = [f for f in robot.failures]
    assert robot_failures == [], robot_failures
    requests = {ph: dict(stats[ph]) | {k.removeprefix(ph + ":"): v for k, v in robot.statuses.items()
                                       if k.startswith(ph + ":")} for ph in stats}
    record_figures("vouchers_sigkill", {
        "vouchers_down_s": round(down_s, 1), "orders_placed": len(placed), "voucher_orders_settled": len(voucher_orders),
        "refused_with_503_while_down": len(refused), "retried_after_restart_by_status": dict(retried),
        "holds_without_order_before_retry": len(orphans_before_retry),
        "cancelled_while_down_then_released": 3, "requests_by_phase": {k: dict(sorted(v.items())) for k, v in requests.items()},
        "requests_total": sum(sum(v.values()) for v in requests.values()) + 2 * sum(retried.values()),
        "unexpected_answers": len(problems), "events_published": report["events_published"],
        "deliveries": report["deliveries_done"], "deliveries_missing": len(report["missing"]),
        "captures": recon["captures"], "releases": recon["releases"], "ledger_transfers_checked": check["transfers_checked"],
        "recovery_s_restart_to_all_settled": settled_s,
    })
    assert orphans_before_retry == [], f"holds made for orders that were refused: {orphans_before_retry}"


async def test_vouchers_killed_while_hung_refuses_waiting_holds_with_503_and_leaves_nothing(fault_platform, world):
    """A vouchers process that hangs (SIGSTOP: requests pile up unread in its sockets) and is then
    killed, as a liveness probe would: the orders waiting for a hold get the design's clear 503,
    nothing is written, and a retry with the same key after the restart places each order once."""
    p = fault_platform
    family = login(p, "family")
    bodies = [(str(uuid.uuid4()), order_body(world["elder_id"], CODE, "community")) for _ in range(4)]
    orders_before = {r["id"] for r in await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders")}
    holds_before = (await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM holds"))[0]["n"]
    os.kill(p.procs["vouchers"].pid, signal.SIGSTOP)
    try:
        async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
            pending = [asyncio.create_task(c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key},
                                                  json=body)) for key, body in bodies]
            await asyncio.sleep(1.5)  # the hold requests are waiting in the hung process's sockets
            p.kill("vouchers")
            answers = await asyncio.gather(*pending)
    finally:
        if p.procs["vouchers"].poll() is None:
            p.kill("vouchers")
    statuses = Counter(r.status_code for r in answers)
    orders_after = {r["id"] for r in await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders")}
    holds_after = (await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM holds"))[0]["n"]
    await asyncio.to_thread(p.start_process, "vouchers")
    retried = Counter()
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        for key, body in bodies:
            r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
            retried[r.status_code] += 1
            if r.status_code == 201:
                await c.post(f"/api/orders/orders/{r.json()['order_id']}/cancel", headers=family, json={"reason": "测试结束"})
    record_figures("vouchers_hung_then_killed", {
        "waiting_orders": len(bodies), "answers_by_status": dict(statuses), "orders_written": len(orders_after - orders_before),
        "holds_written": holds_after - holds_before, "retry_after_restart_by_status": dict(retried)})
    assert orders_after == orders_before and holds_after == holds_before  # nothing written
    assert retried == {201: len(bodies)}
    await reconcile(p)
    await ledger_check(p)
    assert dict(statuses) == {503: len(bodies)}, [f"{r.status_code} {r.text[:200]}" for r in answers]


async def test_vouchers_dying_after_storing_a_hold_leaves_no_hold_behind(fault_platform, world):
    """The worst moment to die: the hold is committed, the answer not sent (failpoint
    `vouchers.hold.after_commit`). The order is refused with the design's 503 and no order is
    written; the design also says nothing is written, so the stored hold must not stay held."""
    p = fault_platform
    family = login(p, "family")
    elder_id = world["elder_id"]
    key, body = str(uuid.uuid4()), order_body(elder_id, CODE, "community")
    p.kill("vouchers")  # (not SIGTERM: see the consumer-crash test below)
    await asyncio.to_thread(p.start_process, "vouchers",
                            extra_env={"YOUFU_FAILPOINTS": "vouchers.hold.after_commit=vouchers"})
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        available = await wallet_available(c, family, elder_id)
        r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
        assert r.status_code == 503 and r.json().get("service") == "vouchers", r.text
        assert await asyncio.to_thread(p.procs["vouchers"].wait, 30) == 137
        await asyncio.to_thread(p.start_process, "vouchers")

        async def orphans() -> list[dict]:
            orders = {x["id"] for x in await fetch(p.dsn("orders"), "SELECT id::text AS id FROM orders")}
            return [h for h in await fetch(p.dsn("vouchers"), "SELECT order_id::text AS id, voucher_fen FROM holds "
                                                               "WHERE status = 'held'") if h["id"] not in orders]

        try:  # released by the orphan-hold sweep (services/vouchers/orphans.py; 10 s here, 10 min in production)
            left = await eventually(orphans, lambda hs: hs == [], timeout_s=40, what="no hold without an order")
        except AssertionError:
            left = await orphans()
        after = await wallet_available(c, family, elder_id)
        # the same key again: adopts a hold still held (201, once), or is refused if it was released
        retry = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": key}, json=body)
        assert retry.status_code in (201, 409), retry.text
        if retry.status_code == 201:
            assert [h["id"] for h in left] == [retry.json()["order_id"]] and await wallet_available(c, family, elder_id) == after
            cancel = await c.post(f"/api/orders/orders/{retry.json()['order_id']}/cancel", headers=family,
                                  json={"reason": "测试结束"})
            assert cancel.status_code == 200, cancel.text
    await reconcile(p)
    await ledger_check(p)
    record_figures("vouchers_died_after_storing_a_hold", {
        "answer": r.status_code, "orders_written": 0, "holds_left_held_without_order": len(left),
        "wallet_fen_before": available, "wallet_fen_after_restart": after, "retry_with_same_key": retry.status_code})
    assert left == [], f"holds left held for orders that were refused: {left}"


def committed_lag(bootstrap: str, group: str, topic: str) -> int:
    """How far the group's committed offsets are behind the end of the topic (all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, request_timeout_ms=7000)
    try:
        parts = [TopicPartition(topic, n) for n in sorted(c.partitions_for_topic(topic) or [])]
        ends = c.end_offsets(parts)
        return sum(ends[tp] - (c.committed(tp) or 0) for tp in parts)
    finally:
        c.close(autocommit=False)


async def test_consumer_killed_between_effect_and_offset_commit_gets_the_event_again_and_changes_nothing(
        fault_platform, world):
    p = fault_platform
    family, provider = login(p, "family"), login(p, "provider_admin")
    robot = ProviderRobot(p.url, provider)
    async with httpx.AsyncClient(base_url=p.url, timeout=30) as c:
        r = await c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())},
                         json=order_body(world["elder_id"], CODE, "community"))
        assert r.status_code == 201, r.text
        oid = r.json()["order_id"]
        robot.hold_back.add(oid)
        robot_task = asyncio.create_task(robot.run())
        try:
            await eventually(lambda: fetch(p.dsn("orders"), "SELECT state FROM orders WHERE id::text = $1", oid),
                             lambda rows: rows[0]["state"] == "accepted", what="accepted")
            # vouchers again, now armed to die right after its first order.completed effect commits
            # (SIGKILL, not SIGTERM: a consumer that leaves the group while a rebalance is pending wedges
            # the bundled broker's group coordinator — tests/faults/repro_tansu_group_wedge.py)
            p.kill("vouchers")
            await asyncio.to_thread(p.start_process, "vouchers", extra_env={
                "YOUFU_FAILPOINTS": "consumer.after_effect=vouchers.orders/youfu.order.completed.v1"})
            robot.hold_back.discard(oid)  # check-in, check-out → order.completed
            try:
                await eventually(lambda: p.procs["vouchers"].poll(), lambda code: code is not None, timeout_s=60,
                                 what="vouchers to die at the failpoint")
            except AssertionError:
                state = await fetch(p.dsn("orders"), "SELECT state FROM orders WHERE id::text = $1", oid)
                raise AssertionError(f"vouchers did not die: order {state}, robot {dict(robot.statuses)} "
                                     f"{robot.failures}, vouchers consumed {await consumed(p, 'vouchers')}")
        finally:
            robot.stop()
            await robot_task
    assert p.procs["vouchers"].returncode == 137
    assert "failpoint consumer.after_effect=vouchers.orders" in "\n".join(p.log_tail("vouchers"))
    # the effect is committed (hold captured, inbox row), the offset is not
    event = (await fetch(p.dsn("orders"), "SELECT event_id FROM outbox WHERE type = 'youfu.order.completed.v1' "
                                          "AND payload::json->'data'->>'order_id' = $1", oid))[0]["event_id"]
    inbox = await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM inbox WHERE consumer = 'vouchers.orders' "
                                           "AND event_id = $1", event)
    holds = await fetch(p.dsn("vouchers"), "SELECT status, captured_fen FROM holds WHERE order_id::text = $1", oid)
    assert inbox[0]["n"] == 1 and holds[0]["status"] == "captured", (inbox, holds)
    lag_at_crash = await asyncio.to_thread(committed_lag, p.bootstrap, "vouchers", "youfu.orders")
    assert lag_at_crash >= 1

    p.start_process("vouchers")  # without the failpoint
    restarted = time.monotonic()
    outcome = await eventually(lambda: consumed(p, "vouchers"),
                               lambda o: o.get("youfu.order.completed.v1", Counter())["duplicate"] >= 1,
                               timeout_s=60, what="the redelivered order.completed")
    redelivered_s = round(time.monotonic() - restarted, 2)
    # caught up: committed at or past the end the broker reports. Not "== 0": Tansu reports too small
    # an end offset for a partition whose last records came in one produce batch (a relay pass that
    # found two events sends them together), so a caught-up group can show a lag below zero
    await eventually(lambda: asyncio.to_thread(committed_lag, p.bootstrap, "vouchers", "youfu.orders"),
                     lambda lag: lag <= 0, timeout_s=30, what="the offset committed after the redelivery")
    await eventually(lambda: fetch(p.dsn("orders"), "SELECT state, captured_fen FROM orders WHERE id::text = $1", oid),
                     lambda rows: rows[0]["state"] == "settled", timeout_s=30, what="settled")
    captures = await fetch(p.dsn("vouchers"), "SELECT kind, count(*) AS n FROM ledger_transfers WHERE order_id::text = $1 "
                                              "GROUP BY kind", oid)
    redemptions = await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM redemptions WHERE order_id::text = $1", oid)
    redeemed = await fetch(p.dsn("vouchers"), "SELECT count(*) AS n FROM outbox WHERE type = 'youfu.voucher.redeemed.v1' "
                                              "AND payload::json->'data'->>'order_id' = $1", oid)
    assert {r["kind"]: r["n"] for r in captures} == {"hold": 1, "capture": 1}
    assert redemptions[0]["n"] == 1 and redeemed[0]["n"] == 1
    applied = outcome["youfu.order.completed.v1"]["applied"]
    assert applied == 0, "the second delivery must change nothing"
    recon = await reconcile(p)
    check = await ledger_check(p)
    record_figures("consumer_crash_before_offset_commit", {
        "exit_code": 137, "offset_lag_at_crash": lag_at_crash,
        "redeliveries_of_order_completed": outcome["youfu.order.completed.v1"]["duplicate"],
        "second_delivery_applied": applied, "captures_for_the_order": 1, "redemptions_for_the_order": 1,
        "voucher_redeemed_events_for_the_order": 1, "restart_to_redelivery_s": redelivered_s,
        "orders_reconciled": recon["orders"], "ledger_transfers_checked": check["transfers_checked"],
    })
