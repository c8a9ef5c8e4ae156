"""Beds end to end on the providers service (real HTTP, a real database): declaring beds and
rates against the guide, the desk's status changes, the orders service's reserve / occupy /
release with `beds_changed` events, the place search's ranking and exact filters, capacity by
institution and district, and the last free bed raced by twenty admissions at once."""
from __future__ import annotations

import asyncio
import uuid

from tests.integration.providers_harness import (
    GAOGANG,
    HAILING,
    application,
    approved_provider,
    clock_reset,
    moved,
    new_spot,
    providers,
)

__all__ = ["providers", "clock_reset"]  # module fixtures, imported for pytest
JIANGYAN = "321204"  # only the capacity test puts institutions here, so its district figures are exact
BEDS_CHANGED = "youfu.provider.beds_changed.v1"


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


async def institution(p, *, at, kind: str = "care_institution", district: str = HAILING,
                      beds: list[dict] | None = None, rates: dict[str, int] | None = None) -> tuple[str, list[dict]]:
    provider_id = await approved_provider(p, at=at, kind=kind, district=district, items={})
    declared: list[dict] = []
    async with p.client("provider_admin", provider_id=provider_id) as desk:
        if beds:
            r = await desk.post(f"/providers/{provider_id}/beds", json={"beds": beds})
            assert r.status_code == 201, r.text
            declared = r.json()
        if rates:
            r = await desk.put(f"/providers/{provider_id}/bed-rates", json={
                "rates": [{"care_level": k, "daily_rate_fen": v} for k, v in rates.items()]})
            assert r.status_code == 200, r.text
    return provider_id, declared


def bed(room: str, no: str, level: str = "nursing", gender: str | None = None) -> dict:
    return {"room": room, "bed_no": no, "care_level": level, "room_gender": gender}


async def hold(p, path: str, body: dict):
    async with p.client("service", user_id="svc:orders") as orders:
        return await orders.post(path, json=body)


async def test_the_desk_declares_beds_and_rates_within_the_guide(providers):
    spot = new_spot()
    provider_id, declared = await institution(providers, at=spot, beds=[bed("101", "1", gender="female"),
                                                                        bed("101", "2", gender="female"),
                                                                        bed("102", "1", "self_care")])
    assert [(b["room"], b["bed_no"], b["status"], b["care_level_name"]) for b in declared] == [
        ("101", "1", "free", "护理型"), ("101", "2", "free", "护理型"), ("102", "1", "free", "自理")]
    async with providers.client("provider_admin", provider_id=provider_id) as desk:
        again = problem(await desk.post(f"/providers/{provider_id}/beds", json={"beds": [bed("101", "2"),
                                                                                         bed("103", "1")]}), 409)
        assert again["detail"] == "这些床位已经登记过：101 房 2 床"
        twice = problem(await desk.post(f"/providers/{provider_id}/beds", json={"beds": [bed("104", "1"),
                                                                                         bed("104", "1")]}), 409)
        assert "104 房 1 床" in twice["detail"]
        assert len((await desk.get(f"/providers/{provider_id}/beds")).json()) == 3  # nothing half written
        above = problem(await desk.put(f"/providers/{provider_id}/bed-rates", json={"rates": [
            {"care_level": "self_care", "daily_rate_fen": 7000}, {"care_level": "nursing", "daily_rate_fen": 12001}]}),
            422)
        assert above["errors"] == [{"field": "rates.1.daily_rate_fen", "reason": "护理型床位日价格不能高于指导价 120.00 元/天"}]
        r = await desk.put(f"/providers/{provider_id}/bed-rates", json={"rates": [
            {"care_level": "self_care", "daily_rate_fen": 7000}, {"care_level": "nursing", "daily_rate_fen": 12000}]})
        assert r.status_code == 200, r.text
        # a later change of one level leaves the others
        r = await desk.put(f"/providers/{provider_id}/bed-rates", json={"rates": [
            {"care_level": "nursing", "daily_rate_fen": 11000}]})
        assert r.status_code == 200, r.text
    async with providers.client("service", user_id="svc:orders") as orders:
        rates = (await orders.get(f"/providers/{provider_id}/bed-rates")).json()
    assert rates["policy_version"] == "2026-01"
    assert {r["care_level"]: (r["daily_rate_fen"], r["guide_daily_rate_fen"]) for r in rates["rates"]} == {
        "self_care": (7000, 8000), "nursing": (11000, 12000), "dementia": (None, 15000)}
    # another provider's desk, an elder: refused
    async with providers.client("provider_admin", provider_id=str(uuid.uuid4())) as other:
        problem(await other.post(f"/providers/{provider_id}/beds", json={"beds": [bed("201", "1")]}), 404)
        problem(await other.patch(f"/beds/{declared[0]['bed_id']}", json={"status": "out_of_service"}), 404)
    async with providers.client("elder", elder_ids=(str(uuid.uuid4()),)) as elder:
        problem(await elder.get(f"/providers/{provider_id}/beds"), 403)
        problem(await elder.post(f"/providers/{provider_id}/beds", json={"beds": [bed("201", "1")]}), 403)
        problem(await elder.post(f"/beds/{declared[0]['bed_id']}/reserve", json={}), 403)  # before its body
    events = [e["data"] for e in await providers.outbox(BEDS_CHANGED) if e["data"]["provider_id"] == provider_id]
    assert sorted((e["room"], e["bed_no"], e["status"]) for e in events) == [
        ("101", "1", "free"), ("101", "2", "free"), ("102", "1", "free")]
    assert {e["district_code"] for e in events} == {HAILING}


