"""Institutional stays in the orders service (issue 22), on its real database, against the
providers double's beds (reserve / occupy / release / bed-rates over real HTTP): the whole life
of a stay with its events, the 409s and 422s, community-voucher orders during a stay and a leave,
the compensation when the local write fails after providers answered, the elder's death, and 20
concurrent admissions for the last free bed."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.orders import stays as stays_flow
from services.orders.models import StayApplicationRow, StayRow
from shared.city import CITY_TZ
from tests.integration.orders_doubles import HAILING, orders_env, shanghai, wait_for

__all__ = ["orders_env"]  # the module fixture, imported for pytest


def today():
    return datetime.now(timezone.utc).astimezone(CITY_TZ).date()


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


async def apply(env, elder: str, provider: str, **extra) -> dict:
    body = {"elder_id": elder, "provider_id": provider, "care_level": "nursing", "kind": "long_term",
            "planned_start": day(-10)} | extra
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post("/stay-applications", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def accept(env, provider: str, application_id: str, bed: str):
    async with env.client("provider_admin", provider_id=provider) as desk:
        return await desk.post(f"/stay-applications/{application_id}/accept", json={"bed_id": bed})


async def admit(env, provider: str, application_id: str, on: str | None = None):
    async with env.client("provider_admin", provider_id=provider) as desk:
        return await desk.post("/stays", json={"application_id": application_id, "admitted_on": on or day(-10)})


async def admitted(env, elder: str | None = None) -> tuple[str, str, str, dict]:
    """An elder admitted into a fresh institution's bed: (elder, provider, bed, stay)."""
    elder = elder or env.new_elder()
    provider = env.providers.add_institution()
    bed = env.providers.add_bed(provider)
    app = await apply(env, elder, provider)
    assert (await accept(env, provider, app["application_id"], bed)).status_code == 200
    r = await admit(env, provider, app["application_id"])
    assert r.status_code == 201, r.text
    return elder, provider, bed, r.json()


async def events_of(env, type_: str, stay_id: str) -> list[dict]:
    return [e for e in await env.outbox(type_) if e["stay_id"] == stay_id]


async def test_apply_accept_admit_leave_return_transfer_discharge_with_events(orders_env):
    env = orders_env
    elder = env.new_elder()
    first = env.providers.add_institution(rates={"nursing": 9000})
    second = env.providers.add_institution(rates={"nursing": 11000, "dementia": 14000}, name="康宁护理院")
    bed = env.providers.add_bed(first)
    other_bed = env.providers.add_bed(second, care_level="dementia")

    app = await apply(env, elder, first)
    assert app["status"] == "submitted"
    r = await accept(env, first, app["application_id"], bed)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert env.providers.beds[bed]["status"] == "reserved"
    r = await admit(env, first, app["application_id"], day(-20))
    assert r.status_code == 201, r.text
    stay = r.json()
    async with env.client("provider_admin", provider_id=first) as desk:  # the desk sees whom it admits
        listed = (await desk.get("/stays", params={"provider_id": first})).json()
        assert [(s["stay_id"], s["elder_name"]) for s in listed] == [(stay["stay_id"], "张桂兰")]
        apps = (await desk.get("/stay-applications", params={"provider_id": first})).json()
        assert [a["elder_name"] for a in apps] == ["张桂兰"]
    sid = stay["stay_id"]
    assert stay["status"] == "admitted" and stay["daily_rate_fen"] == 9000
    assert env.providers.beds[bed] | {} == env.providers.beds[bed] and env.providers.beds[bed]["status"] == "occupied"

    async with env.client("provider_admin", provider_id=first) as desk:
        r = await desk.post(f"/stays/{sid}/leave", json={"kind": "hospital", "from": day(-15), "to": day(-12)})
        assert r.status_code == 200 and r.json()["status"] == "on_leave", r.text
        r = await desk.post(f"/stays/{sid}/return", json={"on": day(-12)})
        assert r.json()["status"] == "back", r.text
        r = await desk.post(f"/stays/{sid}/transfer", json={"bed_id": other_bed, "on": day(-5)})
        assert r.status_code == 200, r.text
        moved = r.json()
        assert (moved["status"], moved["provider_id"], moved["care_level"], moved["daily_rate_fen"]) == (
            "transferred", second, "dementia", 14000)
    assert env.providers.beds[bed]["status"] == "free" and env.providers.beds[other_bed]["status"] == "occupied"
    async with env.client("provider_admin", provider_id=first) as old_desk:  # no longer its resident
        assert (await old_desk.get(f"/stays/{sid}")).status_code == 404
    async with env.client("provider_admin", provider_id=second) as desk:
        r = await desk.post(f"/stays/{sid}/discharge", json={"on": day(0), "reason": "家属接回"})
        assert r.status_code == 200 and r.json()["status"] == "discharged", r.text
        detail = (await desk.get(f"/stays/{sid}")).json()
    assert [m["kind"] for m in detail["movements"]] == ["admitted", "left", "returned", "transferred", "ended"]
    assert env.providers.beds[other_bed]["status"] == "free"

    (adm,) = await events_of(env, "youfu.stay.admitted.v1", sid)
    assert adm | {"on": day(-20)} == adm and adm["daily_rate_fen"] == 9000 and adm["bed_id"] == bed
    assert adm["elder_id"] == elder and adm["care_level"] == "nursing" and adm["kind"] == "long_term"
    (left,) = await events_of(env, "youfu.stay.left.v1", sid)
    assert (left["from"], left["to"], left["leave_kind"], left["on"]) == (day(-15), day(-12), "hospital", day(-15))
    (back,) = await events_of(env, "youfu.stay.returned.v1", sid)
    assert back["on"] == day(-12)
    (moved_event,) = await events_of(env, "youfu.stay.transferred.v1", sid)
    assert (moved_event["provider_id"], moved_event["from_provider_id"], moved_event["daily_rate_fen"],
            moved_event["from_daily_rate_fen"], moved_event["on"]) == (second, first, 14000, 9000, day(-5))
    (ended,) = await events_of(env, "youfu.stay.ended.v1", sid)
    assert (ended["reason"], ended["status"], ended["on"], ended["provider_id"]) == ("家属接回", "discharged", day(0),
                                                                                      second)
    async with env.client("family", elder_ids=(elder,)) as family:
        mine = (await family.get("/stays", params={"elder_id": elder})).json()
    assert [s["stay_id"] for s in mine] == [sid]
    async with env.client("family", elder_ids=(env.new_elder(),)) as stranger:
        assert (await stranger.get(f"/stays/{sid}")).status_code == 404
    async with env.client("caregiver", provider_id=second) as caregiver:
        assert (await caregiver.get("/stays")).status_code == 403


