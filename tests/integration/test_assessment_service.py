"""The assessment service's elder records over real HTTP on a real database: registration and
its field-level refusals, duplicates, idempotency, masking per role with the access log,
district and household scoping, updates and their events, encryption at rest."""
from __future__ import annotations

import asyncio
import json
import uuid

import sqlalchemy as sa

from services.assessment.models import ElderRow, EmergencyContactRow
from services.assessment.rules.idcard import mask_id_card, mask_phone
from shared.pii import PiiCipher
from tests.integration.assessment_harness import GAOGANG, HAILING, JIANGYAN, assessment, elder_body, new_phone

__all__ = ["assessment"]  # the module fixture, imported for pytest


async def test_register_answers_masked_and_publishes_registered(assessment):
    body = elder_body(HAILING)
    async with assessment.client("officer", district=HAILING) as officer:
        r = await officer.post("/elders", json=body)
    assert r.status_code == 201, r.text
    elder = r.json()
    assert elder["id_card"] == mask_id_card(body["id_card"]) != body["id_card"]
    assert elder["phone"] == mask_phone(body["phone"])
    assert elder["emergency_contacts"][0]["phone"] == mask_phone(body["emergency_contacts"][0]["phone"])
    assert elder["unmasked"] == [] and elder["district_name"] == "海陵区" and elder["grade"] is None
    assert elder["special_hardship"] is True and elder["special_hardship_reasons"] == ["独居且经济困难（低保）"]
    [event] = await assessment.outbox("youfu.elder.registered.v1", elder["id"])
    assert event == {"elder_id": elder["id"], "district_code": HAILING, "street": "城东", "economic_status": "dibao",
                     "living_situation": "alone", "lat": 32.49, "lon": 119.92, "special_hardship": True,
                     "status": "active", "grade": None, "birth_date": body["birth_date"], "name": "王大爷",
                     "address": body["address"], "status_date": None}
    assert body["id_card"] not in json.dumps(event) and body["phone"] not in json.dumps(event)


async def test_invalid_registrations_name_each_field_in_chinese_and_write_nothing(assessment):
    elders, events = await assessment.count("elders"), await assessment.count("outbox")
    good = elder_body(HAILING)
    wrong_check = good["id_card"][:17] + ("0" if good["id_card"][17] != "0" else "1")
    cases = [
        ({"id_card": wrong_check}, {"id_card": "身份证号码校验位不正确，请核对是否输错"}),
        ({"id_card": "32120219480506"}, {"id_card": "身份证号码应为 18 位"}),
        ({"birth_date": "1950-01-01"},
         {"id_card": f"身份证号码中的出生日期 {good['birth_date']} 与填写的出生日期 1950-01-01 不一致"}),
        ({"gender": "female"}, {"gender": "身份证号码显示性别为男，与填写的性别不一致"}),
        ({"phone": "12345", "district_code": "320102", "lat": 48.85, "lon": 2.35},
         {"phone": "手机号码应为 11 位大陆手机号，以 13–19 开头", "district_code": None, "lat": None}),
        ({"status": "deceased"}, {"status_date": "老人状态为已故时请填写日期"}),
    ]
    async with assessment.client("officer", district=HAILING) as officer:
        for change, expected in cases:
            r = await officer.post("/elders", json=good | change)
            assert r.status_code == 422, (change, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            reasons = {e["field"]: e["reason"] for e in r.json()["errors"]}
            assert set(reasons) == set(expected), (change, reasons)
            for field, reason in expected.items():
                assert reason is None or reasons[field] == reason
            if "district_code" in reasons:
                assert "泰州市" in reasons["district_code"] and "WGS-84" in reasons["lat"]
        r = await officer.post("/elders", json={k: v for k, v in good.items() if k != "name"} | {"gender": "x"})
        assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"name", "gender"}
        # another district's officer may not register here at all
        async with assessment.client("officer", district=GAOGANG) as other:
            assert (await other.post("/elders", json=good)).status_code == 403
        async with assessment.client("caregiver") as caregiver:
            assert (await caregiver.post("/elders", json=good)).status_code == 403
    assert (await assessment.count("elders"), await assessment.count("outbox")) == (elders, events)


