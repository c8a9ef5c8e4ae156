"""Care plans and home beds through the assessment service's HTTP API on a real database, with
providers and vouchers as doubles (tests/integration/care_plan_doubles.py): draft → submit →
consent (family in the app, officer by phone), over-budget consent, 409 without a finalised
assessment, the 422s, replacement of an active plan, to_review on reassessment, death ends the
plan, vouchers down → 503 with nothing written, and a home bed that opens only when every
prerequisite holds."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from services.assessment.home_beds import record_adaptation
from services.assessment.main import create_app
from services.assessment.models import HomeAdaptationRow
from shared.city import local_day
from shared.events import CloudEvent
from shared.settings import Settings
from tests.conftest import RunningApp
from tests.integration.assessment_harness import GAOGANG, HAILING, assessment, elder_body, items_totalling, wait_for
from tests.integration.care_plan_doubles import FakeProvidersAndVouchers
from tests.support.clients import SignedClients
from tests.support.clock import Clock
from tests.support.events import outbox_events, send_event
from youfu.broker import free_port

ASSESSOR_A = {"user_id": "assessor-a", "district": HAILING}
ASSESSOR_B = {"user_id": "assessor-b", "district": HAILING}
OFFICER = {"user_id": "officer-hl", "district": HAILING}
__all__ = ["assessment"]  # the harness's module fixture, imported for pytest


class Env(SignedClients):
    def __init__(self, url, app, fake, make_token):
        self.url, self.app, self.fake, self.make_token, self.tokens = url, app, fake, make_token, {}

    @property
    def db(self):
        return self.app.state.ctx.db

    async def events(self, type_: str, elder_id: str) -> list[dict]:
        return [e["data"] for e in await outbox_events(self.db, type_) if e["data"]["elder_id"] == elder_id]

    async def elder(self, *, finalised: bool = True, **overrides) -> str:
        async with self.client("officer", **OFFICER) as officer:
            r = await officer.post("/elders", json=elder_body(HAILING, **overrides))
            assert r.status_code == 201, r.text
            elder_id = r.json()["id"]
        if finalised:
            await self.finalise(elder_id)
        return elder_id

    async def finalise(self, elder_id: str, reason: str | None = None) -> None:
        body = {"items": items_totalling(50), "diagnoses": ["F03"]} | ({"reason": reason} if reason else {})
        async with self.client("assessor", **ASSESSOR_A) as a, self.client("assessor", **ASSESSOR_B) as b:
            r = await a.post(f"/elders/{elder_id}/assessments", json=body)
            assert r.status_code == 201, r.text
            assert (await a.post(f"/assessments/{r.json()['id']}/sign")).status_code == 200
            r = await b.post(f"/assessments/{r.json()['id']}/sign")
            assert r.status_code == 200 and r.json()["result"]["grade"] == 3, r.text


@pytest.fixture(scope="module")
async def env(databases, keypair, make_token, tmp_path_factory):
    fake = FakeProvidersAndVouchers()
    doubles = await RunningApp(fake.app, free_port()).start()
    db_url = await asyncio.to_thread(databases.migrated_url, "assessment", "assessment_plans")
    settings = Settings(var_dir=tmp_path_factory.mktemp("assessment_plans"), jwt_public_key=keypair[1],
                        pii_key=Fernet.generate_key().decode(), kafka_bootstrap="", database_urls={"assessment": db_url},
                        service_urls={"vouchers": doubles.url, "providers": doubles.url}, http_timeout_s=2,
                        service_token=make_token("service", user_id="svc:assessment", ttl_s=3600), log_json=False)
    app = create_app(settings, clock=Clock(datetime.now(timezone.utc)))
    running = await RunningApp(app, free_port()).start()
    yield Env(running.url, app, fake, make_token)
    await running.stop()
    await doubles.stop()


def fields(r) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in r.json().get("errors", [])}


async def test_draft_submit_consent_and_replacement(env):
    p = env.fake.add_provider()
    only_visits = env.fake.add_provider(prices={"visit": 3000})
    far = env.fake.add_provider(covers=False)
    elder = await env.elder(living_situation="with_family")
    never_assessed = await env.elder(finalised=False)
    async with env.client("officer", **OFFICER) as officer:
        r = await officer.post(f"/elders/{never_assessed}/care-plans", json={})
        assert r.status_code == 409 and r.json()["missing"] == "finalised_assessment" and "定稿" in r.json()["detail"]
    async with env.client("assessor", **ASSESSOR_A) as a:
        async with env.client("assessor", user_id="assessor-z", district=HAILING) as z:
            assert (await z.post(f"/elders/{elder}/care-plans", json={})).status_code == 403  # not the elder's
        r = await a.post(f"/elders/{elder}/care-plans", json={"providers": {"clean": p, "bath": p, "rehab": p}},
                         headers={"Idempotency-Key": "plan-1"})
        assert r.status_code == 201, r.text
        draft = r.json()
        again = await a.post(f"/elders/{elder}/care-plans", json={"providers": {"clean": p, "bath": p, "rehab": p}},
                             headers={"Idempotency-Key": "plan-1"})
        assert again.json()["plan_id"] == draft["plan_id"]
        assert (draft["state"], draft["version"], draft["kind"], draft["grade"]) == ("draft", 1, "care", 3)
        assert [(i["service_code"], i["unit_price_fen"]) for i in draft["items"]] == [
            ("clean", 4000), ("bath", 8000), ("rehab", 12000)]
        assert draft["items"][0]["frequency_zh"] == "每周一、三、五 09:00" and draft["review_date"]

        item = {"service_code": "clean", "provider_id": p, "duration_min": 60, "voucher_kind": "community",
                "frequency": {"type": "weekly", "weekdays": [1, 3, 5], "time": "09:00"}}
        for bad, field, words in [
            (item | {"frequency": {"type": "per_week", "count": 8, "time": "09:00"}}, "items.0.frequency.count", "7 天"),
            (item | {"frequency": {"type": "per_month", "count": 30, "time": "09:00"}}, "items.0.frequency.count", "28"),
            (item | {"service_code": "flying"}, "items.0.service_code", "服务目录"),
            (item | {"provider_id": only_visits}, "items.0.provider_id", "不提供"),
            (item | {"provider_id": far}, "items.0.provider_id", "不覆盖"),
            (item | {"provider_id": str(uuid.uuid4())}, "items.0.provider_id", "没有这家"),
        ]:
            r = await a.post(f"/elders/{elder}/care-plans", json={"items": [bad]})
            assert r.status_code == 422 and words in fields(r).get(field, ""), (field, r.text)
        r = await a.put(f"/care-plans/{draft['plan_id']}", json={"items": [item | {"frequency": {
            "type": "per_week", "count": 9, "time": "09:00"}}]})
        assert r.status_code == 422

    async with env.client("family", elder_ids=[elder]) as family:
        assert (await family.get(f"/care-plans/{draft['plan_id']}")).status_code == 404  # drafts are the staff's
    async with env.client("assessor", **ASSESSOR_A) as a:
        r = await a.post(f"/care-plans/{draft['plan_id']}/submit", headers={"Idempotency-Key": "submit-1"})
        assert r.status_code == 200, r.text
        submitted = r.json()
        assert submitted["state"] == "awaiting_consent" and submitted["budget"]["summary_zh"].startswith("每月计划")
        asked = env.fake.budgets[-1]
        today = local_day(env.app.state.ctx.now())
        assert asked["month"] == f"{today.year:04d}-{today.month:02d}" and asked["elder_id"] == elder
        assert [line["service_code"] for line in asked["lines"]] == ["clean", "bath", "rehab"]
        assert (await a.put(f"/care-plans/{draft['plan_id']}", json={"items": [item]})).status_code == 409

    async with env.client("family", elder_ids=[str(uuid.uuid4())]) as stranger:
        r = await stranger.post(f"/care-plans/{draft['plan_id']}/consent", json={"method": "app"})
        assert r.status_code == 404
    async with env.client("family", user_id="daughter", elder_ids=[elder]) as family:
        r = await family.post(f"/care-plans/{draft['plan_id']}/consent", json={"method": "phone"})
        assert r.status_code == 422 and "method" in fields(r)
        r = await family.post(f"/care-plans/{draft['plan_id']}/consent", json={"method": "app"},
                              headers={"Idempotency-Key": "consent-1"})
        assert r.status_code == 200, r.text
        active = r.json()
        assert active["state"] == "active" and active["consent"]["by_role"] == "family"
        assert active["consent"]["method"] == "app" and active["consent"]["by_account_id"] == "daughter"
    [activated] = await env.events("youfu.careplan.activated.v1", elder)
    assert activated["plan_id"] == draft["plan_id"] and activated["version"] == 1 and len(activated["items"]) == 3
    assert activated["items"][0]["provider_id"] == p and activated["district_code"] == HAILING
    assert activated["address"] and activated["lat"] is not None

    # a second plan replaces the first when the officer records the elder's consent by phone
    async with env.client("officer", **OFFICER) as officer:
        r = await officer.post(f"/elders/{elder}/care-plans", json={"items": [item]})
        assert r.status_code == 201 and r.json()["version"] == 2
        second = r.json()["plan_id"]
        assert (await officer.post(f"/care-plans/{second}/submit")).status_code == 200
        r = await officer.post(f"/care-plans/{second}/consent",
                               json={"method": "phone", "given_by_name": "王大爷本人"})
        assert r.status_code == 200 and r.json()["consent"]["given_by_name"] == "王大爷本人"
        first = (await officer.get(f"/care-plans/{draft['plan_id']}")).json()
        assert first["state"] == "replaced" and first["replaced_by"] == second
        history = (await officer.get(f"/elders/{elder}/care-plans")).json()
        assert [(h["version"], h["state"]) for h in history] == [(2, "active"), (1, "replaced")]
    [replaced] = await env.events("youfu.careplan.replaced.v1", elder)
    assert replaced["plan_id"] == draft["plan_id"] and replaced["replaced_by"] == second
    assert [e["plan_id"] for e in await env.events("youfu.careplan.activated.v1", elder)] == [draft["plan_id"], second]

    # vouchers (or providers) unreachable: 503, nothing written
    async with env.client("officer", **OFFICER) as officer:
        third = (await officer.post(f"/elders/{elder}/care-plans", json={"items": [item]})).json()["plan_id"]
        env.fake.down = True
        try:
            r = await officer.post(f"/care-plans/{third}/submit")
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
            assert (await officer.post(f"/elders/{elder}/care-plans", json={"items": [item]})).status_code == 503
        finally:
            env.fake.down = False
        after = (await officer.get(f"/care-plans/{third}")).json()
        assert after["state"] == "draft" and after["budget"] is None
        assert len((await officer.get(f"/elders/{elder}/care-plans")).json()) == 3


async def test_over_budget_to_review_and_death(env):
    p = env.fake.add_provider()
    elder = await env.elder()
    async with env.client("officer", **OFFICER) as officer:
        plan = (await officer.post(f"/elders/{elder}/care-plans",
                                   json={"providers": {"clean": p, "bath": p, "rehab": p}})).json()["plan_id"]
        env.fake.cap_fen = 10_000
        try:
            r = await officer.post(f"/care-plans/{plan}/submit")
        finally:
            env.fake.cap_fen = 1_000_000
        budget = r.json()["budget"]
        assert budget["over_budget"] is True and budget["self_fen"] > 0
    async with env.client("elder", user_id="elder-self", elder_ids=[elder]) as me:
        r = await me.post(f"/care-plans/{plan}/consent", json={"method": "app"})
        assert r.status_code == 409 and r.json()["reason"] == "over_budget" and "自付" in r.json()["detail"]
        r = await me.post(f"/care-plans/{plan}/consent", json={"method": "app", "accepts_self_pay": True})
        assert r.status_code == 200 and r.json()["consent"]["accepts_self_pay_fen"] == budget["self_fen"]

    await env.finalise(elder, reason="periodic")  # a reassessment: the plan is to be reviewed, still live
    async with env.client("officer", **OFFICER) as officer:
        assert (await officer.get(f"/care-plans/{plan}")).json()["state"] == "to_review"
        listed = (await officer.get("/care-plans", params={"state": "to_review"})).json()
        assert plan in [i["plan_id"] for i in listed["items"]]
        r = await officer.get("/care-plans", params={"state": "nope"})
        assert r.status_code == 422
    async with env.client("officer", user_id="officer-gg", district=GAOGANG) as other:
        assert (await other.get("/care-plans", params={"district_code": HAILING})).status_code == 403
        assert plan not in [i["plan_id"] for i in (await other.get("/care-plans")).json()["items"]]

    async with env.client("officer", **OFFICER) as officer:
        today = local_day(env.app.state.ctx.now()).isoformat()
        r = await officer.patch(f"/elders/{elder}", json={"status": "deceased", "status_date": today})
        assert r.status_code == 200, r.text
        ended = (await officer.get(f"/care-plans/{plan}")).json()
        assert ended["state"] == "ended" and ended["end_reason"] == "老人已故"
    [event] = await env.events("youfu.careplan.ended.v1", elder)
    assert event == {"plan_id": plan, "elder_id": elder, "reason": "老人已故", "effective_date": today}


async def test_home_bed_opens_only_with_every_prerequisite(env):
    centre = env.fake.add_provider(kind="home_care_centre")
    meal_point = env.fake.add_provider(kind="meal_point")
    elder = await env.elder()
    package = {"visits_per_week": 3, "remote_monitoring": True}
    async with env.client("officer", **OFFICER) as officer:
        r = await officer.post(f"/elders/{elder}/home-beds", json={"provider_id": centre, "package": package},
                               headers={"Idempotency-Key": "bed-1"})
        assert r.status_code == 201, r.text
        bed = r.json()
        assert bed["state"] == "preparing" and [m["code"] for m in bed["missing"]] == ["adaptation", "device"]
        plan = (await officer.get(f"/care-plans/{bed['plan_id']}")).json()
        assert plan["kind"] == "home_bed" and {i["provider_id"] for i in plan["items"]} == {centre}
        r = await officer.post(f"/home-beds/{bed['bed_id']}/open")
        assert r.status_code == 409 and [m["code"] for m in r.json()["missing"]] == ["adaptation", "device"]
        assert "适老化改造" in r.json()["detail"]
        assert (await officer.post(f"/elders/{elder}/home-beds",
                                   json={"provider_id": centre, "package": package})).status_code == 409
        r = await officer.post(f"/home-beds/{bed['bed_id']}/waiver", json={"reason": "住房近年已改造，经现场查看符合要求"})
        assert r.status_code == 200 and r.json()["waiver"]["by"] == "officer-hl"
        r = await officer.post(f"/home-beds/{bed['bed_id']}/devices", json={
            "kind": "teleporter", "serial": "X", "installed_on": "2026-01-01", "installed_by": "刘师傅"})
        assert r.status_code == 422 and "kind" in fields(r)
        r = await officer.post(f"/home-beds/{bed['bed_id']}/devices", json={
            "kind": "call_button", "serial": "CB-1", "installed_on": "2026-01-01", "installed_by": "刘师傅"})
        assert r.status_code == 200 and r.json()["missing"] == []
        r = await officer.post(f"/home-beds/{bed['bed_id']}/open", headers={"Idempotency-Key": "open-1"})
        assert r.status_code == 200 and r.json()["state"] == "open" and r.json()["policy_version"], r.text
        listed = (await officer.get("/home-beds", params={"state": "open"})).json()
        assert bed["bed_id"] in [b["bed_id"] for b in listed["items"]]
        r = await officer.post(f"/home-beds/{bed['bed_id']}/close", json={"reason": "老人入住养老机构"})
        assert r.status_code == 200 and r.json()["state"] == "closed"
    [opened] = await env.events("youfu.homebed.opened.v1", elder)
    assert opened["bed_id"] == bed["bed_id"] and opened["provider_id"] == centre and opened["package"] == package
    [closed] = await env.events("youfu.homebed.closed.v1", elder)
    assert closed["reason"] == "老人入住养老机构"

    # a meal point cannot anchor a bed; a completed adaptation order (learnt from orders) counts
    other = await env.elder()
    async with env.client("officer", **OFFICER) as officer:
        bed = (await officer.post(f"/elders/{other}/home-beds",
                                  json={"provider_id": meal_point, "package": package})).json()
        async with env.db.transaction() as session:
            await record_adaptation(session, data={"order_id": str(uuid.uuid4()), "elder_id": other,
                                                   "service_code": "home_adaptation", "provider_id": centre},
                                    now=env.app.state.ctx.now())
        r = await officer.post(f"/home-beds/{bed['bed_id']}/open")
        assert r.status_code == 409 and [m["code"] for m in r.json()["missing"]] == ["device", "anchor_provider"]
    async with env.client("family", elder_ids=[other]) as family:
        assert (await family.post(f"/home-beds/{bed['bed_id']}/open")).status_code == 403


async def test_a_completed_adaptation_order_is_learnt_from_the_broker(assessment):
    """Assessment's one consumer: orders' `youfu.order.completed.v1` for a 适老化改造 order."""
    elder = (await assessment.register())["id"]
    order_id = str(uuid.uuid4())
    data = {"order_id": order_id, "elder_id": elder, "provider_id": str(uuid.uuid4()), "district_code": HAILING,
            "hold_id": None, "service_code": "home_adaptation", "amount_fen": 300000, "voucher_fen": 270000,
            "duration_min": 120, "completed_at": datetime.now(timezone.utc).isoformat()}
    other = data | {"order_id": str(uuid.uuid4()), "service_code": "clean"}

    async def learnt():
        for payload in (other, data):  # sent again until the consumer has joined: once per order all the same
            await send_event(assessment.bootstrap, assessment.topic_prefix + "youfu.orders", payload["order_id"], CloudEvent(
                source="/youfu/orders", type="youfu.order.completed.v1", subject=payload["order_id"], data=payload))
        return await assessment.count("home_adaptations") >= 1

    # 60 s, as for the kernel's consumer pairs: under the whole suite a new consumer group's first
    # join and fetch can take more than 30 s
    await wait_for(learnt, timeout_s=60, every_s=0.5, what="the adaptation order recorded")
    async with assessment.db.sessions() as s:
        rows = (await s.execute(sa.select(HomeAdaptationRow))).scalars().all()
    assert [(str(r.order_id), str(r.elder_id)) for r in rows] == [(order_id, elder)]


async def test_a_status_list_death_ends_the_plan_and_closes_the_bed(env):
    p = env.fake.add_provider()
    body = elder_body(HAILING)
    async with env.client("officer", **OFFICER) as officer:
        elder = (await officer.post("/elders", json=body)).json()["id"]
    await env.finalise(elder)
    async with env.client("officer", **OFFICER) as officer:
        plan = (await officer.post(f"/elders/{elder}/care-plans",
                                   json={"providers": {"clean": p, "bath": p, "rehab": p}})).json()["plan_id"]
        assert (await officer.post(f"/care-plans/{plan}/submit")).status_code == 200
        r = await officer.post(f"/care-plans/{plan}/consent", json={"method": "in_person"})
        assert r.status_code == 200 and r.json()["state"] == "active"
        bed = (await officer.post(f"/elders/{elder}/home-beds", json={
            "provider_id": p, "package": {"visits_per_week": 2, "remote_monitoring": False}})).json()["bed_id"]
    died = local_day(env.app.state.ctx.now()).isoformat()
    data = f"序号,身份证号,姓名,死亡日期\n1,{body['id_card']},{body['name']},{died}\n".encode()
    async with env.client("city_officer", user_id="city-1") as city:
        r = await city.post("/status-lists", data={"kind": "deaths"}, files={"file": ("deaths.csv", data)})
        assert r.status_code == 201 and r.json()["counts"]["apply"] == 1, r.text
        assert (await city.post(f"/status-lists/{r.json()['list_id']}/apply")).status_code == 200
        assert (await city.get(f"/care-plans/{plan}")).json()["end_reason"] == "老人已故"
        closed = (await city.get(f"/home-beds/{bed}")).json()
        assert closed["state"] == "closed" and closed["close_reason"] == "老人已故"
    [ended] = await env.events("youfu.careplan.ended.v1", elder)
    assert ended["plan_id"] == plan and ended["effective_date"] == died
    assert await env.events("youfu.homebed.closed.v1", elder) == []  # it never opened