async def test_only_institutions_and_home_care_centres_have_beds(providers):
    spot = new_spot()
    meal_point = await approved_provider(providers, at=spot, kind="meal_point")
    async with providers.client("provider_admin", provider_id=meal_point) as desk:
        refused = problem(await desk.post(f"/providers/{meal_point}/beds", json={"beds": [bed("1", "1")]}), 422)
        assert refused["detail"] == "只有养老机构和居家养老服务中心（喘息床位）可以登记床位"
        problem(await desk.put(f"/providers/{meal_point}/bed-rates", json={"rates": [
            {"care_level": "nursing", "daily_rate_fen": 100}]}), 422)
    centre, declared = await institution(providers, at=moved(spot, north_m=500), kind="home_care_centre",
                                         beds=[bed("喘息1", "1", "self_care")])
    assert declared[0]["status"] == "free"


async def test_the_desk_takes_a_free_bed_out_of_service_but_not_a_held_one(providers):
    provider_id, (one, two) = await institution(providers, at=new_spot(), beds=[bed("1", "1"), bed("1", "2")])
    async with providers.client("provider_admin", provider_id=provider_id) as desk:
        r = await desk.patch(f"/beds/{one['bed_id']}", json={"status": "out_of_service", "room_gender": "male"})
        assert r.status_code == 200 and r.json()["status"] == "out_of_service" and r.json()["room_gender"] == "male"
        assert problem(await hold(providers, f"/beds/{one['bed_id']}/reserve",
                                  {"application_id": str(uuid.uuid4())}), 409)["detail"] == "该床位已停用，不能预留"
        r = await desk.patch(f"/beds/{one['bed_id']}", json={"status": "free", "room_gender": None})
        assert r.json()["status"] == "free" and r.json()["room_gender"] is None
        assert (await hold(providers, f"/beds/{two['bed_id']}/reserve",
                           {"application_id": str(uuid.uuid4())})).status_code == 200
        refused = problem(await desk.patch(f"/beds/{two['bed_id']}", json={"status": "out_of_service"}), 409)
        assert refused["detail"] == "床位当前为“已预留”，不能改为“停用”"
        board = (await desk.get(f"/providers/{provider_id}/beds", params={"status": "reserved"})).json()
    assert [b["bed_id"] for b in board] == [two["bed_id"]]
    statuses = [e["data"]["status"] for e in await providers.outbox(BEDS_CHANGED)
                if e["data"]["bed_id"] == one["bed_id"]]
    assert statuses == ["free", "out_of_service", "free"]


