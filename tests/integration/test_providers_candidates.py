"""Nearest-qualified candidates end to end: ranking and every filter (skill, radius, load, service
area, suspension, documents, excluded providers, gender, hours, volunteers), the index against the
exhaustive scan and a brute force on random data, and another replica catching up from the
database. Real HTTP, a real database; loads and ratings arrive through a real broker."""
from __future__ import annotations

import uuid
from datetime import timedelta

from services.providers.models import OrderLoadRow
from shared.city import local_day
from tests.integration.providers_harness import (
    GAOGANG,
    HAILING,
    START,
    add_caregiver,
    approved_provider,
    clock_reset,
    moved,
    names,
    new_spot,
    providers,
    start_providers,
    wait_for,
)

__all__ = ["providers", "clock_reset"]  # module fixtures, imported for pytest
SHANGHAI_TUESDAY_3PM, SHANGHAI_TUESDAY_9AM = "2026-03-10T15:00:00+08:00", "2026-03-10T09:00:00+08:00"


async def test_candidates_are_ranked_and_each_rule_filters(providers):
    spot = new_spot()
    a = await approved_provider(providers, at=moved(spot, 200), items={"meal": 1200, "clean": 3500}, name="甲中心")
    b = await approved_provider(providers, at=moved(spot, -200), items={"meal": 1000}, name="乙中心")
    busy = await add_caregiver(providers, a, at=moved(spot, 200), name="忙", daily_limit=1)
    near = await add_caregiver(providers, a, at=moved(spot, 300), name="近", skills=("meal", "clean"))
    await add_caregiver(providers, b, at=moved(spot, east_m=800), name="乙一", gender="male")
    mid = await add_caregiver(providers, a, at=moved(spot, 1500), name="中", working_hours=[
        {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "12:00"}])
    await add_caregiver(providers, b, at=moved(spot, 4_000), name="远", service_radius_m=4_500)
    await add_caregiver(providers, a, at=moved(spot, 100), name="只会助洁", skills=("clean",))
    await add_caregiver(providers, a, at=moved(spot, 3_000), name="够不着", service_radius_m=2_000)
    where = {"lat": spot[0], "lon": spot[1]}

    found = await providers.candidates(service_code="meal", **where)
    assert names(found) == ["忙", "近", "乙一", "中", "远"]  # equal ratings and loads: nearest first
    assert [round(c["distance_m"], -1) for c in found] == [200, 300, 800, 1500, 3990]  # on the ellipsoid
    assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)
    first = found[0]
    assert first["provider_name"] == "甲中心" and first["price_fen"] == 1200 and first["voucher_kinds"] == ["community"]
    assert abs(sum(first["score_parts"].values()) - first["score"]) < 1e-3 and first["rating"] is None
    assert names(await providers.candidates(service_code="clean", **where)) == ["只会助洁", "近"]
    assert names(await providers.candidates(service_code="meal", k=2, **where)) == ["忙", "近"]
    assert names(await providers.candidates(service_code="meal", exclude_providers=f"{b},{uuid.uuid4()}",
                                            **where)) == ["忙", "近", "中"]
    assert names(await providers.candidates(service_code="meal", gender="male", **where)) == ["乙一"]
    assert "中" not in names(await providers.candidates(service_code="meal", at=SHANGHAI_TUESDAY_3PM, **where))
    assert "中" in names(await providers.candidates(service_code="meal", at=SHANGHAI_TUESDAY_9AM, **where))
    again = await providers.candidates(service_code="meal", previous_caregivers=mid, **where)
    assert names(again).index("中") < names(again).index("乙一")  # continuity: served this elder before
    assert next(c for c in again if c["caregiver_name"] == "中")["score_parts"]["continuity"] == 0.15

    # today's load from the orders' events through the broker: full, then free again
    order = str(uuid.uuid4())
    await providers.publish("youfu.order.accepted.v1", {"order_id": order, "elder_id": str(uuid.uuid4()),
                                                        "provider_id": a, "caregiver_id": busy})
    await wait_for(lambda: _lacks(providers, "忙", service_code="meal", **where), what="a full caregiver to drop out")
    async with providers.client("provider_admin", provider_id=a) as own:
        assert (await own.get(f"/caregivers/{busy}")).json()["today_load"] == 1
    await providers.publish("youfu.order.cancelled.v1", {"order_id": order, "elder_id": str(uuid.uuid4()),
                                                         "provider_id": a, "reason": "老人取消"})
    await wait_for(lambda: _has(providers, "忙", service_code="meal", **where), what="a freed caregiver to come back")
    # an order for another day counts on that day: once applied, today's load is still 0
    later_order, later = uuid.uuid4(), providers.clock.now + timedelta(days=2)
    await providers.publish("youfu.order.accepted.v1", {"order_id": str(later_order), "elder_id": str(uuid.uuid4()),
                                                        "provider_id": a, "caregiver_id": busy,
                                                        "window_start": later.isoformat()})

    async def load_row():
        async with providers.db.sessions() as s:
            return await s.get(OrderLoadRow, later_order)

    row = await wait_for(load_row, what="the later order's load to be recorded")
    assert row.day == (later + timedelta(hours=8)).date() and str(row.caregiver_id) == busy
    async with providers.client("provider_admin", provider_id=a) as own:
        assert (await own.get(f"/caregivers/{busy}")).json()["today_load"] == 0
    assert "忙" in names(await providers.candidates(service_code="meal", **where))

    # the provider's own service area: a radius around its address, and/or named streets
    async with providers.client("provider_admin", provider_id=a) as own:
        assert (await own.put(f"/providers/{a}/service-area", json={"radius_m": 500})).status_code == 200
        outside = moved(spot, -1_000)  # 1.2 km from 甲's address, within its caregivers' own reach
        assert "近" not in names(await providers.candidates(service_code="meal", lat=outside[0], lon=outside[1]))
        assert "近" in names(await providers.candidates(service_code="meal", **where))
        await own.put(f"/providers/{a}/service-area", json={"radius_m": 500, "streets": ["城东 街道"]})
        assert "近" in names(await providers.candidates(service_code="meal", lat=outside[0], lon=outside[1],
                                                        street="城东街道"))
        await own.put(f"/providers/{a}/service-area", json={"streets": []})
        r = await own.patch(f"/caregivers/{near}", json={"status": "on_leave"})
        assert r.status_code == 200 and r.json()["status_name"] == "休假"
    assert names(await providers.candidates(service_code="meal", **where)) == ["忙", "乙一", "中", "远"]

    async with providers.client("officer", district=HAILING) as officer:
        await officer.post(f"/providers/{b}/suspend", json={"reason": "投诉核查"})
        assert names(await providers.candidates(service_code="meal", **where)) == ["忙", "中"]
        await officer.post(f"/providers/{b}/reinstate", json={"reason": "核查完毕"})
        assert names(await providers.candidates(service_code="meal", **where)) == ["忙", "乙一", "中", "远"]

    async with providers.client("service", user_id="svc:orders") as orders:
        for params, field in (({"service_code": "massage"}, "service_code"), ({"lat": 3.1}, "lat"),
                              ({"exclude_providers": "not-an-id"}, "exclude_providers")):
            r = await orders.get("/candidates", params={"service_code": "meal", **where, **params})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    async with providers.client("elder") as elder:
        assert (await elder.get("/candidates", params={"service_code": "meal", **where})).status_code == 403


