"""The vouchers service end to end, orders' and families' side: eligibility from events,
policy versions, quotes, holds (idempotent, concurrent), capture and release through the broker.

Real HTTP, a real database, events through a real broker; the ledger's invariants are checked
after every test (`ledger_stays_sound`).
"""
from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from services.vouchers.models import HoldRow, PolicyVersionRow, TransferRow, VoucherRow
from tests.integration.vouchers_harness import (
    ASSESSMENT_TOPIC,
    MARCH_10,
    ORDERS_TOPIC,
    complete,
    completion,
    elder_event,
    ledger_stays_sound,
    place_hold,
    register,
    vouchers,
    wait_for,
)

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
HAILING, GAOGANG = "321202", "321203"


async def test_policy_versions_are_kept_and_chosen_by_date(vouchers):
    vouchers.clock.now = MARCH_10
    async with vouchers.client("admin") as admin:
        versions = (await admin.get("/policies")).json()
        assert versions[0]["version"] == 1 and versions[0]["created_by"] == "system"
        rules = versions[0]["rules"]
        community = next(r for r in rules if r["kind"] == "community")
        community["face_value_fen_by_grade"]["2"] = 35000
        may_rules = {"effective_from": "2026-05-01", "rules": rules, "note": "五月上调"}
        r = await admin.post("/policies", json=may_rules, headers={"Idempotency-Key": "policy-may"})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == len(versions) + 1
        again = await admin.post("/policies", json=may_rules, headers={"Idempotency-Key": "policy-may"})
        assert again.status_code == 201 and again.json() == r.json()  # a retry publishes nothing new
        assert (await admin.get("/policies/current")).json()["version"] == 1
        may = (await admin.get("/policies/current", params={"on": "2026-05-01"})).json()
        assert may["note"] == "五月上调" and may["rules"][1]["face_value_fen_by_grade"]["2"] == 35000
        r = await admin.post("/policies", json={"effective_from": "2026-03-01", "rules": rules})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "effective_from"
        bad = [dict(community, share_bp_by_status={**community["share_bp_by_status"], "dibao": 12000})]
        r = await admin.post("/policies", json={"effective_from": "2026-06-01", "rules": bad})
        assert r.status_code == 422 and "支付比例" in r.json()["errors"][0]["reason"]
    async with vouchers.client("officer", district=HAILING) as officer:
        assert (await officer.post("/policies", json={"effective_from": "2026-06-01", "rules": rules})).status_code == 403
        assert [v["version"] for v in (await officer.get("/policies")).json()][:2] == [1, 2]
    assert await vouchers.scalar(sa.select(sa.func.count()).select_from(PolicyVersionRow)) == len(versions) + 1


