"""An elder's death or move out of the city reaches orders as `youfu.elder.updated.v1` (issue 20):
recurring rules end, orders from the real date on that nobody started are cancelled through the
cancellation path (order.cancelled published, the voucher hold voided), no visit is planned for
the elder any more, and a redelivered event changes nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa

from services.orders.models import ElderRow, OfferRow, OrderRow, PlannedVisitRow, RecurringRuleRow
from services.orders.visits import VISIT_CODE
from shared.city import CITY_TZ
from shared.kernel_models import DeadLetterRow, InboxRow
from tests.integration.orders_doubles import HAILING, HOME, north_of, orders_env, shanghai, wait_for

__all__ = ["orders_env"]  # the module fixture, imported for pytest


async def place(env, elder: str, code: str, start: datetime) -> dict:
    async with env.client("family", elder_ids=(elder,)) as c:
        r = await c.post("/orders", json={"elder_id": elder, "service_code": code, "payment": "community",
                                          "window_start": shanghai(start),
                                          "window_end": shanghai(start + timedelta(hours=1))},
                         headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


async def pending_offer(env, order_id: str):
    return await env.scalar(sa.select(OfferRow.id).where(OfferRow.order_id == uuid.UUID(order_id),
                                                         OfferRow.outcome == "pending"))


async def accept(env, candidate: dict, order_id: str) -> None:
    await wait_for(lambda: pending_offer(env, order_id), what=f"an offer for {order_id}")
    async with env.client("caregiver", provider_id=candidate["provider_id"],
                          caregiver_id=candidate["caregiver_id"]) as cg:
        r = await cg.post(f"/orders/{order_id}/accept", json={})
    assert r.status_code == 200, r.text


async def snapshot(env, elder: str) -> dict:
    """Everything the departure may write for one elder, to compare before and after a redelivery."""
    async with env.db.sessions() as s:
        orders = {str(o.id): (o.state, o.cancel_reason, o.updated_at) for o in (await s.execute(
            sa.select(OrderRow).where(OrderRow.elder_id == uuid.UUID(elder)))).scalars()}
        rules = {str(r.id): (r.status, r.end_date, r.end_reason, r.updated_at) for r in (await s.execute(
            sa.select(RecurringRuleRow).where(RecurringRuleRow.elder_id == uuid.UUID(elder)))).scalars()}
    cancelled = [e for e in await env.outbox("youfu.order.cancelled.v1") if e["elder_id"] == elder]
    return {"orders": orders, "rules": rules, "cancelled": len(cancelled),
            "voids": env.vouchers.count("POST", "/holds/")}


async def test_a_death_dated_last_week_ends_rules_cancels_open_orders_and_releases_their_holds(orders_env):
    env = orders_env
    code = env.providers.add_item(name="助餐")
    candidate = env.providers.add_candidate(code)
    env.providers.add_item(code=VISIT_CODE, name="探访关爱", price_fen=0, voucher_kinds=())
    env.providers.add_candidate(VISIT_CODE)
    elder, neighbour = env.new_elder(hardship=True), env.new_elder(hardship=True)
    now = datetime.now(timezone.utc)
    today = now.astimezone(CITY_TZ).date()

    offered = await place(env, elder, code, now + timedelta(days=2))
    accepted = await place(env, elder, code, now + timedelta(hours=3))
    await accept(env, candidate, accepted["order_id"])
    started = await place(env, elder, code, now + timedelta(hours=1))
    await accept(env, candidate, started["order_id"])
    done = await place(env, elder, code, now + timedelta(hours=1, minutes=30))
    await accept(env, candidate, done["order_id"])
    near = north_of(HOME, 20)
    async with env.client("caregiver", provider_id=candidate["provider_id"],
                          caregiver_id=candidate["caregiver_id"]) as cg:
        for oid in (started["order_id"], done["order_id"]):
            r = await cg.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})
            assert r.status_code == 200, r.text
        r = await cg.post(f"/orders/{done['order_id']}/check-out", json={"record": "送餐一份",
                                                                       "unconfirmed_reason": "老人没有手机"})
        assert r.json()["state"] == "completed", r.text
    await wait_for(lambda: pending_offer(env, offered["order_id"]), what="the offer of the order in two days")

    at = (now + timedelta(hours=2)).astimezone(CITY_TZ).strftime("%H:%M")
    rule = {"elder_id": elder, "service_code": code, "weekdays": [1, 2, 3, 4, 5, 6, 7], "time": at,
            "start_date": today.isoformat(), "weeks": 8, "payment": "community"}
    async with env.client("family", elder_ids=(elder,)) as family:
        meals = (await family.post("/recurring-orders", json=rule)).json()
        paused = (await family.post("/recurring-orders", json=rule | {"time": "07:00"})).json()
        r = await family.post(f"/recurring-orders/{paused['rule_id']}/pause")
        assert r.json()["status"] == "paused", r.text
    async with env.client("admin") as admin:
        assert (await admin.post("/recurring-orders/spawn")).json()["placed"] >= 1
    async with env.db.sessions() as s:
        spawned = (await s.execute(sa.select(OrderRow).where(
            OrderRow.recurring_rule_id == uuid.UUID(meals["rule_id"])))).scalar_one()
    spawned_id, spawned_hold = str(spawned.id), str(spawned.hold_id)
    holds = {o["order_id"]: o["hold_id"] for o in (offered, accepted, started, done)} | {spawned_id: spawned_hold}
    assert all(env.vouchers.holds[oid]["status"] == "held" for oid in holds)

    died = today - timedelta(days=7)
    event = {"elder_id": elder, "name": "张桂兰", "district_code": HAILING, "street": "城东",
             "special_hardship": True, "status": "deceased", "status_date": died.isoformat(),
             "changed_fields": ["status", "status_date"], "change_source": None}
    first = await env.publish("youfu.assessment", "youfu.elder.updated.v1", elder, event)

    async def rules_ended():
        return await env.scalar(sa.select(sa.func.count()).select_from(RecurringRuleRow).where(
            RecurringRuleRow.elder_id == uuid.UUID(elder), RecurringRuleRow.status == "ended")) == 2

    await wait_for(rules_ended, timeout_s=30, what="the elder's rules ended")
    reason = f"老人已故（{died.isoformat()}），订单自动取消"
    cancelled_ids = {offered["order_id"], accepted["order_id"], spawned_id}
    async with env.db.sessions() as s:
        orders = {str(o.id): o for o in (await s.execute(
            sa.select(OrderRow).where(OrderRow.elder_id == uuid.UUID(elder)))).scalars()}
        rules = {str(r.id): r for r in (await s.execute(
            sa.select(RecurringRuleRow).where(RecurringRuleRow.elder_id == uuid.UUID(elder)))).scalars()}
        offers = {(str(o.order_id), o.outcome) for o in (await s.execute(
            sa.select(OfferRow).where(OfferRow.order_id.in_([uuid.UUID(i) for i in cancelled_ids])))).scalars()}
        copy = await s.get(ElderRow, uuid.UUID(elder))
    assert copy.status == "deceased"
    for oid in cancelled_ids:
        assert (orders[oid].state, orders[oid].cancel_reason, orders[oid].cancelled_by) == (
            "cancelled", reason, "platform"), oid
    assert orders[started["order_id"]].state == "in_service" and orders[done["order_id"]].state == "completed"
    # the open offer is revoked, the accepted one stays on record, as a person's cancellation does
    assert (offered["order_id"], "revoked") in offers and (offered["order_id"], "pending") not in offers
    assert (accepted["order_id"], "accepted") in offers
    # the rule that had not run before the date keeps its dates; both carry the reason
    assert {(r.status, r.end_reason) for r in rules.values()} == {("ended", "老人已故")}
    assert rules[meals["rule_id"]].end_date.isoformat() == meals["end_date"]

    published = {e["order_id"]: e for e in await env.outbox("youfu.order.cancelled.v1") if e["elder_id"] == elder}
    assert set(published) == cancelled_ids
    assert all((e["hold_id"], e["reason"], e["cancelled_by"]) == (holds[oid], reason, "platform")
               for oid, e in published.items())

    async def holds_released():
        return all(env.vouchers.holds[oid]["status"] == "released" for oid in cancelled_ids)

    await wait_for(holds_released, what="the holds voided after the commit")
    assert env.vouchers.holds[started["order_id"]]["status"] == "held"  # captured when it completes
    assert env.vouchers.holds[done["order_id"]]["status"] == "held"

    # no new orders: the spawner skips the ended rules, a new order is refused, no visit is planned
    before = await snapshot(env, elder)
    async with env.client("admin") as admin:
        assert (await admin.post("/recurring-orders/spawn")).status_code == 200
    async with env.client("family", elder_ids=(elder,)) as family:
        start = now + timedelta(days=1)
        r = await family.post("/orders", json={"elder_id": elder, "service_code": code, "payment": "community",
                                               "window_start": shanghai(start),
                                               "window_end": shanghai(start + timedelta(hours=1))})
        assert r.status_code == 422 and "不能下单" in r.json()["detail"], r.text
    async with env.client("family", elder_ids=(neighbour,)) as family:  # the neighbour gets a copy too
        assert (await family.post("/recurring-orders", json=rule | {"elder_id": neighbour})).status_code == 201
    async with env.client("city_officer") as city:
        plan = (await city.post("/visit-plans", json={"month": today.strftime("%Y-%m")})).json()
        assert plan["planned"] == 1, plan
    async with env.db.sessions() as s:
        planned = {str(v.elder_id) for v in (await s.execute(sa.select(PlannedVisitRow))).scalars()}
    assert elder not in planned and neighbour in planned

    # a redelivery and a second copy of the event change nothing
    await env.publish("youfu.assessment", "youfu.elder.updated.v1", elder, event, event_id=first.id)
    second = await env.publish("youfu.assessment", "youfu.elder.updated.v1", elder, event)

    async def second_seen():
        return await env.scalar(sa.select(sa.func.count()).select_from(InboxRow).where(
            InboxRow.event_id == second.id)) == 1

    await wait_for(second_seen, what="the second copy consumed")
    assert await snapshot(env, elder) == before
    assert await env.scalar(sa.select(sa.func.count()).select_from(DeadLetterRow)) == 0


async def test_a_move_cancels_from_midnight_of_its_date_in_shanghai(orders_env):
    env = orders_env
    code = env.providers.add_item(name="助浴")
    env.providers.add_candidate(code)
    elder = env.new_elder()
    now = datetime.now(timezone.utc)
    moves_on = now.astimezone(CITY_TZ).date() + timedelta(days=2)
    midnight = datetime.combine(moves_on, time(0), tzinfo=CITY_TZ)
    day_before = await place(env, elder, code, midnight - timedelta(hours=14))  # 10:00 the day before
    last_minute = await place(env, elder, code, midnight - timedelta(minutes=1))
    at_midnight = await place(env, elder, code, midnight)
    later = await place(env, elder, code, midnight + timedelta(days=3, hours=9))
    await env.publish("youfu.assessment", "youfu.elder.updated.v1", elder,
                      {"elder_id": elder, "status": "moved_away", "status_date": moves_on.isoformat(),
                       "changed_fields": ["status", "status_date"]})

    async def state(order: dict) -> str:
        return await env.scalar(sa.select(OrderRow.state).where(OrderRow.id == uuid.UUID(order["order_id"])))

    async def cancelled():
        return await state(later) == "cancelled"

    await wait_for(cancelled, timeout_s=30, what="the move's cancellations")
    assert await state(at_midnight) == "cancelled"
    assert await state(day_before) != "cancelled" and await state(last_minute) != "cancelled"
    reason = await env.scalar(sa.select(OrderRow.cancel_reason).where(
        OrderRow.id == uuid.UUID(at_midnight["order_id"])))
    assert reason == f"老人已迁出（{moves_on.isoformat()}），订单自动取消"
    await wait_for(lambda: _released(env, at_midnight), what="the hold voided")
    assert env.vouchers.holds[day_before["order_id"]]["status"] == "held"


async def _released(env, order: dict) -> bool:
    return env.vouchers.holds[order["order_id"]]["status"] == "released"