async def test_a_second_open_stay_and_an_occupied_bed_are_409(orders_env):
    env = orders_env
    elder, _, _, stay = await admitted(env)
    elsewhere = env.providers.add_institution()
    bed = env.providers.add_bed(elsewhere)
    app = await apply(env, elder, elsewhere)
    assert (await accept(env, elsewhere, app["application_id"], bed)).status_code == 200
    r = await admit(env, elsewhere, app["application_id"])
    assert r.status_code == 409 and stay["stay_id"] in r.json()["detail"], r.text
    assert env.providers.beds[bed]["status"] == "reserved"  # refused before providers was asked

    # an occupied bed: providers answers 409 to the accept, and to the admission
    other = env.new_elder()
    app = await apply(env, other, elsewhere)
    r = await accept(env, elsewhere, app["application_id"], bed)
    assert r.status_code == 409, r.text
    free = env.providers.add_bed(elsewhere)
    assert (await accept(env, elsewhere, app["application_id"], free)).status_code == 200
    env.providers.beds[free].update(status="occupied", stay_id=str(uuid.uuid4()))  # someone moved in meanwhile
    r = await admit(env, elsewhere, app["application_id"])
    assert r.status_code == 409, r.text
    assert await env.scalar(sa.select(sa.func.count()).select_from(StayRow).where(
        StayRow.elder_id == uuid.UUID(other))) == 0
    assert await env.scalar(sa.select(StayApplicationRow.status).where(
        StayApplicationRow.id == uuid.UUID(app["application_id"]))) == "accepted"


async def test_dates_outside_the_stay_are_422(orders_env):
    env = orders_env
    _, provider, _, stay = await admitted(env)
    sid = stay["stay_id"]
    async with env.client("provider_admin", provider_id=provider) as desk:
        r = await desk.post(f"/stays/{sid}/leave", json={"kind": "home", "from": day(-11), "to": day(-9)})
        assert r.status_code == 422, r.text
        r = await desk.post(f"/stays/{sid}/discharge", json={"on": day(-11), "reason": "家属接回"})
        assert r.status_code == 422, r.text
        r = await desk.post(f"/stays/{sid}/return", json={"on": day(0)})
        assert r.status_code == 409, r.text  # not on leave
        assert (await desk.get(f"/stays/{sid}")).json()["status"] == "admitted"
    elder = env.new_elder()
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post("/stay-applications", json={
            "elder_id": elder, "provider_id": provider, "care_level": "nursing", "kind": "respite",
            "planned_start": day(1), "planned_end": day(31)})
    assert r.status_code == 422 and "30" in r.json()["detail"], r.text


