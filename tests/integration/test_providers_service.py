"""The providers registry end to end: the standard catalogue, applications with credit-code
checks, the life cycle with its history and events (through the outbox and a real broker),
district scoping, documents, and catalogue price rules. Real HTTP, a real database."""
from __future__ import annotations

import asyncio
import json
import uuid

import sqlalchemy as sa

from services.providers.models import ProviderHistoryRow, ProviderRow
from shared.kernel_models import IdempotencyRow
from tests.integration.providers_harness import (
    GAOGANG,
    HAILING,
    add_caregiver,
    application,
    approved_provider,
    clock_reset,
    new_spot,
    providers,
    upload_documents,
)

__all__ = ["providers", "clock_reset"]  # module fixtures, imported for pytest


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


async def count(p, model) -> int:
    async with p.db.sessions() as s:
        return await s.scalar(sa.select(sa.func.count()).select_from(model))


async def test_standard_catalogue_is_there_for_everyone_and_admin_edits_it(providers):
    async with providers.client("elder", elder_ids=(str(uuid.uuid4()),)) as elder:
        items = (await elder.get("/service-items")).json()
        by_code = {i["code"]: i for i in items}
        assert {"meal", "bath", "clean", "emergency", "medical_escort", "mobility", "rehab", "visit",
                "companionship", "errand", "home_adaptation", "respite", "day_care", "institutional_care",
                "home_care_bed"} <= set(by_code)
        assert by_code["meal"]["name"] == "助餐" and by_code["meal"]["unit"] == "per_meal"
        assert by_code["visit"]["voucher_kinds"] == ["community", "mutual_aid"]
        assert by_code["clean"]["dispatch_mode"] == "grab" and by_code["clean"]["grab_size"] == 3
        assert (await elder.get("/service-items/bath")).json()["name"] == "助浴"
        assert problem(await elder.get("/service-items/massage"), 404)["detail"] == "标准服务目录中没有“massage”"
        body = {k: by_code["home_adaptation"][k] for k in ("name", "category", "unit", "min_duration_min",
                                                           "voucher_kinds", "dispatch_mode", "grab_size")}
        assert (await elder.put("/service-items/home_adaptation", json=body | {"guide_price_fen": 1})).status_code == 403
    async with providers.client("admin") as admin:
        r = await admin.put("/service-items/home_adaptation", json=body | {"guide_price_fen": 350000})
        assert r.status_code == 200 and r.json()["guide_price_fen"] == 350000, r.text
        assert (await admin.get("/service-items/home_adaptation")).json()["guide_price_fen"] == 350000
        bad = problem(await admin.put("/service-items/home_adaptation", json=body | {"guide_price_fen": -1}), 422)
        assert bad["errors"] == [{"field": "guide_price_fen", "reason": "不能小于 0"}]


async def test_credit_code_errors_are_field_level_and_nothing_is_written(providers):
    before = await count(providers, ProviderRow), await count(providers, IdempotencyRow)
    good = application(at=new_spot())
    async with providers.client("provider_admin") as applicant:
        wrong_check = good["credit_code"][:17] + ("0" if good["credit_code"][17] != "0" else "1")
        body = problem(await applicant.post("/providers", json=good | {"credit_code": wrong_check},
                                            headers={"Idempotency-Key": "bad-1"}), 422)
        assert body["errors"] == [{"field": "credit_code",
                                   "reason": "校验位（第 18 位）与前 17 位不符，请逐位核对营业执照或登记证书"}]
        body = problem(await applicant.post("/providers", json=good | {"credit_code": "91321202MA1XXXXXXI"}), 422)
        assert "不使用 I、O、Z、S、V" in body["errors"][0]["reason"]
        body = problem(await applicant.post("/providers", json=good | {
            "credit_code": "9132120", "district_code": "110101", "lat": 119.9, "lon": 32.4}), 422)
        assert {e["field"]: e["reason"] for e in body["errors"]} == {
            "credit_code": "应为 18 位，现为 7 位", "district_code": "不是本市的区县代码（如海陵区 321202）",
            "lat": "位置不在中国境内，请检查经纬度是否填反"}
        # full-width characters and spaces typed on a phone are folded, not refused
        r = await applicant.post("/providers", json=good | {"credit_code": " " + good["credit_code"][:4] + "－"
                                                            + good["credit_code"][4:].lower()})
        assert r.status_code == 201 and r.json()["credit_code"] == good["credit_code"], r.text
        again = problem(await applicant.post("/providers", json=application(at=new_spot()) | {
            "credit_code": good["credit_code"]}), 409)
        assert again["errors"] == [{"field": "credit_code", "reason": "已登记"}]
    assert (await count(providers, ProviderRow), await count(providers, IdempotencyRow)) == (before[0] + 1, before[1])


