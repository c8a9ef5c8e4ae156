"""Instruments, live scoring, the two-assessor sign-off with its events (through the outbox and
once all the way to a Kafka consumer on the real broker), and the reassessment-due list."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from services.assessment.rules.assessments import score
from tests.integration.assessment_harness import GAOGANG, GB, HAILING, JIANGYAN, assessment, elder_body, items_totalling, wait_for

__all__ = ["assessment"]  # the module fixture, imported for pytest
ASSESSOR_A = {"user_id": "assessor-a", "district": HAILING}
ASSESSOR_B = {"user_id": "assessor-b", "district": HAILING}


async def test_instruments_are_data_and_score_matches_the_pure_function(assessment):
    async with assessment.client("caregiver") as anyone:  # any signed-in user
        listed = (await anyone.get("/instruments")).json()
        assert {i["code"]: i["default"] for i in listed} == {"barthel": False, "gb_t_42195_2022": True,
                                                             "mz_t_039_2013": False}
        gb = (await anyone.get("/instruments/gb_t_42195_2022")).json()
        assert len(gb["items"]) == 26 and gb["items"][0]["name"] == "进食"
        assert gb["adjustments"][1]["trigger"]["ranges"][0] == {"from": "F00", "to": "F03", "label": "痴呆"}
        items = items_totalling(50)
        body = {"items": items, "coma": False, "diagnoses": ["F01.1"], "risk_events_30d": ["fall", "choking"]}
        r = await anyone.post("/instruments/gb_t_42195_2022/score", json=body)
        assert r.status_code == 200, r.text
        expected = score(GB, items, diagnoses=["F01.1"], risk_events_30d=["fall", "choking"])
        got = r.json()
        assert (got["total"], got["initial_grade"], got["grade"], got["grade_name"]) == \
            (expected.total, expected.initial_grade, expected.grade, expected.grade_name) == \
            (50, 2, 3, "能力重度受损（重度失能）")
        assert {d["code"]: d["score"] for d in got["dimensions"]} == expected.dimensions
        assert [d["name"] for d in got["dimensions"]] == ["自理能力", "基础运动能力", "精神状态", "感知觉与社会参与"]
        assert [a["reason"] for a in got["adjustments"]] == [a.reason for a in expected.adjustments]
        assert "痴呆（F01.1）" in got["adjustments"][0]["reason"] and "只提高一级" in got["adjustments"][1]["reason"]
        assert got["care_plan"]["visits_per_week"] == 5
        r = await anyone.post("/instruments/gb_t_42195_2022/score",
                              json=body | {"items": items | {"eating": 9, "flying": 1}, "risk_events_30d": ["ufo"]})
        assert r.status_code == 422
        fields = {e["field"]: e["reason"] for e in r.json()["errors"]}
        assert fields["items.eating"] == "进食 的分值必须是 0、1、2、3、4 之一"
        assert set(fields) == {"items.eating", "items.flying", "risk_events_30d.0"}
        assert (await anyone.post("/instruments/nope/score", json=body)).status_code == 404
    async with assessment.client() as c:
        c.headers.pop("Authorization")
        assert (await c.get("/instruments")).status_code == 401


async def test_two_assessors_finalise_once_and_the_result_is_immutable(assessment):
    elder = await assessment.register(elder_body(HAILING, living_situation="with_family", economic_status="none"))
    assert elder["special_hardship"] is False
    items = items_totalling(50)
    partial = {k: items[k] for k in list(items)[:10]}
    async with assessment.client("assessor", **ASSESSOR_A) as a, assessment.client("assessor", **ASSESSOR_B) as b:
        r = await a.post(f"/elders/{elder['id']}/assessments", json={"items": partial, "risk_events_30d": ["fall"]})
        assert r.status_code == 201, r.text
        draft = r.json()
        assert draft["state"] == "draft" and draft["reason"] == "initial" and len(draft["missing_items"]) == 16
        path = f"/assessments/{draft['id']}"
        second = await b.post(f"/elders/{elder['id']}/assessments", json={})
        assert second.status_code == 409 and second.json()["assessment_id"] == draft["id"]
        r = await a.post(f"{path}/sign")
        assert r.status_code == 422 and len(r.json()["errors"]) == 16
        assert r.json()["errors"][0] == {"field": "items.walking", "reason": "平地行走 尚未评分"}
        r = await a.put(path, json={"items": items | {"stairs": 7}})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items.stairs"
        assert (await a.get(path)).json()["items"] == partial  # nothing partial stored on refusal
        r = await b.put(path, json={"items": items, "diagnoses": ["F03"]})
        assert r.status_code == 200 and r.json()["missing_items"] == []
        r = await a.post(f"{path}/sign")
        assert r.status_code == 200 and r.json()["state"] == "signed" and r.json()["first_assessor_id"] == "assessor-a"
        r = await a.post(f"{path}/sign")
        assert r.status_code == 409 and r.json()["rule"] == "two_different_assessors"
        r = await b.put(path, json={"items": items})
        assert r.status_code == 409 and r.json()["current_state"] == "signed"
        r = await b.post(f"{path}/sign")
        assert r.status_code == 200, r.text
        final = r.json()
        assert final["state"] == "finalised" and final["second_assessor_id"] == "assessor-b"
        assert (final["result"]["total"], final["result"]["initial_grade"], final["result"]["grade"]) == (50, 2, 3)
        for attempt in (b.put(path, json={"items": items}), b.post(f"{path}/sign"), a.post(f"{path}/sign")):
            r = await attempt
            assert r.status_code == 409 and r.json()["current_state"] == "finalised", r.text
            assert "已定稿" in r.json()["detail"]
        assert (await a.get(path)).json() == final
        # a reassessment is a new record pointing to the previous one
        r = await a.post(f"/elders/{elder['id']}/assessments", json={"reason": "condition_changed"})
        assert r.status_code == 201 and r.json()["previous_id"] == final["id"]
        history = (await a.get(f"/elders/{elder['id']}/assessments")).json()
        assert [h["state"] for h in history] == ["draft", "finalised"]
    async with assessment.client("family", elder_ids=(elder["id"],)) as family:
        assert [h["id"] for h in (await family.get(f"/elders/{elder['id']}/assessments")).json()] == [final["id"]]
        assert (await family.get(f"/assessments/{history[0]['id']}")).status_code == 404  # drafts are staff-only
        record = (await family.get(f"/elders/{elder['id']}")).json()
        assert record["grade"] == 3 and record["special_hardship"] is True
        assert record["reassessment_due_on"] == final["valid_until"]
    async with assessment.client("assessor", district=GAOGANG) as stranger:
        assert (await stranger.get(f"/assessments/{final['id']}")).status_code == 404
        assert (await stranger.post(f"/assessments/{final['id']}/sign")).status_code == 404

    [completed] = await assessment.outbox("youfu.assessment.completed.v1", elder["id"])
    assert {k: completed[k] for k in ("assessment_id", "instrument", "total", "initial_grade", "grade",
                                      "special_hardship", "district_code", "reason")} == {
        "assessment_id": final["id"], "instrument": "gb_t_42195_2022", "total": 50, "initial_grade": 2, "grade": 3,
        "special_hardship": True, "district_code": HAILING, "reason": "initial"}
    assert completed["finalised_at"] and completed["dimensions"]["self_care"] == final["result"]["dimensions"][0]["score"]
    [updated] = await assessment.outbox("youfu.elder.updated.v1", elder["id"])
    assert (updated["grade"], updated["special_hardship"]) == (3, True)
    assert updated["changed_fields"] == ["last_finalised_at", "grade", "special_hardship"]


async def test_the_events_reach_a_consumer_on_the_broker(assessment):
    elder = await assessment.register(elder_body(HAILING))
    async with assessment.client("assessor", **ASSESSOR_A) as a, assessment.client("assessor", **ASSESSOR_B) as b:
        draft = (await a.post(f"/elders/{elder['id']}/assessments", json={"items": items_totalling(70)})).json()
        await a.post(f"/assessments/{draft['id']}/sign")
        assert (await b.post(f"/assessments/{draft['id']}/sign")).json()["state"] == "finalised"
    wanted = {"youfu.elder.registered.v1", "youfu.assessment.completed.v1", "youfu.elder.updated.v1"}

    def consume() -> list[dict]:
        from kafka import KafkaConsumer, TopicPartition

        # no consumer group: assign every partition and read from the start, which needs no join
        consumer = KafkaConsumer(bootstrap_servers=assessment.bootstrap, enable_auto_commit=False,
                                 request_timeout_ms=7000)
        try:
            partitions = consumer.partitions_for_topic(assessment.topic_prefix + "youfu.assessment")
            if not partitions:
                return []
            consumer.assign([TopicPartition(assessment.topic_prefix + "youfu.assessment", p) for p in partitions])
            consumer.seek_to_beginning()
            seen: list[dict] = []
            for _ in range(100):
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        event = json.loads(record.value)
                        if event["subject"] == elder["id"]:
                            assert record.key.decode() == elder["id"]  # keyed by elder: one elder's events in order
                            seen.append(event)
                if {e["type"] for e in seen} >= wanted:
                    return seen
            return seen
        finally:
            consumer.close()

    async def delivered():
        seen = await asyncio.to_thread(consume)
        return seen if {e["type"] for e in seen} >= wanted else None

    seen = await wait_for(delivered, timeout_s=30, what="assessment events on the broker")
    assert [e["type"] for e in seen] == ["youfu.elder.registered.v1", "youfu.assessment.completed.v1",
                                         "youfu.elder.updated.v1"]
    assert seen[1]["data"]["grade"] == 1 and seen[1]["source"] == "/youfu/assessment"
    assert seen[1]["specversion"] == "1.0"


async def test_reassessments_due_after_the_policy_period(assessment):
    never = await assessment.register(elder_body(JIANGYAN, name="从未评估"), district=JIANGYAN)
    assessed = await assessment.register(elder_body(JIANGYAN, name="刚评估"), district=JIANGYAN)
    departed = await assessment.register(elder_body(JIANGYAN, name="已迁出", status="moved_away",
                                                    status_date="2024-01-01"), district=JIANGYAN)
    a, b = {"user_id": "jy-a", "district": JIANGYAN}, {"user_id": "jy-b", "district": JIANGYAN}
    start = assessment.clock.now
    try:
        async with assessment.client("assessor", **a) as first, assessment.client("assessor", **b) as second:
            draft = (await first.post(f"/elders/{assessed['id']}/assessments",
                                      json={"items": items_totalling(90)})).json()
            await first.post(f"/assessments/{draft['id']}/sign")
            final = (await second.post(f"/assessments/{draft['id']}/sign")).json()
            r = await first.post(f"/elders/{departed['id']}/assessments", json={})
            assert r.status_code == 409 and r.json()["current_state"] == "moved_away"

        async def due(role="officer", **params) -> dict:
            async with assessment.client(role, district=JIANGYAN) as officer:
                r = await officer.get("/reassessments-due", params=params)
                assert r.status_code == 200, r.text
                return r.json()

        now = await due()
        assert [(i["name"], i["why"]) for i in now["items"]] == [("从未评估", "never_assessed")]
        assert now["reassessment_months"] == 6
        assessment.clock.now = start + timedelta(days=200)
        later = await due(role="assessor")
        assert [(i["name"], i["why"]) for i in later["items"]] == [("从未评估", "never_assessed"),
                                                                   ("刚评估", "period_elapsed")]
        assert later["items"][1]["due_on"] == final["valid_until"]
        async with assessment.client("officer", district=HAILING) as other:
            r = await other.get("/reassessments-due", params={"district_code": JIANGYAN})
            assert r.status_code == 403
        async with assessment.client("city_officer") as city:
            listed = (await city.get("/reassessments-due", params={"district_code": JIANGYAN})).json()
            assert {i["elder_id"] for i in listed["items"]} == {never["id"], assessed["id"]}
        async with assessment.client("family", elder_ids=(never["id"],)) as family:
            assert (await family.get("/reassessments-due")).status_code == 403
    finally:
        assessment.clock.now = start


async def test_concurrent_drafts_for_one_elder_leave_one_open(assessment):
    elder = await assessment.register(elder_body(HAILING))
    async with assessment.client("assessor", **ASSESSOR_A) as a, assessment.client("assessor", **ASSESSOR_B) as b:
        answers = await asyncio.gather(*(c.post(f"/elders/{elder['id']}/assessments", json={})
                                         for c in (a, b, a, b, a)))
        assert sorted(r.status_code for r in answers) == [201, 409, 409, 409, 409], [r.text for r in answers]
        assert len((await a.get(f"/elders/{elder['id']}/assessments")).json()) == 1