async def _has(p, name: str, **query) -> bool:
    return name in names(await p.candidates(**query))


async def _lacks(p, name: str, **query) -> bool:
    return not await _has(p, name, **query)


async def test_an_expired_document_stops_new_orders_until_renewed(providers):
    spot = new_spot()
    tomorrow = (START + timedelta(days=1)).date()
    provider = await approved_provider(providers, at=spot, documents_until=tomorrow)
    await add_caregiver(providers, provider, at=moved(spot, 100), name="资质到期")
    where = {"service_code": "meal", "lat": spot[0], "lon": spot[1]}
    assert names(await providers.candidates(**where)) == ["资质到期"]

    providers.clock.now = START + timedelta(days=2)  # the day after the expiry date
    assert await providers.candidates(**where) == []  # checked on every query, before any rebuild
    await providers.search.sync(now=providers.clock.now)  # a new day's first look re-reads everything…
    assert providers.search.synced_day == providers.clock.now.date()
    assert provider not in providers.search.providers and await providers.candidates(**where) == []  # …and drops it
    async with providers.client("officer", district=HAILING) as officer:
        listed = {x["id"]: x for x in (await officer.get("/providers", params={"status": "approved",
                                                                              "limit": 500})).json()}
        assert listed[provider]["documents"]["ok"] is False
        assert listed[provider]["documents"]["expired"] == ["licence", "insurance"]
        expiring = [d for d in (await officer.get("/documents/expiring")).json() if d["provider_id"] == provider]
        assert [(d["kind"], d["expired"], d["days_left"]) for d in expiring] == [
            ("insurance", True, -1), ("licence", True, -1)]
    async with providers.client("provider_admin", provider_id=provider) as own:
        for kind in ("licence", "insurance"):
            r = await own.post(f"/providers/{provider}/documents", json={"kind": kind, "number": f"{kind}-2",
                                                                        "expires_on": "2029-03-31"})
            assert r.status_code == 201, r.text
    assert names(await providers.candidates(**where)) == ["资质到期"]