async def test_life_cycle_keeps_history_and_publishes_through_the_broker(providers):
    spot = new_spot()
    async with providers.client("provider_admin", user_id="applicant-1") as applicant:
        body = application(kind="meal_point", at=spot)
        first = await applicant.post("/providers", json=body, headers={"Idempotency-Key": "apply-1"})
        replay = await applicant.post("/providers", json=body, headers={"Idempotency-Key": "apply-1"})
        assert first.status_code == replay.status_code == 201 and first.json()["id"] == replay.json()["id"]
        provider_id = first.json()["id"]
        assert first.json()["status"] == "applied" and first.json()["documents"]["missing"] == ["licence", "food_permit"]
    async with providers.client("officer", district=GAOGANG) as elsewhere:
        assert problem(await elsewhere.post(f"/providers/{provider_id}/approve", json={}), 404)["resource"] == "provider"
        assert (await elsewhere.get(f"/providers/{provider_id}/history")).status_code == 404
    async with providers.client("officer", user_id="officer-hl", district=HAILING) as officer:
        missing = problem(await officer.post(f"/providers/{provider_id}/approve", json={}), 409)
        assert missing["missing"] == ["licence", "food_permit"] and "食品经营许可证" in missing["detail"]
        await upload_documents(providers, provider_id, "meal_point")
        approved = await officer.post(f"/providers/{provider_id}/approve", json={"reason": "现场核查通过"})
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
        twice = problem(await officer.post(f"/providers/{provider_id}/approve", json={}), 409)
        assert twice["current_state"] == "approved" and twice["detail"] == "服务商当前为“已通过”，不能审核通过"
        no_reason = problem(await officer.post(f"/providers/{provider_id}/suspend", json={}), 422)
        assert no_reason["errors"] == [{"field": "reason", "reason": "此项必填"}]
        suspended = await officer.post(f"/providers/{provider_id}/suspend", json={"reason": "投诉核查中"})
        assert suspended.json()["status"] == "suspended"
        reinstated = await officer.post(f"/providers/{provider_id}/reinstate", json={"reason": "核查无问题"})
        assert reinstated.json()["status"] == "approved"
        history = (await officer.get(f"/providers/{provider_id}/history")).json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("apply", None, "applied"), ("approve", "applied", "approved"), ("suspend", "approved", "suspended"),
        ("reinstate", "suspended", "approved")]
    assert [h["actor_id"] for h in history] == ["applicant-1", "officer-hl", "officer-hl", "officer-hl"]
    assert [h["reason"] for h in history][1:] == ["现场核查通过", "投诉核查中", "核查无问题"]
    published = [e for t in ("approved", "suspended", "reinstated")
                 for e in await providers.outbox(f"youfu.provider.{t}.v1") if e["data"]["provider_id"] == provider_id]
    assert [(e["type"], e["data"]["reason"], e["data"]["changed_by"]) for e in published] == [
        ("youfu.provider.approved.v1", "现场核查通过", "officer-hl"),
        ("youfu.provider.suspended.v1", "投诉核查中", "officer-hl"),
        ("youfu.provider.reinstated.v1", "核查无问题", "officer-hl")]
    # and a consumer on the broker reads them, in order, keyed by the provider
    received = await asyncio.to_thread(
        read_topic, providers.bootstrap, providers.topic_prefix + "youfu.providers", provider_id, 3)
    assert [json.loads(v)["type"] for k, v in received] == [e["type"] for e in published]
    assert {k for k, v in received} == {provider_id}

    async with providers.client("officer", district=HAILING) as officer:
        other = (await officer.post("/providers", json=application(at=new_spot()))).json()["id"]
        rejected = await officer.post(f"/providers/{other}/reject", json={"reason": "服务场地不符合要求"})
        assert rejected.json()["status"] == "rejected"
        assert problem(await officer.post(f"/providers/{other}/approve", json={}), 409)["current_state"] == "rejected"
    async with providers.db.sessions() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(ProviderHistoryRow).where(
            ProviderHistoryRow.provider_id == uuid.UUID(other))) == 2


def read_topic(bootstrap: str, topic: str, key: str, want: int, timeout_s: float = 20.0) -> list[tuple[str, bytes]]:
    """The records of one key, read by a plain KafkaConsumer. No consumer group: it assigns every
    partition and reads from the start, which needs no group join."""
    import time

    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=7000)
    found: list[tuple[str, bytes]] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout_s
        while len(found) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                found += [(r.key.decode(), r.value) for r in records if r.key and r.key.decode() == key]
    finally:
        consumer.close()
    return found