async def test_eligibility_events_issue_this_months_vouchers_at_once(vouchers):
    vouchers.clock.now = MARCH_10
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for elder, facts in ((a, dict(district=HAILING, economic="dibao", hardship=True)),
                         (b, dict(district=GAOGANG, economic="tekun", living="with_family", grade=None)),
                         (c, dict(district=HAILING, economic="none"))):
        await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.registered.v1", str(elder), elder_event(elder, **facts))
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.assessment.completed.v1", str(b), {
        "elder_id": str(b), "assessment_id": str(uuid.uuid4()), "instrument": "GB/T 42195-2022", "total": 40,
        "initial_grade": 3, "grade": 3, "finalised_at": "2026-03-10T01:00:00+00:00", "special_hardship": False})

    async with vouchers.client("family", elder_ids=(str(a),)) as family:
        async def a_has_vouchers():
            r = await family.get(f"/wallets/{a}")
            return r.status_code == 200 and len(r.json()["vouchers"]) == 2 and r.json()
        wallet = await wait_for(a_has_vouchers, what="elder A's vouchers")
        assert wallet["month"] == "2026-03"
        by_kind = {v["kind"]: v for v in wallet["vouchers"]}
        assert by_kind["community"]["face_value_fen"] == by_kind["community"]["available_fen"] == 30000  # 低保 grade 2
        assert by_kind["community"]["share_bp"] == 9000 and by_kind["community"]["valid_until"] == "2026-03-31"
        assert by_kind["mutual_aid"]["face_value_fen"] == 10000  # special hardship, living at home
        history = (await family.get(f"/wallets/{a}/history")).json()["entries"]
        assert {e["action_name"] for e in history} == {"发放"}
        assert "2026-03 月社区照护券发放 300.00 元" in [e["description"] for e in history]
        assert (await family.get(f"/wallets/{b}")).status_code == 404  # not their elder

    async def issued(elder):
        return await vouchers.scalar(sa.select(sa.func.count()).select_from(VoucherRow).where(VoucherRow.elder_id == elder))
    await wait_for(lambda: _is(issued(b), 1), what="B's voucher after the assessment")
    async with vouchers.client("city_officer") as city:
        # the three elders' events have different keys, so different partitions: C's may arrive
        # after B's assessment. Wait for C's copy before saying C got nothing
        async def c_known():
            return (await city.get(f"/wallets/{c}")).status_code == 200
        await wait_for(c_known, what="elder C's copy")
        wallet_b = (await city.get(f"/wallets/{b}")).json()["vouchers"]
        assert [(v["kind"], v["face_value_fen"], v["share_bp"]) for v in wallet_b] == [("community", 45000, 10000)]
        assert (await city.get(f"/wallets/{c}")).json()["vouchers"] == []  # no economic hardship: nothing
    events = [e for e in await vouchers.outbox("youfu.voucher.issued.v1") if e["elder_id"] in (str(a), str(b), str(c))]
    assert sorted((e["elder_id"], e["kind"]) for e in events) == sorted(
        [(str(a), "community"), (str(a), "mutual_aid"), (str(b), "community")])

    # a grade change mid-month shows next month; a repeated event issues nothing twice
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.updated.v1", str(a),
                           elder_event(a, district=HAILING, economic="dibao", hardship=True, grade=4))
    await asyncio.sleep(0.5)
    assert await issued(a) == 2


async def _is(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def test_quote_hold_idempotency_and_void_over_http(vouchers):
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=HAILING)
    poor = await register(vouchers, district=HAILING, economic="none", expect_vouchers=0)
    order = uuid.uuid4()
    body = {"order_id": str(order), "elder_id": str(elder), "kind": "community", "price_fen": 6000, "service_code": "meal"}
    async with vouchers.client("service", user_id="svc:orders") as orders:
        quote = (await orders.post("/quotes", json={"elder_id": str(elder), "kind": "community", "price_fen": 6000})).json()
        assert quote == {"kind": "community", "price_fen": 6000, "voucher_fen": 5400, "elder_fen": 600,
                         "share_bp": 9000, "available_fen": 30000}
        first = await orders.post("/holds", json=body, headers={"Idempotency-Key": str(order)})
        again = await orders.post("/holds", json=body, headers={"Idempotency-Key": str(order)})
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        hold = first.json()
        assert hold | {"hold_id": None} == {"hold_id": None, "order_id": str(order), "kind": "community",
                                            "voucher_fen": 5400, "elder_fen": 600, "share_bp": 9000, "status": "held"}
        assert await vouchers.scalar(sa.select(sa.func.count()).select_from(HoldRow).where(HoldRow.order_id == order)) == 1
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["available_fen"], wallet["held_fen"]) == (24600, 5400)

        none = await orders.post("/holds", json=body | {"order_id": str(uuid.uuid4()), "elder_id": str(poor)})
        assert none.status_code == 409 and "没有社区照护券" in none.json()["detail"]
        bad = await orders.post("/holds", json=body | {"order_id": str(uuid.uuid4()), "price_fen": -5})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "price_fen"
        other = body | {"price_fen": 9000}  # the same order with another body
        assert (await orders.post("/holds", json=other, headers={"Idempotency-Key": str(order)})).status_code == 422
        assert (await orders.post("/holds", json=other, headers={"Idempotency-Key": "another-key"})).status_code == 409

        void = await orders.post(f"/holds/{hold['hold_id']}/void")
        assert void.json() == {"hold_id": hold["hold_id"], "status": "released"}
        assert (await orders.post(f"/holds/{hold['hold_id']}/void")).json() == void.json()
        assert (await orders.post(f"/holds/{uuid.uuid4()}/void")).status_code == 404
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["available_fen"], wallet["held_fen"]) == (30000, 0)
    async with vouchers.client("family", elder_ids=(str(elder),)) as family:
        asked = {"kind": "community", "price_fen": 100}
        assert (await family.post("/quotes", json=asked | {"elder_id": str(elder)})).status_code == 200
        assert (await family.post("/quotes", json=asked | {"elder_id": str(poor)})).status_code == 403
        assert (await family.post("/holds", json=body | {"order_id": str(uuid.uuid4())})).status_code == 403
        assert (await family.post(f"/holds/{hold['hold_id']}/void")).status_code == 403
    assert len([e for e in await vouchers.outbox("youfu.voucher.released.v1") if e["order_id"] == str(order)]) == 1


