"""What the orders service does on its own over time: dispatch deadlines that survive a restart,
recurring orders spawned once each (also across a restart and with concurrent spawners), and
monthly 探访关爱 visits planned from elder events with their coverage per district and street."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.orders.models import ElderRow, OfferRow, OrderRow, PlannedVisitRow, RecurringOccurrenceRow
from services.orders.visits import VISIT_CODE
from shared.city import CITY_TZ
from tests.integration.orders_doubles import GAOGANG, HAILING, HOME, north_of, orders_config, orders_env, wait_for

__all__ = ["orders_env"]  # the module fixture, imported for pytest
SHANGHAI = CITY_TZ


async def fresh_db(databases) -> str:
    return await asyncio.to_thread(databases.migrated_url, "orders")


async def test_a_restart_keeps_the_pending_offer_and_its_deadline(orders_env, databases):
    env = orders_env
    db_url = await fresh_db(databases)
    config = orders_config(offer_timeout_s=4)
    code = env.providers.add_item()
    first, second = env.providers.add_candidate(code), env.providers.add_candidate(code)
    elder = env.new_elder()
    app, running = await env.start_orders(db_url, config, broker=False)
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    async with env.client("elder", url=running.url, elder_ids=(elder,)) as c:
        r = await c.post("/orders", json={"elder_id": elder, "service_code": code, "payment": "community",
                                          "window_start": start.isoformat(),
                                          "window_end": (start + timedelta(hours=1)).isoformat()})
        assert r.status_code == 201, r.text
    oid = r.json()["order_id"]

    async def open_offer(url: str, provider: dict):
        async with env.client("provider_admin", url=url, provider_id=provider["provider_id"]) as p:
            return next((o for o in (await p.get("/offers")).json() if o["order_id"] == oid), None)

    before = await wait_for(lambda: open_offer(running.url, first), what="offer to the first provider")
    await running.stop()  # the process goes away with the offer open

    app, running = await env.start_orders(db_url, config, broker=False)
    try:
        after = await open_offer(running.url, first)
        assert after is not None and after["deadline"] == before["deadline"], (before, after)
        assert after["seconds_left"] <= before["seconds_left"]
        # the new process expires it at the stored deadline and moves on
        taken_over = await wait_for(lambda: open_offer(running.url, second), timeout_s=15, what="offer to the second")
        assert datetime.fromisoformat(taken_over["offered_at"]) >= datetime.fromisoformat(before["deadline"])
        async with app.state.ctx.db.sessions() as s:
            outcomes = {str(r.provider_id): r.outcome for r in (await s.execute(
                sa.select(OfferRow).where(OfferRow.order_id == uuid.UUID(oid)))).scalars()}
        assert outcomes == {first["provider_id"]: "expired", second["provider_id"]: "pending"}
    finally:
        await running.stop()


def next_occurrence(now: datetime, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = now.astimezone(SHANGHAI)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (at if at > local else at + timedelta(days=1)).astimezone(timezone.utc)


async def test_recurring_rules_spawn_each_occurrence_once_across_restarts(orders_env, databases):
    env = orders_env
    db_url = await fresh_db(databases)
    config = orders_config()
    code = env.providers.add_item(name="助餐")
    env.providers.add_candidate(code)
    elder, neighbour = env.new_elder(), env.new_elder()
    now = datetime.now(timezone.utc)
    hhmm = (now + timedelta(hours=2)).astimezone(SHANGHAI).strftime("%H:%M")
    today = now.astimezone(SHANGHAI).date()
    rule = {"elder_id": elder, "service_code": code, "weekdays": [1, 2, 3, 4, 5, 6, 7], "time": hhmm,
            "start_date": today.isoformat(), "weeks": 8, "payment": "community", "notes": "少盐"}
    app, running = await env.start_orders(db_url, config, broker=False)
    try:
        async with env.client("family", url=running.url, elder_ids=(elder, neighbour)) as family:
            assert (await family.post("/recurring-orders", json=rule | {"weekdays": [8]})).status_code == 422
            bad = await family.post("/recurring-orders", json=rule | {"weeks": None, "end_date": "2020-01-01"})
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end_date"
            r = await family.post("/recurring-orders", json=rule)
            assert r.status_code == 201 and r.json()["status"] == "active", r.text
            rule_id = r.json()["rule_id"]
            r2 = await family.post("/recurring-orders", json=rule | {"elder_id": neighbour})
            neighbour_rule = r2.json()["rule_id"]
        async with env.client("family", url=running.url, elder_ids=(str(uuid.uuid4()),)) as stranger:
            assert (await stranger.post("/recurring-orders", json=rule)).status_code == 403
            assert (await stranger.get("/recurring-orders")).json() == []
        async with env.client("admin", url=running.url) as admin:
            # several spawners at once (replicas, a manual run): one order per occurrence
            runs = await asyncio.gather(*(admin.post("/recurring-orders/spawn") for _ in range(3)))
            assert sum(r.json()["placed"] for r in runs) == 2, [r.json() for r in runs]
            assert (await admin.post("/recurring-orders/spawn")).json() == {"placed": 0}
    finally:
        await running.stop()
    # a restart: the spawner runs at start and finds nothing new
    app, running = await env.start_orders(db_url, config, broker=False)
    try:
        async with env.client("admin", url=running.url) as admin:
            assert (await admin.post("/recurring-orders/spawn")).json() == {"placed": 0}
        async with app.state.ctx.db.sessions() as s:
            occurrences = list((await s.execute(sa.select(RecurringOccurrenceRow))).scalars())
            orders = list((await s.execute(sa.select(OrderRow).where(OrderRow.kind == "recurring"))).scalars())
        assert len(occurrences) == 2 and len(orders) == 2
        mine = next(o for o in orders if str(o.elder_id) == elder)
        assert mine.window_start == next_occurrence(now, hhmm) and str(mine.recurring_rule_id) == rule_id
        assert mine.notes == "少盐" and mine.voucher_fen == 5400
        assert len([b for _, p, b in env.vouchers.calls if p == "/holds" and b["order_id"] == str(mine.id)]) == 1
        async with env.client("family", url=running.url, elder_ids=(elder,)) as family:
            listed = (await family.get("/orders", params={"elder_id": elder})).json()
            assert [o["kind"] for o in listed] == ["recurring"]
            assert [r["rule_id"] for r in (await family.get("/recurring-orders")).json()] == [rule_id]
            assert (await family.post(f"/recurring-orders/{rule_id}/pause")).json()["status"] == "paused"
            assert (await family.post(f"/recurring-orders/{rule_id}/resume")).json()["status"] == "active"
            ended = (await family.delete(f"/recurring-orders/{rule_id}")).json()
            assert ended["status"] == "ended" and ended["end_date"] == today.isoformat()
            assert (await family.delete(f"/recurring-orders/{neighbour_rule}")).status_code == 404
            r = await family.post(f"/recurring-orders/{rule_id}/resume")
            assert r.status_code == 409 and r.json()["current_state"] == "ended"
    finally:
        await running.stop()


def elder_facts(elder: str, *, district: str, street: str, hardship: bool, home=HOME) -> dict:
    return {"elder_id": elder, "district_code": district, "street": street, "economic_status": "dibao",
            "living_situation": "alone", "lat": home[0], "lon": home[1], "special_hardship": hardship,
            "status": "active", "grade": 3, "birth_date": "1940-05-01", "name": "王秀英",
            "address": f"{street}街道和平里 5 号"}


async def test_monthly_visits_are_planned_once_per_hardship_elder_and_coverage_counts_them(orders_env):
    env = orders_env
    env.providers.add_item(code=VISIT_CODE, name="探访关爱", price_fen=3000, voucher_kinds=("mutual_aid",))
    visitor = env.providers.add_candidate(VISIT_CODE)
    east, west, gaogang, not_due = (str(uuid.uuid4()) for _ in range(4))
    for elder, district, street, hardship in ((east, HAILING, "城东", True), (west, HAILING, "城西", True),
                                              (gaogang, GAOGANG, "口岸", True), (not_due, HAILING, "城东", False)):
        await env.publish("youfu.assessment", "youfu.elder.registered.v1", elder,
                          elder_facts(elder, district=district, street=street, hardship=hardship))

    async def copies() -> bool:
        return await env.scalar(sa.select(sa.func.count()).select_from(ElderRow).where(
            ElderRow.elder_id.in_([uuid.UUID(e) for e in (east, west, gaogang, not_due)]))) == 4

    await wait_for(copies, timeout_s=30, what="the elder copies from events")
    month = datetime.now(timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m")
    async with env.client("family", elder_ids=(east,)) as family:
        assert (await family.post("/visit-plans", json={"month": month})).status_code == 403
    async with env.client("officer", district=HAILING) as officer:
        assert (await officer.post("/visit-plans", json={"month": "2020-01"})).status_code == 422
        assert (await officer.post("/visit-plans", json={"month": month, "district_code": GAOGANG})).status_code == 403
    async with env.client("city_officer") as city:
        r = await city.post("/visit-plans", json={"month": month})
        assert r.status_code == 201, r.text
        assert (r.json()["planned"], r.json()["orders_placed"], r.json()["failed"]) == (3, 3, [])
    async with env.client("officer", district=HAILING) as officer:
        again = (await officer.post("/visit-plans", json={"month": month})).json()
        assert (again["planned"], again["already_planned"], again["orders_placed"]) == (0, 2, 0)
        cov = (await officer.get("/visit-coverage", params={"month": month})).json()
        assert (cov["required"], cov["visited"], cov["ratio"]) == (2, 0, 0.0)
        assert (await officer.get("/visit-coverage", params={"district_code": GAOGANG})).status_code == 403
    async with env.db.sessions() as s:
        visits = {str(v.elder_id): v for v in (await s.execute(sa.select(PlannedVisitRow))).scalars()}
        order = await s.get(OrderRow, visits[east].order_id)
    assert set(visits) == {east, west, gaogang} and order.kind == "visit" and order.service_code == VISIT_CODE
    assert (order.price_fen, order.voucher_fen, order.hold_id, order.payment) == (0, 0, None, "self_pay")
    assert order.window_start.astimezone(SHANGHAI).strftime("%Y-%m") == month
    # the visit to the elder in 城东 is dispatched, made and checked out like any order
    oid = str(order.id)
    await wait_for(lambda: _pending_offer(env, oid), what="visit offer")
    async with env.client("caregiver", provider_id=visitor["provider_id"], caregiver_id=visitor["caregiver_id"]) as cg:
        assert (await cg.post(f"/orders/{oid}/accept", json={})).status_code == 200
        at = north_of(HOME, 30)
        assert (await cg.post(f"/orders/{oid}/check-in", json={"lat": at[0], "lon": at[1]})).status_code == 200
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": "探访，老人精神好，血压正常",
                                                             "unconfirmed_reason": "老人没有手机"})
        assert r.status_code == 200 and r.json()["summary"] == "探访关爱服务由民政项目承担，老人无需付费", r.text
    async with env.client("officer", district=HAILING) as officer:
        cov = (await officer.get("/visit-coverage", params={"month": month})).json()
        assert (cov["required"], cov["visited"], cov["ratio"]) == (2, 1, 0.5)
        [hailing] = cov["districts"]
        streets = {s["street"]: (s["required"], s["visited"]) for s in hailing["streets"]}
        assert streets == {"城东": (1, 1), "城西": (1, 0)}
    # an elder who becomes special hardship mid-month is due at once, and planned on the next run
    await env.publish("youfu.assessment", "youfu.elder.updated.v1", not_due,
                      elder_facts(not_due, district=HAILING, street="城东", hardship=True) | {
                          "changed_fields": ["special_hardship"]})

    async def now_due():
        async with env.client("city_officer") as city:
            cov = (await city.get("/visit-coverage", params={"month": month})).json()
            return cov if cov["required"] == 4 else None

    cov = await wait_for(now_due, timeout_s=30, what="the newly due elder")
    assert cov["visited"] == 1 and {d["district_code"] for d in cov["districts"]} == {HAILING, GAOGANG}
    async with env.client("city_officer") as city:
        r = (await city.post("/visit-plans", json={"month": month, "district_code": HAILING})).json()
        assert (r["planned"], r["orders_placed"]) == (1, 1)


async def _pending_offer(env, order_id: str):
    return await env.scalar(sa.select(OfferRow.id).where(OfferRow.order_id == uuid.UUID(order_id),
                                                         OfferRow.outcome == "pending"))