async def test_volunteers_serve_only_mutual_aid_items(providers):
    spot = new_spot()
    group = await approved_provider(providers, at=spot, kind="mutual_aid_group", items={"visit": 0, "errand": 0})
    company = await approved_provider(providers, at=moved(spot, 300), items={"visit": 3000})
    async with providers.client("provider_admin", provider_id=group) as own:
        r = await own.post(f"/providers/{group}/catalogue", json={"service_code": "meal", "price_fen": 0})
        assert r.status_code == 422 and r.json()["errors"][-1]["reason"] == "邻里互助点只提供可用邻里互助券的服务"
        catalogue = (await own.get(f"/providers/{group}/catalogue")).json()
        assert {i["service_code"]: i["voucher_kinds"] for i in catalogue} == {"visit": ["mutual_aid"],
                                                                              "errand": ["mutual_aid"]}
        r = await own.post(f"/providers/{group}/caregivers", json={
            "name": "邻居王阿姨", "gender": "female", "skills": ["visit", "bath"], "base_lat": spot[0],
            "base_lon": spot[1]})
        assert r.status_code == 422 and "助浴" not in r.json()["errors"][0]["reason"]
        assert r.json()["errors"][0] == {"field": "skills",
                                         "reason": "邻里互助志愿者只提供可用邻里互助券的服务，不能登记：bath"}
    volunteer = await add_caregiver(providers, group, at=moved(spot, 50), name="邻居王阿姨", skills=("visit", "errand"))
    await add_caregiver(providers, company, at=moved(spot, 400), name="护理员赵", skills=("visit", "meal"))
    where = {"lat": spot[0], "lon": spot[1]}
    with_mutual_aid = await providers.candidates(service_code="visit", voucher_kind="mutual_aid", **where)
    assert names(with_mutual_aid) == ["邻居王阿姨", "护理员赵"] and with_mutual_aid[0]["volunteer"] is True
    assert names(await providers.candidates(service_code="visit", voucher_kind="community", **where)) == ["护理员赵"]
    assert names(await providers.candidates(service_code="errand", voucher_kind="community", **where)) == []
    assert names(await providers.candidates(service_code="errand", voucher_kind="mutual_aid", **where)) == ["邻居王阿姨"]
    async with providers.client("provider_admin", provider_id=group) as own:
        assert (await own.get(f"/caregivers/{volunteer}")).json()["volunteer"] is True


async def test_ratings_come_from_review_events_exactly_once(providers):
    spot = new_spot()
    provider = await approved_provider(providers, at=spot)
    liu = await add_caregiver(providers, provider, at=moved(spot, 100), name="刘")
    chen = await add_caregiver(providers, provider, at=moved(spot, 200), name="陈")
    await add_caregiver(providers, provider, at=moved(spot, 300), name="新人")
    order1, order2, elder = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())

    def review(order: str, caregiver: str, rating: int) -> dict:
        return {"order_id": order, "elder_id": elder, "provider_id": provider, "caregiver_id": caregiver,
                "rating": rating, "comment": "服务很好"}

    async with providers.client("elder") as reader:
        async def provider_rating():
            body = (await reader.get(f"/providers/{provider}")).json()
            return body["rating_count"], body["rating"]

        first = await providers.publish("youfu.order.reviewed.v1", review(order1, liu, 5))
        await wait_for(lambda: _equals(provider_rating(), (1, 5.0)), what="the first rating")
        await providers.publish("youfu.order.reviewed.v1", review(order1, liu, 5), event_id=first.id)  # redelivered
        await wait_for(lambda: _duplicates_seen(providers), what="the redelivery to be recognised")
        assert await provider_rating() == (1, 5.0)
        await providers.publish("youfu.order.reviewed.v1", review(order2, chen, 3))
        await providers.publish("youfu.order.reviewed.v1", review(order1, liu, 4))  # the elder changed their mind
        await providers.publish("youfu.order.reviewed.v1", review(str(uuid.uuid4()), chen, 0))  # no such rating
        await wait_for(lambda: _equals(provider_rating(), (2, 3.5)), what="the second review and the change")
    async with providers.client("provider_admin", provider_id=provider) as own:
        ratings = [(await own.get(f"/caregivers/{c}")).json() for c in (liu, chen)]
    assert [(r["rating"], r["rating_count"]) for r in ratings] == [(4.0, 1), (3.0, 1)]
    found = {c["caregiver_name"]: c for c in await providers.candidates(service_code="meal", lat=spot[0], lon=spot[1])}
    assert (found["刘"]["rating"], found["陈"]["rating"], found["新人"]["rating"]) == (4.0, 3.0, 3.5)
    assert found["新人"]["rating_count"] == 2  # no reviews of their own yet: the provider's stand in
    async with providers.client("admin") as admin:
        letters = await wait_for(lambda: _dead_letters(admin), what="the malformed review to be dead-lettered")
    assert letters[0]["type"] == "youfu.order.reviewed.v1" and "rating 1–5" in letters[0]["error"]