async def test_two_hundred_concurrent_holds_take_exactly_what_the_wallet_has(vouchers):
    """300 yuan at a 100% share (特困, grade 2) covers exactly ten holds of 30 yuan. 200 at once:
    exactly ten succeed, the other 190 get 409 naming the remaining balance (0). A wallet with
    something left covers what it can; the same key sent ten times at once makes one hold."""
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=HAILING, economic="tekun", living="with_family")
    async with vouchers.client("service", user_id="svc:orders") as orders:
        async def hold(order: uuid.UUID, price: int = 3000, key: str | None = None):
            body = {"order_id": str(order), "elder_id": str(elder), "kind": "community", "price_fen": price,
                    "service_code": "bath"}
            return await orders.post("/holds", json=body, headers={"Idempotency-Key": key or str(order)})

        answers = await asyncio.gather(*(hold(uuid.uuid4()) for _ in range(200)))
        ok = [r for r in answers if r.status_code == 201]
        refused = [r for r in answers if r.status_code == 409]
        assert len(ok) == 10 and len(refused) == 190
        assert all(r.json()["voucher_fen"] == 3000 for r in ok)
        assert all(r.json()["available_fen"] == 0 and "余额不足" in r.json()["detail"] for r in refused)
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["available_fen"], wallet["held_fen"]) == (0, 30000)
        # release one hold: 30 yuan back; a 70-yuan order now gets a capped 30-yuan share
        assert (await orders.post(f"/holds/{ok[0].json()['hold_id']}/void")).status_code == 200
        capped = await hold(uuid.uuid4(), price=7000)
        assert capped.status_code == 201 and (capped.json()["voucher_fen"], capped.json()["elder_fen"]) == (3000, 4000)
        assert (await orders.post(f"/holds/{ok[1].json()['hold_id']}/void")).status_code == 200
        twin = uuid.uuid4()
        twins = await asyncio.gather(*(hold(twin, 1000, "same-key") for _ in range(10)))
        assert {r.status_code for r in twins} == {201} and len({r.json()["hold_id"] for r in twins}) == 1
    assert await vouchers.scalar(sa.select(sa.func.count()).select_from(HoldRow).where(HoldRow.elder_id == elder)) == 12


async def test_one_order_sent_under_ten_keys_at_once_makes_one_hold(vouchers):
    """The orders service retrying with fresh keys: the ten requests queue on the wallet's lock,
    taken with BEGIN (D79), and each after the first finds the order's hold and answers it."""
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=HAILING)
    order = uuid.uuid4()
    body = {"order_id": str(order), "elder_id": str(elder), "kind": "community", "price_fen": 3000,
            "service_code": "bath"}
    async with vouchers.client("service", user_id="svc:orders") as orders:
        answers = await asyncio.gather(*(orders.post("/holds", json=body, headers={"Idempotency-Key": f"k{i}"})
                                         for i in range(10)))
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["hold_id"] for r in answers}) == 1
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert wallet["held_fen"] == answers[0].json()["voucher_fen"] > 0
    assert await vouchers.scalar(sa.select(sa.func.count()).select_from(HoldRow).where(HoldRow.order_id == order)) == 1