async def test_reserve_occupy_release_for_the_orders_service(providers):
    provider_id, (one,) = await institution(providers, at=new_spot(), beds=[bed("1", "1")])
    bed_path = f"/beds/{one['bed_id']}"
    app, stay = str(uuid.uuid4()), str(uuid.uuid4())
    first = await hold(providers, f"{bed_path}/reserve", {"application_id": app})
    assert first.status_code == 200 and first.json()["status"] == "reserved" and first.json()["application_id"] == app
    again = await hold(providers, f"{bed_path}/reserve", {"application_id": app})
    assert again.status_code == 200 and again.json() == first.json()  # idempotent per application
    assert problem(await hold(providers, f"{bed_path}/occupy", {"stay_id": stay, "application_id": str(uuid.uuid4())}),
                   409)["detail"] == "该床位已被占用"
    r = await hold(providers, f"{bed_path}/occupy", {"stay_id": stay, "application_id": app})
    assert r.status_code == 200 and r.json()["status"] == "occupied" and r.json()["stay_id"] == stay
    assert (await hold(providers, f"{bed_path}/occupy", {"stay_id": stay, "application_id": app})).status_code == 200
    assert problem(await hold(providers, f"{bed_path}/reserve", {"application_id": str(uuid.uuid4())}),
                   409)["detail"] == "该床位已被占用"
    # someone else's release leaves the bed; the stay's frees it; a retry changes nothing
    assert (await hold(providers, f"{bed_path}/release", {"stay_id": str(uuid.uuid4())})).json()["status"] == "occupied"
    problem(await hold(providers, f"{bed_path}/release", {}), 422)
    r = await hold(providers, f"{bed_path}/release", {"stay_id": stay})
    assert r.json()["status"] == "free" and r.json()["stay_id"] is None and r.json()["application_id"] is None
    assert (await hold(providers, f"{bed_path}/release", {"stay_id": stay})).json()["status"] == "free"
    problem(await hold(providers, f"/beds/{uuid.uuid4()}/reserve", {"application_id": app}), 404)
    async with providers.client("provider_admin", provider_id=provider_id) as desk:
        problem(await desk.post(f"{bed_path}/reserve", json={"application_id": app}), 403)
    events = [e["data"] for e in await providers.outbox(BEDS_CHANGED) if e["data"]["bed_id"] == one["bed_id"]]
    assert [(e["status"], e["application_id"], e["stay_id"]) for e in events] == [
        ("free", None, None), ("reserved", app, None), ("occupied", app, stay), ("free", None, None)]
    assert {e["care_level"] for e in events} == {"nursing"}


async def test_the_last_free_bed_goes_to_exactly_one_of_twenty(providers):
    provider_id, (last,) = await institution(providers, at=new_spot(), beds=[bed("9", "1")])
    applications = [str(uuid.uuid4()) for _ in range(20)]
    async with providers.client("service", user_id="svc:orders") as orders:
        answers = await asyncio.gather(*(orders.post(f"/beds/{last['bed_id']}/reserve", json={"application_id": a})
                                         for a in applications))
        winners = [a for a, r in zip(applications, answers, strict=True) if r.status_code == 200]
        assert len(winners) == 1, [r.status_code for r in answers]
        losers = [r for r in answers if r.status_code != 200]
        assert {r.status_code for r in losers} == {409}
        assert {r.json()["detail"] for r in losers} == {"该床位已被占用"}
        # the winner asking again is answered the same; the bed is its, once
        again = await orders.post(f"/beds/{last['bed_id']}/reserve", json={"application_id": winners[0]})
        assert again.status_code == 200 and again.json()["application_id"] == winners[0]
    async with providers.client("provider_admin", provider_id=provider_id) as desk:
        (board,) = (await desk.get(f"/providers/{provider_id}/beds")).json()
    assert board["status"] == "reserved" and board["application_id"] == winners[0]
    reserved = [e for e in await providers.outbox(BEDS_CHANGED)
                if e["data"]["bed_id"] == last["bed_id"] and e["data"]["status"] == "reserved"]
    assert len(reserved) == 1