async def _equals(awaitable, expected) -> bool:
    return await awaitable == expected


async def _duplicates_seen(p) -> bool:
    async with p.client("admin") as admin:
        text = (await admin.get("/metrics")).text
    return any(line.startswith("youfu_events_consumed_total{") and 'outcome="duplicate"' in line
               and 'type="youfu.order.reviewed.v1"' in line and not line.endswith(" 0.0") for line in text.splitlines())


async def _dead_letters(admin) -> list[dict]:
    return [x for x in (await admin.get("/ops/dead-letters")).json() if x["type"] == "youfu.order.reviewed.v1"]


async def test_another_replica_catches_up_from_the_database(providers, keypair, make_token, tmp_path):
    """Replica B shares the database but not A's memory: its periodic rebuild picks up A's writes."""
    running, replica = await start_providers(db_url=providers.db_url, keypair=keypair, make_token=make_token,
                                             tmp_path=tmp_path, clock=providers.clock, bootstrap="", refresh_s=0.3)
    try:
        spot = new_spot()
        where = {"service_code": "meal", "lat": spot[0], "lon": spot[1]}
        providers.clock.now = START + timedelta(minutes=5)  # B looks for what was written since its last look
        provider = await approved_provider(providers, at=spot, district=GAOGANG)
        await add_caregiver(providers, provider, at=moved(spot, 100), name="甲写的")
        assert names(await providers.candidates(**where)) == ["甲写的"]  # at once where written
        await wait_for(lambda: _has(replica, "甲写的", **where), what="replica B to rebuild", timeout_s=10)
        providers.clock.now = START + timedelta(minutes=10)
        async with providers.client("officer", district=GAOGANG) as officer:
            await officer.post(f"/providers/{provider}/suspend", json={"reason": "停业整顿"})
        await wait_for(lambda: _lacks(replica, "甲写的", **where), what="replica B to see the suspension", timeout_s=10)
    finally:
        await running.stop()


async def test_another_replica_catches_up_a_load_without_reading_the_provider_again(providers, keypair, make_token,
                                                                                     tmp_path):
    """A load written by replica A's consumer (an accept, then its cancellation) reaches replica B by
    B's periodic look, which reads the caregiver's count, not the whole provider again (D75)."""
    running, replica = await start_providers(db_url=providers.db_url, keypair=keypair, make_token=make_token,
                                             tmp_path=tmp_path, clock=providers.clock, bootstrap="", refresh_s=0.3)
    try:
        spot = new_spot()
        where = {"service_code": "meal", "lat": spot[0], "lon": spot[1]}
        providers.clock.now = START + timedelta(minutes=5)
        provider = await approved_provider(providers, at=spot, district=GAOGANG)
        caregiver = await add_caregiver(providers, provider, at=moved(spot, 100), name="只接一单", daily_limit=1)
        await wait_for(lambda: _has(replica, "只接一单", **where), what="replica B to see the caregiver", timeout_s=10)
        # the provider's own writes age out of B's look (SYNC_OVERLAP) before the load is written
        providers.clock.now = START + timedelta(minutes=10)
        await wait_for(lambda: _synced_at(replica, providers.clock.now), what="B's look after the clock moved",
                       timeout_s=10)
        reread: list[uuid.UUID] = []
        search = replica.search
        refresh = search.refresh_provider

        async def counted(provider_id):
            reread.append(provider_id)
            await refresh(provider_id)
        search.refresh_provider = counted

        order = uuid.uuid4()
        async with providers.db.transaction() as s:  # as A's consumer writes an accept
            s.add(OrderLoadRow(order_id=order, caregiver_id=uuid.UUID(caregiver), provider_id=uuid.UUID(provider),
                               day=local_day(providers.clock.now), updated_at=providers.clock.now))
        await wait_for(lambda: _lacks(replica, "只接一单", **where), what="B to see the caregiver's load", timeout_s=10)
        assert replica.search.index.get(uuid.UUID(caregiver)).daily_load == 1

        providers.clock.now += timedelta(seconds=1)
        async with providers.db.transaction() as s:  # …and its cancellation
            row = await s.get(OrderLoadRow, order)
            row.cancelled, row.updated_at = True, providers.clock.now
        await wait_for(lambda: _has(replica, "只接一单", **where), what="B to see the load given back", timeout_s=10)
        assert replica.search.index.get(uuid.UUID(caregiver)).daily_load == 0
        assert uuid.UUID(provider) not in reread, "a load alone re-read the whole provider"
    finally:
        await running.stop()


async def _synced_at(p, at) -> bool:
    return p.search.synced_at is not None and p.search.synced_at >= at
