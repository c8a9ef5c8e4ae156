"""Care plans reach orders as assessment's `youfu.careplan.*` events (issue 21): activation makes
one recurring rule per item exactly once, the item's provider is offered the spawned order first,
replacing the plan ends its rules and cancels their orders ahead through the cancellation path
(order.cancelled, the hold voided), and planned against delivered counts a month within the
caller's scope."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from services.orders.dispatch.dispatcher import EXPIRED_UNMATCHED_REASON
from services.orders.models import OfferRow, OrderRow, RecurringRuleRow
from services.orders.rules.recurrence import YearMonth, local_to_utc
from shared.city import CITY_TZ
from shared.kernel_models import DeadLetterRow, InboxRow
from tests.integration.orders_doubles import GAOGANG, HAILING, HOME, orders_env, wait_for

__all__ = ["orders_env"]  # the module fixture, imported for pytest

ACTIVATED, REPLACED = "youfu.careplan.activated.v1", "youfu.careplan.replaced.v1"


async def plan_rules(env, plan_id: str) -> list[RecurringRuleRow]:
    async with env.db.sessions() as s:
        return list((await s.execute(sa.select(RecurringRuleRow).where(
            RecurringRuleRow.source_plan_id == uuid.UUID(plan_id)).order_by(RecurringRuleRow.source_item_id))).scalars())


async def consumed(env, event_id: str) -> bool:
    return await env.scalar(sa.select(sa.func.count()).select_from(InboxRow).where(InboxRow.event_id == event_id)) == 1


def past_order(rule: RecurringRuleRow, day: date, state: str, *, reason: str | None = None) -> OrderRow:
    """An order the rule spawned last month, in its final state (written directly: the count is
    under test here, not the spawner, which never places in the past)."""
    hour, minute = (int(x) for x in rule.local_time.split(":"))
    start = local_to_utc(day, time(hour, minute))
    return OrderRow(
        id=uuid.uuid4(), kind="recurring", elder_id=rule.elder_id, district_code=rule.district_code, street="城东",
        service_code=rule.service_code, service_name="助餐", price_fen=6000, voucher_fen=0, elder_fen=6000,
        payment="self_pay", window_start=start, window_end=start + timedelta(minutes=rule.duration_min),
        address="海陵区城东街道幸福小区 3 幢 201", lat=HOME[0], lon=HOME[1], notes="", state=state,
        dispatch_mode="sequential", grab_size=1, unmatched_count=0, recurring_rule_id=rule.id,
        cancel_reason=reason, placed_by=f"recurring:{rule.id}", placed_by_role="service", created_at=start,
        updated_at=start)


async def test_a_plan_becomes_rules_once_is_counted_in_scope_and_replacing_it_cancels_what_lies_ahead(orders_env):
    env = orders_env
    meals, bath = env.providers.add_item(name="助餐"), env.providers.add_item(name="助浴", code=f"bath-{uuid.uuid4().hex[:6]}")
    nearest = env.providers.add_candidate(meals)
    chosen = env.providers.add_candidate(meals)  # ranked second, but the plan chose it
    bath_provider = env.providers.add_candidate(bath)
    elder, other = env.new_elder(), env.new_elder()
    now = datetime.now(timezone.utc)
    today = now.astimezone(CITY_TZ).date()
    last_month = YearMonth.of(now.astimezone(CITY_TZ).replace(day=1) - timedelta(days=1))
    at = (now + timedelta(hours=2)).astimezone(CITY_TZ).strftime("%H:%M")
    plan_id = str(uuid.uuid4())
    activated = {
        "plan_id": plan_id, "elder_id": elder, "version": 1, "start_date": last_month.first_day.isoformat(),
        "review_date": (today + timedelta(days=180)).isoformat(), "district_code": HAILING, "lat": HOME[0],
        "lon": HOME[1], "address": "海陵区城东街道幸福小区 3 幢 201",
        "items": [
            {"item_id": "a-meals", "service_code": meals, "provider_id": chosen["provider_id"], "duration_min": 60,
             "frequency": {"type": "weekly", "weekdays": [1, 2, 3, 4, 5, 6, 7], "time": at},
             "voucher_kind": "community", "unit_price_fen": 6000},
            {"item_id": "b-bath", "service_code": bath, "provider_id": bath_provider["provider_id"], "duration_min": 90,
             "frequency": {"type": "per_month", "count": 4, "time": "09:00"}, "voucher_kind": "self_pay",
             "unit_price_fen": 8000},
        ]}

    # activation: delivered twice, and a second copy with its own id: two rules, made once
    first = await env.publish("youfu.assessment", ACTIVATED, elder, activated)
    await env.publish("youfu.assessment", ACTIVATED, elder, activated, event_id=first.id)
    copy = await env.publish("youfu.assessment", ACTIVATED, elder, activated)
    await wait_for(lambda: consumed(env, copy.id), timeout_s=30, what="the second copy of the activation")
    rules = await plan_rules(env, plan_id)
    assert [(r.source_item_id, r.weekdays, r.month_days, r.local_time, r.payment, str(r.preferred_provider_id),
             r.status, r.start_date, r.end_date) for r in rules] == [
        ("a-meals", [1, 2, 3, 4, 5, 6, 7], [], at, "community", chosen["provider_id"], "active",
         last_month.first_day, None),
        ("b-bath", [], [4, 11, 18, 25], "09:00", "self_pay", bath_provider["provider_id"], "active",
         last_month.first_day, None)]
    meals_rule, bath_rule = rules

    # last month: 4 of the meals delivered, 2 cancelled, 2 unmatched; 2 of the 4 baths
    d = last_month.first_day
    async with env.db.transaction() as s:
        s.add_all([past_order(meals_rule, d + timedelta(days=i), "completed") for i in range(3)]
                  + [past_order(meals_rule, d + timedelta(days=3), "settled"),
                     past_order(meals_rule, d + timedelta(days=4), "cancelled", reason="老人住院"),
                     past_order(meals_rule, d + timedelta(days=5), "cancelled", reason="老人住院"),
                     past_order(meals_rule, d + timedelta(days=6), "cancelled", reason=EXPIRED_UNMATCHED_REASON),
                     past_order(meals_rule, d + timedelta(days=7), "unmatched"),
                     past_order(bath_rule, d + timedelta(days=3), "completed"),
                     past_order(bath_rule, d + timedelta(days=10), "settled")])
    days = last_month.last_day.day
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.get("/plan-delivery", params={"elder_id": elder, "month": str(last_month)})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["planned"], answer["due"], answer["placed"], answer["completed"], answer["missed"]) == (
        days + 4, days + 4, 10, 6, {"cancelled": 2, "unmatched": 2, "no_show": 0})
    assert answer["summary_zh"] == f"本月计划 {days + 4} 次，已完成 6 次"
    by_item = {i["item_id"]: i for i in answer["items"]}
    assert (by_item["a-meals"]["planned"], by_item["a-meals"]["completed"], by_item["a-meals"]["missed"]) == (
        days, 4, {"cancelled": 2, "unmatched": 2, "no_show": 0})
    assert (by_item["b-bath"]["planned"], by_item["b-bath"]["completed"], by_item["b-bath"]["placed"]) == (4, 2, 2)

    # scope: another family, another district's officer see no plan; the bath provider its item only
    async def delivery(role: str, **principal) -> dict:
        async with env.client(role, **principal) as c:
            r = await c.get("/plan-delivery", params={"elder_id": elder, "month": str(last_month)})
        assert r.status_code == 200, r.text
        return r.json()

    for role, principal in (("family", {"elder_ids": (other,)}), ("elder", {"elder_ids": (other,)}),
                            ("officer", {"district": GAOGANG}), ("provider_admin", {"provider_id": nearest["provider_id"]})):
        seen = await delivery(role, **principal)
        assert (seen["planned"], seen["items"]) == (0, []), role
    bath_side = await delivery("provider_admin", provider_id=bath_provider["provider_id"])
    assert [i["item_id"] for i in bath_side["items"]] == ["b-bath"]
    assert (await delivery("officer", district=HAILING))["planned"] == days + 4
    async with env.client("assessor", district=HAILING) as c:
        assert (await c.get("/plan-delivery", params={"elder_id": elder})).status_code == 403

    # the bureau: the elder is under 80 % of the plan last month
    async with env.client("officer", district=HAILING) as officer:
        r = await officer.get("/plan-delivery/summary", params={"month": str(last_month)})
        assert r.status_code == 200, r.text
        summary = r.json()
        assert (await officer.get("/plan-delivery/summary", params={"district_code": GAOGANG})).status_code == 403
    assert elder in {e["elder_id"] for e in summary["elders_below"]}
    assert {p["provider_id"] for p in summary["by_provider"]} >= {chosen["provider_id"], bath_provider["provider_id"]}
    assert [x["district_code"] for x in summary["by_district"]] == [HAILING]

    # the chosen provider's schedule from plans: the meals every day of the week
    week = {"from": today.isoformat(), "to": (today + timedelta(days=6)).isoformat()}
    async with env.client("provider_admin", provider_id=chosen["provider_id"]) as c:
        r = await c.get("/plan-schedule", params=week)
        assert r.status_code == 200, r.text
        assert (await c.get("/plan-schedule", params=week | {"provider_id": bath_provider["provider_id"]})).status_code == 403
    schedule = [o for o in r.json()["occurrences"] if o["elder_id"] == elder]
    assert len(schedule) == 7 and {o["item_id"] for o in schedule} == {"a-meals"}

    # the spawner places the next meal; the plan's provider is offered it first
    async with env.client("admin") as admin:
        assert (await admin.post("/recurring-orders/spawn")).json()["placed"] >= 1
    spawned = await env.scalar(sa.select(OrderRow.id).where(
        OrderRow.recurring_rule_id == meals_rule.id, OrderRow.window_start > now))
    assert await env.scalar(sa.select(OrderRow.preferred_provider_id).where(OrderRow.id == spawned)) == uuid.UUID(
        chosen["provider_id"])

    async def first_offer():
        return await env.scalar(sa.select(OfferRow.provider_id).where(OfferRow.order_id == spawned)
                                .order_by(OfferRow.offered_at, OfferRow.rank).limit(1))

    assert str(await wait_for(first_offer, what="the spawned meal offered")) == chosen["provider_id"]
    assert env.vouchers.holds[str(spawned)]["status"] == "held"

    # the plan is replaced from today: rules end yesterday, the meal ahead is cancelled, its hold voided
    replaced = {"plan_id": plan_id, "replaced_by": str(uuid.uuid4()), "elder_id": elder,
                "effective_date": today.isoformat()}
    event = await env.publish("youfu.assessment", REPLACED, elder, replaced)
    await wait_for(lambda: consumed(env, event.id), timeout_s=30, what="the replacement consumed")
    rules = await plan_rules(env, plan_id)
    assert {(r.status, r.end_date, r.end_reason) for r in rules} == {
        ("ended", today - timedelta(days=1), "照护计划已更新")}
    reason = f"照护计划已更新（{today.isoformat()}），订单自动取消"
    async with env.db.sessions() as s:
        order = await s.get(OrderRow, spawned)
    assert (order.state, order.cancel_reason, order.cancelled_by) == ("cancelled", reason, "platform")
    cancelled = [e for e in await env.outbox("youfu.order.cancelled.v1") if e["elder_id"] == elder]
    assert [(e["order_id"], e["hold_id"], e["reason"]) for e in cancelled] == [
        (str(spawned), env.vouchers.holds[str(spawned)]["hold_id"], reason)]

    async def released():
        return env.vouchers.holds[str(spawned)]["status"] == "released"

    await wait_for(released, what="the hold voided after the commit")
    assert env.vouchers.count("POST", f"/holds/{env.vouchers.holds[str(spawned)]['hold_id']}/void") >= 1

    # a redelivered replacement changes nothing; last month's count stands (the rules ran then)
    await env.publish("youfu.assessment", REPLACED, elder, replaced, event_id=event.id)
    again = await env.publish("youfu.assessment", REPLACED, elder, replaced)
    await wait_for(lambda: consumed(env, again.id), what="a second copy of the replacement")
    assert len([e for e in await env.outbox("youfu.order.cancelled.v1") if e["elder_id"] == elder]) == 1
    assert (await delivery("family", elder_ids=(elder,)))["planned"] == days + 4
    async with env.client("family", elder_ids=(elder,)) as family:
        now_month = (await family.get("/plan-delivery", params={"elder_id": elder})).json()
    # this month: only the days before today were planned, and the cancelled meal does not count
    assert now_month["planned"] == (today.day - 1) + sum(1 for x in (4, 11, 18, 25) if x < today.day)
    assert now_month["missed"]["cancelled"] == 0
    assert await env.scalar(sa.select(sa.func.count()).select_from(DeadLetterRow)) == 0