async def test_search_ranks_approved_institutions_with_a_fitting_free_bed(providers):
    spot = new_spot()
    near, _ = await institution(providers, at=moved(spot, north_m=800),
                                beds=[bed("1", "1", gender="female"), bed("1", "2", gender="female")],
                                rates={"nursing": 11000})
    mixed, _ = await institution(providers, at=moved(spot, north_m=2500), beds=[bed("1", "1")],
                                 rates={"nursing": 9000, "dementia": 14000})
    full, (taken,) = await institution(providers, at=moved(spot, north_m=300), beds=[bed("1", "1")],
                                       rates={"nursing": 8000})
    assert (await hold(providers, f"/beds/{taken['bed_id']}/reserve",
                       {"application_id": str(uuid.uuid4())})).status_code == 200
    unpriced, _ = await institution(providers, at=moved(spot, north_m=400), beds=[bed("1", "1")])
    # an applicant (not approved) with free beds and a rate
    async with providers.client("officer", district=HAILING) as officer:
        r = await officer.post("/providers", json=application(kind="care_institution", at=moved(spot, north_m=200)))
        applicant = r.json()["id"]
    async with providers.client("provider_admin", provider_id=applicant) as desk:
        assert (await desk.post(f"/providers/{applicant}/beds", json={"beds": [bed("1", "1")]})).status_code == 201
        assert (await desk.put(f"/providers/{applicant}/bed-rates", json={"rates": [
            {"care_level": "nursing", "daily_rate_fen": 5000}]})).status_code == 200
    ours = {near, mixed, full, unpriced, applicant}

    async def search(role: str = "family", **params) -> list[dict]:
        async with providers.client(role, elder_ids=(str(uuid.uuid4()),)) as caller:
            r = await caller.get("/bed-search", params={"lat": spot[0], "lon": spot[1], "limit": 50, **params})
        assert r.status_code == 200, r.text
        return [p for p in r.json()["places"] if p["provider_id"] in ours]

    found = await search(care_level="nursing", gender="female")
    assert [p["provider_id"] for p in found] == [near, mixed]
    assert found[0]["free_beds"] == 2 and found[0]["daily_rate_fen"] == 11000 and found[0]["care_level_name"] == "护理型"
    assert 700 < found[0]["distance_m"] < 900
    assert [p["provider_id"] for p in await search(care_level="nursing", gender="male")] == [mixed]
    assert [p["provider_id"] for p in await search(care_level="dementia")] == []  # a rate, but no dementia bed
    assert [p["provider_id"] for p in await search("elder", care_level="nursing")] == [near, mixed]
    assert [p["provider_id"] for p in await search("officer", care_level="nursing")] == [near, mixed]
    async with providers.client("family") as family:
        problem(await family.get("/bed-search", params={"lat": 0, "lon": 0, "care_level": "nursing"}), 422)
        problem(await family.get("/bed-search", params={"lat": spot[0], "lon": spot[1], "care_level": "vip"}), 422)


async def test_capacity_by_institution_and_district_with_the_nursing_share(providers):
    spot = new_spot()
    big, big_beds = await institution(providers, at=spot, district=JIANGYAN,
                                      beds=[bed("1", str(n)) for n in range(1, 8)]
                                      + [bed("2", "1", "self_care"), bed("2", "2", "dementia"), bed("2", "3")])
    small, (small_bed,) = await institution(providers, at=moved(spot, north_m=900), district=JIANGYAN,
                                            beds=[bed("1", "1", "self_care")])
    await hold(providers, f"/beds/{big_beds[0]['bed_id']}/reserve", {"application_id": str(uuid.uuid4())})
    app = str(uuid.uuid4())
    await hold(providers, f"/beds/{big_beds[1]['bed_id']}/reserve", {"application_id": app})
    await hold(providers, f"/beds/{big_beds[1]['bed_id']}/occupy", {"application_id": app, "stay_id": str(uuid.uuid4())})
    async with providers.client("provider_admin", provider_id=big) as desk:
        await desk.patch(f"/beds/{big_beds[9]['bed_id']}", json={"status": "out_of_service"})
    async with providers.client("officer", district=JIANGYAN) as officer:
        r = await officer.get("/bed-capacity")
        assert r.status_code == 200, r.text
        mine = r.json()
        problem(await officer.get("/bed-capacity", params={"district_code": GAOGANG}), 403)
    assert mine["nursing_share_target"] == 0.7 and mine["policy_version"] == "2026-01"
    assert [d["district_code"] for d in mine["districts"]] == [JIANGYAN]
    (district,) = mine["districts"]
    assert district == {"district_code": JIANGYAN, "district_name": "姜堰区", "capacity": 10, "occupied": 1,
                        "reserved": 1, "free": 8, "out_of_service": 1, "nursing_beds": 7, "nursing_share": 0.7,
                        "nursing_target_met": True}
    assert mine["total"] == {k: v for k, v in district.items() if k not in ("district_code", "district_name")}
    by_id = {i["provider_id"]: i for i in mine["institutions"]}
    assert set(by_id) == {big, small}
    assert (by_id[big]["capacity"], by_id[big]["nursing_share"], by_id[big]["out_of_service"]) == (9, round(7 / 9, 4), 1)
    assert (by_id[small]["capacity"], by_id[small]["nursing_share"], by_id[small]["nursing_target_met"]) == (1, 0.0, False)
    async with providers.client("city_officer") as city:
        everything = (await city.get("/bed-capacity")).json()
        only = (await city.get("/bed-capacity", params={"district_code": JIANGYAN})).json()
    assert {d["district_code"] for d in everything["districts"]} >= {JIANGYAN, HAILING}
    assert only["districts"] == mine["districts"]
    async with providers.client("provider_admin", provider_id=big) as desk:
        problem(await desk.get("/bed-capacity"), 403)
    assert small_bed["care_level"] == "self_care"