async def test_capture_and_release_through_the_broker(vouchers):
    vouchers.clock.now = MARCH_10
    elder, provider = await register(vouchers, district=HAILING), uuid.uuid4()
    done, dropped = await place_hold(vouchers, elder, 6000), await place_hold(vouchers, elder, 6000)
    data = completion(done, elder=elder, provider=provider, amount_fen=6000, completed_at="2026-03-10T04:00:00+00:00",
                      district=HAILING)
    await vouchers.publish(ORDERS_TOPIC, "youfu.order.cancelled.v1", dropped["order_id"], {
        "order_id": dropped["order_id"], "elder_id": str(elder), "hold_id": dropped["hold_id"], "reason": "老人临时外出"})
    redeemed = await complete(vouchers, data)
    assert redeemed == {"elder_id": str(elder), "order_id": done["order_id"], "hold_id": done["hold_id"],
                        "amount_fen": 5400, "provider_id": str(provider)}
    again = await vouchers.publish(ORDERS_TOPIC, "youfu.order.completed.v1", done["order_id"], data)  # a second event
    await vouchers.publish(ORDERS_TOPIC, "youfu.order.completed.v1", done["order_id"], data, event_id=again.id)

    async def released():
        return [e for e in await vouchers.outbox("youfu.voucher.released.v1") if e["order_id"] == dropped["order_id"]]
    assert (await wait_for(released, what="voucher.released"))[0]["amount_fen"] == 5400
    async with vouchers.client("service", user_id="svc:orders") as orders:
        captured = await orders.post(f"/holds/{done['hold_id']}/void")
        assert captured.status_code == 409 and captured.json()["current_state"] == "captured"
        assert (await orders.get(f"/holds/{dropped['hold_id']}")).json()["status"] == "released"
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["available_fen"], wallet["held_fen"], wallet["spent_fen"]) == (24600, 0, 5400)
    async with vouchers.client("family", elder_ids=(str(elder),)) as family:
        history = (await family.get(f"/wallets/{elder}/history")).json()["entries"]
        assert {"下单预扣", "服务核销", "释放预扣"} <= {e["action_name"] for e in history}
    await wait_for(lambda: _consumed(vouchers, again.id), what="the second completion handled")
    resolutions = sa.select(sa.func.count()).select_from(TransferRow).where(TransferRow.pending_id == done["hold_id"])
    assert await vouchers.scalar(resolutions) == 1  # captured once
    assert len([e for e in await vouchers.outbox("youfu.voucher.redeemed.v1") if e["order_id"] == done["order_id"]]) == 1


async def _consumed(vouchers, event_id: str) -> bool:
    from shared.kernel_models import InboxRow

    return bool(await vouchers.scalar(sa.select(sa.func.count()).select_from(InboxRow).where(InboxRow.event_id == event_id)))


async def test_capture_never_exceeds_the_hold(vouchers):
    """Orders asks for more than was held: the capture is capped at the hold, never above."""
    vouchers.clock.now = MARCH_10
    elder, provider = await register(vouchers, district=HAILING), uuid.uuid4()
    hold = await place_hold(vouchers, elder, 2000)
    data = completion(hold, elder=elder, provider=provider, amount_fen=9000, voucher_fen=8100,
                      completed_at="2026-03-31T15:59:59+00:00", district=HAILING)
    assert (await complete(vouchers, data))["amount_fen"] == 1800
    async with vouchers.client("city_officer") as city:
        [wallet] = (await city.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["spent_fen"], wallet["available_fen"]) == (1800, 28200)


async def test_no_show_releases_the_hold_like_a_cancellation(vouchers):
    """老人不在家 (issue 24): `order.no_show` gives the whole hold back; nothing is captured."""
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=HAILING)
    missed = await place_hold(vouchers, elder, 6000)
    await vouchers.publish(ORDERS_TOPIC, "youfu.order.no_show.v1", missed["order_id"], {
        "order_id": missed["order_id"], "elder_id": str(elder), "hold_id": missed["hold_id"],
        "provider_id": str(uuid.uuid4()), "district_code": HAILING, "caregiver_id": None,
        "at": "2026-03-10T04:00:00+00:00"})

    async def released():
        return [e for e in await vouchers.outbox("youfu.voucher.released.v1") if e["order_id"] == missed["order_id"]]
    assert (await wait_for(released, what="voucher.released after no_show"))[0]["amount_fen"] == 5400
    async with vouchers.client("service", user_id="svc:orders") as orders:
        assert (await orders.get(f"/holds/{missed['hold_id']}")).json()["status"] == "released"
        [wallet] = (await orders.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["held_fen"], wallet["spent_fen"]) == (0, 0)  # nothing captured