async def test_duplicate_id_card_is_409_and_names_the_record_only_to_its_readers(assessment):
    body = elder_body(HAILING)
    first = await assessment.register(body)
    elders = await assessment.count("elders")
    async with assessment.client("officer", district=HAILING) as officer:
        r = await officer.post("/elders", json=elder_body(HAILING, id_card=body["id_card"].lower(),
                                                          birth_date=body["birth_date"]))
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["errors"] == [{"field": "id_card", "reason": "该身份证号码已登记"}]
    assert problem["existing_elder_id"] == first["id"]
    async with assessment.client("city_officer") as city:
        r = await city.post("/elders", json=elder_body(GAOGANG, id_card=body["id_card"], birth_date=body["birth_date"]))
    assert r.status_code == 409 and r.json()["existing_elder_id"] == first["id"]
    async with assessment.client("assessor", district=GAOGANG) as stranger:
        r = await stranger.post("/elders", json=elder_body(GAOGANG, id_card=body["id_card"],
                                                           birth_date=body["birth_date"]))
    assert r.status_code == 409 and "existing_elder_id" not in r.json()  # no leak across districts
    assert await assessment.count("elders") == elders


async def test_post_elders_is_idempotent(assessment):
    body = elder_body(HAILING)
    async with assessment.client("officer", user_id="clerk-idem", district=HAILING) as officer:
        h = {"Idempotency-Key": "register-1"}
        first, again = [await officer.post("/elders", json=body, headers=h) for _ in range(2)]
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        r = await officer.post("/elders", json=body | {"name": "李奶奶"}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(await assessment.outbox("youfu.elder.registered.v1", first.json()["id"])) == 1


async def test_masking_per_role_and_every_unmasked_read_is_logged(assessment):
    body = elder_body(HAILING)
    elder = await assessment.register(body)
    path, full_id, full_phone = f"/elders/{elder['id']}", body["id_card"], body["phone"]
    contact_phone = body["emergency_contacts"][0]["phone"]

    async def read(role, **fields):
        async with assessment.client(role, **fields) as c:
            r = await c.get(path)
            assert r.status_code == 200, (role, r.text)
            return r.json()

    officer = await read("officer", user_id="off-1", district=HAILING)
    assert (officer["id_card"], officer["phone"], officer["emergency_contacts"][0]["phone"]) == \
        (full_id, full_phone, contact_phone)
    assert officer["unmasked"] == ["id_card", "phone", "emergency_contacts.phone"]
    for role, fields in (("city_officer", {"user_id": "city-1"}), ("admin", {"user_id": "admin-1"})):
        assert (await read(role, **fields))["id_card"] == full_id
    stranger = await read("assessor", user_id="ass-x", district=HAILING)
    assert stranger["id_card"] == mask_id_card(full_id) and stranger["unmasked"] == []
    async with assessment.client("officer", district=HAILING) as c:
        r = await c.post(f"{path}/assessors", json={"assessor_id": "ass-1"})
        assert r.status_code == 201 and r.json()["source"] == "officer"
    assigned = await read("assessor", user_id="ass-1", district=HAILING)
    assert assigned["id_card"] == full_id and assigned["phone"] == full_phone
    for role in ("elder", "family"):
        own = await read(role, user_id=f"{role}-1", elder_ids=(elder["id"],))
        assert own["id_card"] == mask_id_card(full_id) and own["phone"] == full_phone
        assert own["unmasked"] == ["phone", "emergency_contacts.phone"]
    desk = await read("operator", user_id="desk-1", district=HAILING)  # the 12349 desk calls back, never sees the ID
    assert desk["id_card"] == mask_id_card(full_id) and desk["emergency_contacts"][0]["phone"] == contact_phone
    assert desk["unmasked"] == ["phone", "emergency_contacts.phone"]
    service = await read("service", user_id="svc:orders")
    assert service["id_card"] == mask_id_card(full_id) and service["phone"] == mask_phone(full_phone)
    for role in ("provider_admin", "caregiver"):
        async with assessment.client(role) as c:
            assert (await c.get(path)).status_code == 403
    async with assessment.client("officer", district=HAILING) as c:  # lists stay masked
        listed = (await c.get("/elders", params={"q": full_id})).json()
        assert [e["id_card"] for e in listed["items"]] == [mask_id_card(full_id)]

    async with assessment.client("admin") as admin:
        log = (await admin.get("/access-log", params={"elder_id": elder["id"]})).json()
    readers = {(e["user_id"], e["role"]): e["fields"] for e in log["items"]}
    assert readers == {
        ("off-1", "officer"): ["id_card", "phone", "emergency_contacts.phone"],
        ("city-1", "city_officer"): ["id_card", "phone", "emergency_contacts.phone"],
        ("admin-1", "admin"): ["id_card", "phone", "emergency_contacts.phone"],
        ("ass-1", "assessor"): ["id_card", "phone", "emergency_contacts.phone"],
        ("elder-1", "elder"): ["phone", "emergency_contacts.phone"],
        ("family-1", "family"): ["phone", "emergency_contacts.phone"],
        ("desk-1", "operator"): ["phone", "emergency_contacts.phone"],
    }
    assert all(e["route"] == f"GET {path}" for e in log["items"])
    async with assessment.client("city_officer") as city:
        assert (await city.get("/access-log")).status_code == 403


async def test_district_and_household_scoping_answer_404(assessment):
    gaogang = await assessment.register(elder_body(GAOGANG), district=GAOGANG)
    hailing = await assessment.register(elder_body(HAILING))
    async with assessment.client("officer", district=HAILING) as officer:
        r = await officer.get(f"/elders/{gaogang['id']}")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        missing = await officer.get("/elders/00000000-0000-0000-0000-000000000000")
        assert missing.json()["detail"] == r.json()["detail"]  # indistinguishable from no such elder
        assert (await officer.patch(f"/elders/{gaogang['id']}", json={"street": "x"})).status_code == 404
        assert (await officer.get(f"/elders/{gaogang['id']}/assessments")).status_code == 404
        listed = (await officer.get("/elders", params={"page_size": 100})).json()["items"]
        assert {e["district_code"] for e in listed} == {HAILING}
        assert (await officer.get("/elders", params={"district_code": GAOGANG})).json()["total"] == 0
    async with assessment.client("assessor", district=GAOGANG) as assessor:
        assert (await assessor.get(f"/elders/{hailing['id']}")).status_code == 404
        assert (await assessor.get(f"/elders/{gaogang['id']}")).status_code == 200
    async with assessment.client("family", elder_ids=(hailing["id"],)) as family:
        assert (await family.get(f"/elders/{hailing['id']}")).status_code == 200
        assert (await family.get(f"/elders/{gaogang['id']}")).status_code == 404
        assert [e["id"] for e in (await family.get("/elders")).json()["items"]] == [hailing["id"]]
        assert (await family.patch(f"/elders/{hailing['id']}", json={"street": "城西"})).status_code == 403
    # the 12349 desk: a district's reads only its district, a city-wide one (no district) everyone; neither writes
    async with assessment.client("operator", district=HAILING) as desk:
        assert (await desk.get(f"/elders/{gaogang['id']}")).status_code == 404
        assert (await desk.get(f"/elders/{hailing['id']}/assessments")).status_code == 200
        assert {e["district_code"] for e in (await desk.get("/elders", params={"page_size": 100})).json()["items"]} == {HAILING}
        assert (await desk.patch(f"/elders/{hailing['id']}", json={"street": "城西"})).status_code == 403
        assert (await desk.post("/elders", json=elder_body(HAILING))).status_code == 403
    async with assessment.client("operator") as city_desk:
        assert (await city_desk.get(f"/elders/{gaogang['id']}")).status_code == 200
        assert (await city_desk.get(f"/elders/{hailing['id']}")).status_code == 200


async def test_patch_recomputes_hardship_and_publishes_updated(assessment):
    elder = await assessment.register(elder_body(JIANGYAN, street="三水"), district=JIANGYAN)
    path = f"/elders/{elder['id']}"
    async with assessment.client("officer", district=JIANGYAN) as officer:
        r = await officer.patch(path, json={"economic_status": "none", "address": "泰州市姜堰区三水街道 8 号"})
        assert r.status_code == 200, r.text
        assert r.json()["special_hardship"] is False and r.json()["economic_status_name"] == "无"
        same = await officer.patch(path, json={"economic_status": "none"})  # no change, no event
        assert same.status_code == 200
        r = await officer.patch(path, json={"status": "deceased"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status_date"
        r = await officer.patch(path, json={"name": None})
        assert r.status_code == 422 and r.json()["errors"] == [{"field": "name", "reason": "不能为空"}]
        r = await officer.patch(path, json={"district_code": HAILING})
        assert r.status_code == 403 and r.json()["errors"][0]["field"] == "district_code"
        new_contact = new_phone()
        r = await officer.patch(path, json={"emergency_contacts": [{"name": "李强", "relation": "儿子",
                                                                      "phone": new_contact}]})
        assert r.json()["emergency_contacts"] == [{"name": "李强", "relation": "儿子", "phone": mask_phone(new_contact)}]
    async with assessment.client("city_officer") as city:
        r = await city.patch(path, json={"district_code": HAILING, "street": "城北", "status": "moved_away",
                                         "status_date": "2025-01-02"})
        assert r.status_code == 200 and r.json()["district_name"] == "海陵区"
    events = await assessment.outbox("youfu.elder.updated.v1", elder["id"])
    assert [e["changed_fields"] for e in events] == [
        ["address", "economic_status", "special_hardship"], ["emergency_contacts"],
        ["district_code", "street", "status", "status_date"]]
    assert events[0]["special_hardship"] is False and events[0]["grade"] is None
    assert events[-1] | {"changed_fields": None} == events[-1] | {
        "district_code": HAILING, "street": "城北", "status": "moved_away", "status_date": "2025-01-02",
        "changed_fields": None}


async def test_personal_data_is_encrypted_at_rest_and_found_by_blind_index(assessment):
    body = elder_body(HAILING)
    elder = await assessment.register(body)
    elders, contacts = ElderRow.__table__, EmergencyContactRow.__table__  # Core: the raw column values
    async with assessment.db.sessions() as s:
        row = (await s.execute(sa.select(elders).where(elders.c.id == uuid.UUID(elder["id"])))).mappings().one()
        contact = (await s.execute(sa.select(contacts).where(contacts.c.elder_id == uuid.UUID(elder["id"]))))\
            .mappings().one()
    raw = json.dumps({k: str(v) for k, v in (dict(row) | {"contact": dict(contact)}).items()})
    for plain in (body["id_card"], body["phone"], body["emergency_contacts"][0]["phone"]):
        assert plain not in raw
    cipher = PiiCipher(assessment.pii_key)
    assert cipher.decrypt(row["id_card_cipher"]) == body["id_card"]
    assert cipher.decrypt(contact["phone_cipher"]) == body["emergency_contacts"][0]["phone"]
    assert row["id_card_index"] == cipher.blind_index(body["id_card"])
    async with assessment.client("officer", district=HAILING) as officer:
        for q in (body["id_card"], body["phone"]):
            found = (await officer.get("/elders", params={"q": q})).json()
            assert [e["id"] for e in found["items"]] == [elder["id"]], q
        by_name = (await officer.get("/elders", params={"q": "大爷", "page_size": 100})).json()["items"]
        assert elder["id"] in [e["id"] for e in by_name]


async def test_concurrent_registrations_of_one_id_card_leave_one_record(assessment):
    body = elder_body(HAILING)
    async with assessment.client("officer", district=HAILING) as officer:
        answers = await asyncio.gather(*(officer.post("/elders", json=body | {"phone": new_phone()})
                                         for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [r.text for r in answers]
    async with assessment.client("officer", district=HAILING) as officer:
        assert (await officer.get("/elders", params={"q": body["id_card"]})).json()["total"] == 1