async def test_community_orders_are_refused_during_a_stay_and_allowed_during_leave(orders_env):
    env = orders_env
    code = env.providers.add_item(name="助浴")
    env.providers.add_candidate(code)
    elder, provider, _, stay = await admitted(env)
    sid = stay["stay_id"]
    start = datetime.now(timezone.utc) + timedelta(hours=3)

    async def place(payment: str = "community"):
        async with env.client("family", elder_ids=(elder,)) as family:
            return await family.post("/orders", json={
                "elder_id": elder, "service_code": code, "payment": payment, "window_start": shanghai(start),
                "window_end": shanghai(start + timedelta(hours=1))}, headers={"Idempotency-Key": str(uuid.uuid4())})

    holds = env.vouchers.count("POST", "/holds")
    r = await place()
    assert r.status_code == 409 and sid in r.json()["detail"] and "入住" in r.json()["detail"], r.text
    assert env.vouchers.count("POST", "/holds") == holds  # refused before the hold
    assert (await place("self_pay")).status_code == 201
    leave_day = start.astimezone(CITY_TZ).date()
    async with env.client("provider_admin", provider_id=provider) as desk:
        r = await desk.post(f"/stays/{sid}/leave", json={"kind": "home", "from": leave_day.isoformat(),
                                                          "to": (leave_day + timedelta(days=2)).isoformat()})
        assert r.status_code == 200, r.text
    assert (await place()).status_code == 201
    async with env.client("provider_admin", provider_id=provider) as desk:
        assert (await desk.post(f"/stays/{sid}/return", json={"on": leave_day.isoformat()})).status_code == 200
    assert (await place()).status_code == 409


async def test_a_failed_local_write_gives_the_bed_back(orders_env, monkeypatch):
    env = orders_env
    elder = env.new_elder()
    provider = env.providers.add_institution()
    bed = env.providers.add_bed(provider)
    app = await apply(env, elder, provider)

    def broken(*_a, **_k):
        raise RuntimeError("the write fails after providers answered")

    with monkeypatch.context() as m:  # accepting: reserved, then the transaction fails
        m.setattr(stays_flow, "application_answer", broken)
        r = await accept(env, provider, app["application_id"], bed)
    assert r.status_code == 500
    assert env.providers.beds[bed]["status"] == "free"
    assert await env.scalar(sa.select(StayApplicationRow.status).where(
        StayApplicationRow.id == uuid.UUID(app["application_id"]))) == "submitted"

    assert (await accept(env, provider, app["application_id"], bed)).status_code == 200
    with monkeypatch.context() as m:  # admitting: occupied, then the transaction fails
        m.setattr(stays_flow, "publish", broken)
        r = await admit(env, provider, app["application_id"])
    assert r.status_code == 500
    assert env.providers.beds[bed]["status"] == "free"
    assert env.providers.count("POST", f"/beds/{bed}/release") == 2
    assert await env.scalar(sa.select(sa.func.count()).select_from(StayRow).where(
        StayRow.elder_id == uuid.UUID(elder))) == 0


async def test_death_ends_the_stay_on_the_date_and_releases_the_bed(orders_env):
    env = orders_env
    elder, _, bed, stay = await admitted(env)
    event = {"elder_id": elder, "name": "张桂兰", "district_code": HAILING, "street": "城东",
             "special_hardship": False, "status": "deceased", "status_date": day(-3),
             "changed_fields": ["status", "status_date"], "change_source": None}
    await env.publish("youfu.assessment", "youfu.elder.updated.v1", elder, event)

    async def ended():
        return await env.scalar(sa.select(StayRow.status).where(
            StayRow.id == uuid.UUID(stay["stay_id"]))) == "ended_by_death"

    await wait_for(ended, timeout_s=30, what="the stay ended by death")
    row_end = await env.scalar(sa.select(StayRow.ended_on).where(StayRow.id == uuid.UUID(stay["stay_id"])))
    assert row_end.isoformat() == day(-3)
    (e,) = await events_of(env, "youfu.stay.ended.v1", stay["stay_id"])
    assert (e["reason"], e["on"], e["status"]) == ("死亡", day(-3), "ended_by_death")

    async def released():
        return env.providers.beds[bed]["status"] == "free"

    await wait_for(released, timeout_s=10, what="the bed released")


async def test_twenty_concurrent_admissions_for_the_last_free_bed(orders_env):
    env = orders_env
    provider = env.providers.add_institution()
    bed = env.providers.add_bed(provider)
    applications = [await apply(env, env.new_elder(), provider) for _ in range(20)]

    async def attempt(app: dict) -> int:
        r = await accept(env, provider, app["application_id"], bed)
        if r.status_code != 200:
            return r.status_code
        return (await admit(env, provider, app["application_id"])).status_code

    env.providers.slow_s = 0.005
    try:
        outcomes = await asyncio.gather(*(attempt(a) for a in applications))
    finally:
        env.providers.slow_s = 0.0
    assert sorted(outcomes) == [201] + [409] * 19, outcomes
    ids = [uuid.UUID(a["application_id"]) for a in applications]
    async with env.db.sessions() as s:
        apps = list((await s.execute(sa.select(StayApplicationRow).where(StayApplicationRow.id.in_(ids)))).scalars())
        stays = list((await s.execute(sa.select(StayRow).where(StayRow.application_id.in_(ids)))).scalars())
    assert len(stays) == 1 and stays[0].bed_id == uuid.UUID(bed)
    assert sorted(a.status for a in apps) == ["admitted"] + ["submitted"] * 19
    assert all(a.bed_id is None for a in apps if a.status == "submitted")  # nothing half written
    assert env.providers.beds[bed]["status"] == "occupied"
    assert env.providers.beds[bed]["stay_id"] == str(stays[0].id)