async def test_who_sees_what(providers):
    approved = await approved_provider(providers, at=new_spot())
    async with providers.client("officer", district=HAILING) as officer:
        applied = (await officer.post("/providers", json=application(at=new_spot()))).json()["id"]
    async with providers.client("elder") as elder:
        public = (await elder.get(f"/providers/{approved}")).json()
        assert public["name"].startswith("测试") and public["district_name"] == "海陵区" and "credit_code" not in {
            k for k, v in public.items() if v is not None}
        assert (await elder.get(f"/providers/{applied}")).status_code == 404
        listed = (await elder.get("/providers", params={"limit": 500})).json()
        assert approved in {x["id"] for x in listed} and applied not in {x["id"] for x in listed}
        assert (await elder.get(f"/providers/{approved}/caregivers")).status_code == 403
    async with providers.client("officer", district=GAOGANG) as elsewhere:
        assert problem(await elsewhere.get("/providers", params={"district_code": HAILING}), 403)
        assert all(x["district_code"] == GAOGANG for x in (await elsewhere.get("/providers")).json())
        assert (await elsewhere.get(f"/providers/{applied}")).status_code == 404
        assert "credit_code" not in {k for k, v in (await elsewhere.get(f"/providers/{approved}")).json().items() if v}
    async with providers.client("officer", district=HAILING) as officer:
        mine = {x["id"]: x for x in (await officer.get("/providers", params={"status": "applied", "limit": 500})).json()}
        assert applied in mine and mine[applied]["credit_code"] and mine[applied]["documents"]["ok"] is False
    async with providers.client("provider_admin", provider_id=applied) as stranger:
        assert (await stranger.post(f"/providers/{approved}/catalogue", json={"service_code": "meal",
                                                                              "price_fen": 1000})).status_code == 404
        assert (await stranger.put(f"/providers/{approved}/service-area", json={"radius_m": 3000})).status_code == 404
        assert (await stranger.get(f"/providers/{applied}")).json()["credit_code"]  # its own, in any state
    async with providers.client("caregiver", provider_id=approved) as carer:
        assert (await carer.post(f"/providers/{approved}/catalogue", json={"service_code": "meal",
                                                                           "price_fen": 1000})).status_code == 403
    async with providers.client("city_officer") as city:
        assert (await city.get(f"/providers/{applied}")).json()["status"] == "applied"
        r = await city.put(f"/providers/{approved}/star-rating", json={"star_rating": 4, "reason": "2026 年星级评定"})
        assert r.status_code == 200 and r.json()["star_rating"] == 4
        assert (await city.get(f"/providers/{approved}/history")).json()[-1]["reason"] == "星级 无 → 4：2026 年星级评定"
    async with providers.client("provider_admin", provider_id=approved) as own:
        assert (await own.put(f"/providers/{approved}/star-rating", json={"star_rating": 5,
                                                                          "reason": "自评"})).status_code == 403
    carer_id = await add_caregiver(providers, approved, at=new_spot(), name="本机构护理员")
    async with providers.client("caregiver", provider_id=approved) as colleague:
        assert (await colleague.get(f"/caregivers/{carer_id}")).json()["name"] == "本机构护理员"
        assert [c["name"] for c in (await colleague.get(f"/providers/{approved}/caregivers")).json()] == ["本机构护理员"]
        assert (await colleague.patch(f"/caregivers/{carer_id}", json={"daily_limit": 3})).status_code == 403
    async with providers.client("caregiver", provider_id=applied) as stranger:
        assert (await stranger.get(f"/caregivers/{carer_id}")).status_code == 404
    async with providers.client("provider_admin", provider_id=applied) as stranger:
        assert (await stranger.patch(f"/caregivers/{carer_id}", json={"daily_limit": 3})).status_code == 404
    async with providers.client("elder") as anyone:
        health = (await anyone.get("/health")).json()
        assert health["status"] == "ok" and health["index"]["caregivers"] >= 1


async def test_documents_expired_on_upload_and_the_expiring_list(providers):
    async with providers.client("officer", district=HAILING) as officer:
        provider_id = (await officer.post("/providers", json=application(at=new_spot()))).json()["id"]
        expired = problem(await officer.post(f"/providers/{provider_id}/documents", json={
            "kind": "licence", "number": "L-1", "expires_on": "2026-03-09"}), 422)
        assert expired["errors"] == [{"field": "expires_on", "reason": "已过期"}]
        soon = await officer.post(f"/providers/{provider_id}/documents", json={
            "kind": "insurance", "number": "INS-1", "issued_on": "2025-04-01", "expires_on": "2026-03-31"})
        assert soon.status_code == 201 and soon.json()["days_left"] == 21 and soon.json()["required"]
        listed = (await officer.get("/documents/expiring", params={"within_days": 30})).json()
        assert ("INS-1", 21) in [(d["number"], d["days_left"]) for d in listed if d["provider_id"] == provider_id]
        assert not [d for d in (await officer.get("/documents/expiring", params={"within_days": 7})).json()
                    if d["provider_id"] == provider_id]
    async with providers.client("officer", district=GAOGANG) as elsewhere:
        assert all(d["district_code"] == GAOGANG for d in (await elsewhere.get("/documents/expiring")).json())
    async with providers.client("provider_admin", provider_id=provider_id) as own:
        docs = (await own.get(f"/providers/{provider_id}/documents")).json()
        assert docs["state"]["missing"] == ["licence"] and docs["state"]["valid_until"] is None
        assert (await own.get("/documents/expiring")).status_code == 403


async def test_catalogue_prices_vouchers_and_the_changed_event(providers):
    provider_id = await approved_provider(providers, at=new_spot(), items={})
    async with providers.client("provider_admin", provider_id=provider_id) as own:
        above = problem(await own.post(f"/providers/{provider_id}/catalogue",
                                       json={"service_code": "bath", "price_fen": 8001}), 422)
        assert above["errors"] == [{"field": "price_fen", "reason": "可用券的服务价格不能高于指导价 80.00 元"}]
        r = await own.post(f"/providers/{provider_id}/catalogue",
                           json={"service_code": "bath", "price_fen": 9000, "voucher_kinds": []})
        assert r.status_code == 201 and r.json()["unit"] == "per_visit", r.text  # self-paid: the provider's price
        bath = r.json()["id"]
        assert problem(await own.post(f"/providers/{provider_id}/catalogue",
                                      json={"service_code": "bath", "price_fen": 100}), 409)["item_id"] == bath
        unknown = problem(await own.post(f"/providers/{provider_id}/catalogue",
                                         json={"service_code": "massage", "price_fen": 100}), 422)
        assert unknown["errors"] == [{"field": "service_code", "reason": "未知的服务项目"}]
        negative = problem(await own.post(f"/providers/{provider_id}/catalogue",
                                          json={"service_code": "meal", "price_fen": -5}), 422)
        assert negative["errors"][0]["field"] == "price_fen"
        wrong_kind = problem(await own.post(f"/providers/{provider_id}/catalogue", json={
            "service_code": "meal", "price_fen": 1000, "voucher_kinds": ["mutual_aid"]}), 422)
        assert wrong_kind["errors"] == [{"field": "voucher_kinds", "reason": "“助餐”只能使用：社区照护券"}]
        short = problem(await own.post(f"/providers/{provider_id}/catalogue", json={
            "service_code": "clean", "price_fen": 1000, "min_duration_min": 10}), 422)
        assert short["errors"] == [{"field": "min_duration_min", "reason": "不能短于标准目录的 60 分钟"}]
        meal = (await own.post(f"/providers/{provider_id}/catalogue", json={"service_code": "meal",
                                                                            "price_fen": 1200})).json()
        assert meal["voucher_kinds"] == ["community"] and meal["min_duration_min"] == 0
        assert problem(await own.patch(f"/providers/{provider_id}/catalogue/{meal['id']}",
                                       json={"price_fen": 1600}), 422)["errors"][0]["field"] == "price_fen"
        r = await own.patch(f"/providers/{provider_id}/catalogue/{bath}", json={"voucher_kinds": ["community"]})
        assert problem(r, 422)["errors"][0]["field"] == "price_fen"  # 90 元 is above the guide once vouchers apply
        r = await own.patch(f"/providers/{provider_id}/catalogue/{bath}", json={"price_fen": 7500,
                                                                                 "voucher_kinds": ["community"]})
        assert r.status_code == 200 and r.json()["price_fen"] == 7500
    changes = [e["data"] for e in await providers.outbox("youfu.provider.catalogue_changed.v1")
               if e["data"]["provider_id"] == provider_id]
    assert len(changes) == 3  # bath, meal, the bath change; refused ones published nothing
    assert [(i["service_code"], i["price_fen"], i["voucher_kinds"]) for i in changes[-1]["items"]] == [
        ("bath", 7500, ["community"]), ("meal", 1200, ["community"])]
    async with providers.client("elder") as elder:
        listed = (await elder.get(f"/providers/{provider_id}/catalogue")).json()
        assert [i["service_code"] for i in listed] == ["bath", "meal"]


async def test_a_list_offset_past_any_list_is_a_field_error_not_a_server_error(providers):
    # schemathesis found it: an offset beyond bigint reached PostgreSQL and answered 500
    async with providers.client("admin") as admin:
        for offset in (1_000_001, 1544138683539326500864, -1):
            r = await admin.get("/providers", params={"offset": offset})
            body = problem(r, 422)
            assert [e["field"] for e in body["errors"]] == ["query.offset"], body
        assert (await admin.get("/providers", params={"offset": 1_000_000})).json() == []
