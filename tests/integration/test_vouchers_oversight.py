"""Return visits and complaints on the vouchers service (issue 24), on a real database: the
monthly sample drawn once, stored and reproducible from its seed; results recorded by an
officer or a hotline operator; a "服务未发生" keeping the order out of a confirmed settlement
until its finding is resolved (cleared: paid with a later month; upheld: reversed); the
complaint ticket's lifecycle with its deadline, anonymity towards the provider and scope; a
complaint's photo (stripped, limited, read only within scope); the bureau's figures."""
from __future__ import annotations

import asyncio
import io
import uuid
from datetime import datetime

import sqlalchemy as sa
from PIL import Image

from services.vouchers.models import CompletedOrderRow, TransferRow
from services.vouchers.rules.return_visits import CompletedOrder, draw_sample
from shared.city import CITY_TZ
from tests.integration.vouchers_harness import (
    complete,
    completion,
    ledger_stays_sound,
    place_hold,
    register,
    vouchers,
)
from tests.support.waiting import wait_for

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
HAILING, JIANGYAN = "321202", "321204"
MARCH, APRIL = "2026-03", "2026-04"


async def completed_orders(vouchers, provider: uuid.UUID, elders: list[uuid.UUID], count: int, *, day: int) -> list[dict]:
    done = []
    for i in range(count):
        elder = elders[i % len(elders)]
        hold = await place_hold(vouchers, elder, 1000)
        data = completion(hold, elder=elder, provider=provider, amount_fen=1000,
                          completed_at=f"2026-03-{day:02d}T0{i % 9}:30:00+08:00", district=HAILING)
        done.append(data | {"voucher_fen": hold["voucher_fen"]})
    await asyncio.gather(*(complete(vouchers, {k: v for k, v in d.items()}) for d in done))
    return done


async def test_return_visits_hold_a_line_out_of_a_confirmed_settlement(vouchers):
    vouchers.clock.now = datetime(2026, 3, 10, 10, 0, tzinfo=CITY_TZ)
    elders = [await register(vouchers, district=HAILING) for _ in range(2)]
    busy, small = uuid.uuid4(), uuid.uuid4()
    busy_orders = await completed_orders(vouchers, busy, elders, 7, day=12)
    await completed_orders(vouchers, small, elders, 2, day=13)

    async def kept():
        return await vouchers.scalar(sa.select(sa.func.count()).select_from(CompletedOrderRow).where(
            CompletedOrderRow.district_code == HAILING, CompletedOrderRow.month == MARCH)) == 9
    await wait_for(kept, what="the completed orders kept for the sample")

    async with vouchers.client("officer", district=HAILING) as officer, \
            vouchers.client("operator", district=HAILING) as operator, \
            vouchers.client("operator", district=JIANGYAN) as far_operator, \
            vouchers.client("officer", district=JIANGYAN) as far_officer, \
            vouchers.client("provider_admin", provider_id=str(busy)) as provider:
        early = await officer.post("/return-visit-samples", json={"month": MARCH})
        assert early.status_code == 409  # the month is not over
        vouchers.clock.now = datetime(2026, 4, 2, 9, 0, tzinfo=CITY_TZ)
        assert (await officer.post("/month-end-runs", json={"month": MARCH})).status_code == 201

        # drawn once: the same answer again (with another key, another seed, or at once)
        first = await officer.post("/return-visit-samples", json={"month": MARCH},
                                   headers={"Idempotency-Key": "draw-march"})
        assert first.status_code == 201, first.text
        sample = first.json()
        assert (sample["rate_bp"], sample["minimum"], sample["population"]) == (500, 3, 9)
        assert {p["provider_id"]: (p["completed"], p["sampled"]) for p in sample["providers"]} == {
            str(busy): (7, 3), str(small): (2, 2)}
        replay = await officer.post("/return-visit-samples", json={"month": MARCH}, headers={"Idempotency-Key": "draw-march"})
        assert (replay.status_code, replay.json()["sample_id"]) == (201, sample["sample_id"])
        twice = await asyncio.gather(*(officer.post("/return-visit-samples", json={"month": MARCH, "seed": s})
                                       for s in (1, 2)))
        assert [(r.status_code, r.json()["sample_id"], r.json()["seed"]) for r in twice] == [
            (200, sample["sample_id"], sample["seed"])] * 2
        # the stored seed reproduces the stored sample
        population = [CompletedOrder(order_id=d["order_id"], provider_id=str(busy),
                                     completed_at=datetime.fromisoformat(d["completed_at"])) for d in busy_orders]
        redrawn = draw_sample(population, seed=sample["seed"], rate_bp=500, minimum=3)
        assert [o.order_id for o in redrawn] == [v["order_id"] for v in sample["visits"] if v["provider_id"] == str(busy)]
        assert (await far_officer.get("/return-visit-samples", params={"month": MARCH})).status_code == 404
        # two first draws of one district at the same moment: one sample, drawn once
        race = await asyncio.gather(*(far_officer.post("/return-visit-samples", json={"month": MARCH}) for _ in range(2)))
        assert sorted(r.status_code for r in race) == [200, 201], [r.text for r in race]
        assert race[0].json()["sample_id"] == race[1].json()["sample_id"]
        elsewhere = await far_officer.post("/return-visit-samples", json={"month": MARCH, "district_code": HAILING})
        assert elsewhere.status_code == 403
        assert (await provider.post("/return-visit-samples", json={"month": MARCH})).status_code == 403

        busy_visits = [v for v in sample["visits"] if v["provider_id"] == str(busy)]
        failed, doubtful, fine = busy_visits
        # an operator of the district records a result; another district's operator does not see the visit
        ok = await operator.post(f"/return-visits/{fine['visit_id']}/result", json={"result": "satisfied"})
        assert (ok.status_code, ok.json()["result_name"], ok.json()["called_role"]) == (200, "满意", "operator")
        assert (await far_operator.post(f"/return-visits/{fine['visit_id']}/result",
                                        json={"result": "satisfied"})).status_code == 404
        assert (await provider.post(f"/return-visits/{fine['visit_id']}/result",
                                    json={"result": "satisfied"})).status_code == 403
        changed = await operator.post(f"/return-visits/{fine['visit_id']}/result", json={"result": "dissatisfied"})
        assert changed.status_code == 409
        unreachable = await officer.post(f"/return-visits/{doubtful['visit_id']}/result", json={"result": "unreachable"})
        assert unreachable.json()["finding"] is None

        # two callers record different results for one visit at once: one stands, the other is told
        small_visit = next(v for v in sample["visits"] if v["provider_id"] == str(small))
        race = await asyncio.gather(
            officer.post(f"/return-visits/{small_visit['visit_id']}/result", json={"result": "satisfied"}),
            operator.post(f"/return-visits/{small_visit['visit_id']}/result", json={"result": "dissatisfied"}))
        assert sorted(r.status_code for r in race) == [200, 409], [r.text for r in race]

        [draft] = (await officer.get("/settlements", params={"month": MARCH, "provider_id": str(busy)})).json()
        assert (draft["redemption_count"], draft["held_count"]) == (7, 0)
        # 服务未发生: a finding, and the order leaves the draft statement
        visit = await officer.post(f"/return-visits/{failed['visit_id']}/result",
                                   json={"result": "not_delivered", "note": "老人称当天无人上门"},
                                   headers={"Idempotency-Key": "call-1"})
        assert visit.status_code == 200, visit.text
        finding = visit.json()["finding"]
        assert (finding["status"], finding["holds_settlement"], finding["order_id"]) == ("open", True, failed["order_id"])
        [draft] = (await officer.get("/settlements", params={"month": MARCH, "provider_id": str(busy)})).json()
        amount = next(d["voucher_fen"] for d in busy_orders if d["order_id"] == failed["order_id"])
        assert (draft["redemption_count"], draft["held_count"], draft["held_fen"]) == (6, 1, amount)
        assert draft["net_fen"] == sum(d["voucher_fen"] for d in busy_orders) - amount
        assert any(e["order_id"] == failed["order_id"] for e in await vouchers.outbox("youfu.finding.opened.v1"))
        # the officer confirms the statement: the held line stays out of it
        confirmed = (await officer.post(f"/settlements/{draft['settlement_id']}/confirm")).json()
        assert (confirmed["status"], confirmed["redemption_count"], confirmed["held_count"]) == ("confirmed", 6, 1)
        # the provider sees the finding about itself; another district's officer does not
        assert [f["finding_id"] for f in (await provider.get("/service-findings")).json()] == [finding["finding_id"]]
        assert (await far_officer.post(f"/service-findings/{finding['finding_id']}/resolve",
                                       json={"outcome": "cleared", "resolution": "x"})).status_code == 404
        assert (await provider.post(f"/service-findings/{finding['finding_id']}/resolve",
                                    json={"outcome": "cleared", "resolution": "x"})).status_code == 403
        # cleared after the statement was confirmed: paid with the month it was resolved in
        cleared = await officer.post(f"/service-findings/{finding['finding_id']}/resolve",
                                     json={"outcome": "cleared", "resolution": "经核实老人记错日期"})
        assert (cleared.json()["outcome"], cleared.json()["carried_to_month"]) == ("cleared", APRIL)
        [still] = (await officer.get("/settlements", params={"month": MARCH, "provider_id": str(busy)})).json()
        assert (still["status"], still["redemption_count"]) == ("confirmed", 6)

        # a second failed visit, upheld: the capture is reversed and the line stays out
        again = (await officer.post(f"/return-visits/{doubtful['visit_id']}/result",
                                    json={"result": "not_delivered"})).json()["finding"]
        reversals = await vouchers.scalar(sa.select(sa.func.count()).select_from(TransferRow).where(
            TransferRow.kind == "reverse", TransferRow.order_id == uuid.UUID(doubtful["order_id"])))
        assert reversals == 0
        upheld = await officer.post(f"/service-findings/{again['finding_id']}/resolve",
                                    json={"outcome": "upheld", "resolution": "核实未上门"})
        assert upheld.json()["outcome"] == "upheld"
        reversals = await vouchers.scalar(sa.select(sa.func.count()).select_from(TransferRow).where(
            TransferRow.kind == "reverse", TransferRow.order_id == uuid.UUID(doubtful["order_id"])))
        assert reversals == 1

        vouchers.clock.now = datetime(2026, 5, 2, 9, 0, tzinfo=CITY_TZ)
        assert (await officer.post("/month-end-runs", json={"month": APRIL})).status_code == 201
        [carried] = (await officer.get("/settlements", params={"month": APRIL, "provider_id": str(busy)})).json()
        assert (carried["redemption_count"], carried["redeemed_fen"], carried["held_count"]) == (1, amount, 0)

        figures = (await officer.get("/oversight-figures", params={"month": MARCH})).json()
        [district] = figures["districts"]
        by_provider = {p["provider_id"]: p for p in district["providers"]}
        assert (by_provider[str(busy)]["completed"], by_provider[str(busy)]["sampled"],
                by_provider[str(busy)]["called"], by_provider[str(busy)]["reached"],
                by_provider[str(busy)]["not_delivered"]) == (7, 3, 3, 3, 2)  # the unreachable one was called again
        assert (by_provider[str(small)]["called"], by_provider[str(small)]["reached"]) == (1, 1)
        assert (by_provider[str(busy)]["coverage"], by_provider[str(busy)]["failure_rate"]) == (round(3 / 7, 4), round(2 / 3, 4))
        assert figures["city"] is None and (await provider.get("/oversight-figures", params={"month": MARCH})).status_code == 403


async def test_complaint_lifecycle_deadline_anonymity_and_scope(vouchers):
    vouchers.clock.now = datetime(2026, 6, 10, 10, 0, tzinfo=CITY_TZ)
    elder, stranger = await register(vouchers, district=HAILING), await register(vouchers, district=HAILING)
    provider, caregiver = uuid.uuid4(), uuid.uuid4()
    hold = await place_hold(vouchers, elder, 1000)
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=1000, district=HAILING,
                                        caregiver_id=str(caregiver), completed_at="2026-06-10T09:00:00+08:00"))

    async def kept():
        return await vouchers.scalar(sa.select(sa.func.count()).select_from(CompletedOrderRow).where(
            CompletedOrderRow.order_id == uuid.UUID(hold["order_id"])))
    await wait_for(kept, what="the completed order kept")

    async with vouchers.client("elder", elder_ids=(str(elder),)) as own, \
            vouchers.client("family", elder_ids=(str(stranger),)) as other_family, \
            vouchers.client("operator", district=HAILING) as operator, \
            vouchers.client("officer", district=HAILING) as officer, \
            vouchers.client("officer", district=JIANGYAN) as far_officer, \
            vouchers.client("provider_admin", provider_id=str(provider)) as provider_admin, \
            vouchers.client("provider_admin", provider_id=str(uuid.uuid4())) as other_provider:
        # Wednesday 10 June 2026, 10:00: due by the end of Monday 15 June (Fri, Sat, Sun: 11, 12, 15)
        filed = await own.post("/complaints", json={"subject": "caregiver", "order_id": hold["order_id"],
                                                    "text": "护理员态度很差", "anonymous": True},
                               headers={"Idempotency-Key": "complaint-1"})
        assert filed.status_code == 201, filed.text
        complaint = filed.json()
        assert (complaint["status"], complaint["provider_id"], complaint["caregiver_id"], complaint["district_code"]) == (
            "open", str(provider), str(caregiver), HAILING)
        assert datetime.fromisoformat(complaint["deadline"]) == datetime(2026, 6, 16, 0, 0, tzinfo=CITY_TZ)
        replay = await own.post("/complaints", json={"subject": "caregiver", "order_id": hold["order_id"],
                                                     "text": "护理员态度很差", "anonymous": True},
                                headers={"Idempotency-Key": "complaint-1"})
        assert replay.json()["complaint_id"] == complaint["complaint_id"]
        # another family cannot complain about this order, nor read the complaint
        assert (await other_family.post("/complaints", json={"subject": "order", "order_id": hold["order_id"],
                                                             "text": "不是我的订单"})).status_code == 404
        assert (await other_family.get(f"/complaints/{complaint['complaint_id']}")).status_code == 404
        assert (await other_family.get("/complaints")).json() == []
        assert (await own.post("/complaints", json={"subject": "order", "text": "没有订单号"})).status_code == 422
        assert (await provider_admin.post("/complaints", json={"subject": "provider", "provider_id": str(provider),
                                                               "text": "机构自己投诉"})).status_code == 403
        # the provider reads it without the complainant; another provider does not see it
        [seen] = (await provider_admin.get("/complaints")).json()
        assert (seen["elder_id"], seen["complainant_user_id"], seen["order_id"], seen["text"]) == (
            None, None, None, "护理员态度很差")
        assert (await other_provider.get(f"/complaints/{complaint['complaint_id']}")).status_code == 404
        assert (await provider_admin.post(f"/complaints/{complaint['complaint_id']}/status",
                                          json={"status": "in_progress"})).status_code == 403

        # an operator files one about the provider, later (not anonymous)
        vouchers.clock.now = datetime(2026, 6, 12, 15, 0, tzinfo=CITY_TZ)
        later = (await operator.post("/complaints", json={"subject": "provider", "provider_id": str(provider),
                                                          "elder_id": str(elder), "text": "来电反映机构多次迟到"})).json()
        assert later["complainant_role"] == "operator"
        assert [c["complaint_id"] for c in (await provider_admin.get("/complaints")).json()][0] == complaint["complaint_id"]

        # the officer of another district neither sees nor works it
        assert (await far_officer.post(f"/complaints/{complaint['complaint_id']}/status",
                                       json={"status": "in_progress"})).status_code == 404
        taken = await officer.post(f"/complaints/{later['complaint_id']}/status", json={"status": "in_progress"})
        assert taken.json()["status_name"] == "处理中"
        assert (await officer.post(f"/complaints/{later['complaint_id']}/status",
                                   json={"status": "resolved"})).status_code == 422  # an answer is required

        # past the first ticket's deadline: overdue tickets lead the bureau's list
        vouchers.clock.now = datetime(2026, 6, 16, 9, 0, tzinfo=CITY_TZ)
        listed = (await officer.get("/complaints")).json()
        assert [(c["complaint_id"], c["overdue"]) for c in listed] == [
            (complaint["complaint_id"], True), (later["complaint_id"], False)]
        # two officers close it at once, differently: one answer stands, the other is refused
        answered, clash = await asyncio.gather(
            officer.post(f"/complaints/{complaint['complaint_id']}/status",
                         json={"status": "resolved", "answer": "已约谈机构，更换护理员并致歉"}),
            officer.post(f"/complaints/{complaint['complaint_id']}/status",
                         json={"status": "rejected", "answer": "不属于受理范围"}))
        if answered.status_code != 200:
            answered, clash = clash, answered
        assert (answered.status_code, clash.status_code) == (200, 409), (answered.text, clash.text)
        closed = answered.json()
        assert closed["status"] in ("resolved", "rejected") and not closed["overdue"]
        assert (await officer.post(f"/complaints/{complaint['complaint_id']}/status",
                                   json={"status": "in_progress"})).status_code == 409
        # the complainant reads the answer in their own list; the event names them
        [mine, theirs] = (await own.get("/complaints")).json()
        assert (theirs["answer"], theirs["status_name"]) == (closed["answer"], {"resolved": "已解决", "rejected": "不予受理"}[
            closed["status"]])
        assert mine["complaint_id"] == later["complaint_id"]  # still open: listed first
        events = [e for e in await vouchers.outbox("youfu.complaint.answered.v1")
                  if e["complaint_id"] == complaint["complaint_id"]]
        assert len(events) == 1 and (events[0]["status"], events[0]["elder_id"]) == (closed["status"], str(elder))
        assert any(e["complaint_id"] == later["complaint_id"] for e in await vouchers.outbox("youfu.complaint.filed.v1"))

        figures = (await officer.get("/oversight-figures", params={"month": "2026-06"})).json()
        [district] = figures["districts"]
        assert (district["complaints"]["filed"], district["complaints"]["open"], district["complaints"]["answered"]) == (2, 1, 1)
        assert district["complaints"]["median_hours_to_answer"] == 143.0  # 10 June 10:00 → 16 June 09:00
        async with vouchers.client("city_officer") as city:
            whole = (await city.get("/oversight-figures", params={"month": "2026-06"})).json()
        assert whole["city"]["complaints"]["filed"] == 2
        # an order not completed yet (only its hold is known here): the page names its provider
        pending = await place_hold(vouchers, elder, 500)
        early = await own.post("/complaints", json={"subject": "provider", "order_id": pending["order_id"],
                                                    "provider_id": str(provider), "text": "约好的时间没人来"})
        assert early.status_code == 201 and early.json()["provider_id"] == str(provider), early.text
        # a completed order's recorded provider wins over whatever the page sends
        named = await own.post("/complaints", json={"subject": "order", "order_id": hold["order_id"],
                                                    "provider_id": str(uuid.uuid4()), "text": "服务时间太短"})
        assert named.status_code == 201 and named.json()["provider_id"] == str(provider), named.text


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {2: (32.0, 29.0, 0.0), 4: (119.0, 55.0, 0.0)}  # GPS: where the elder lives
    raw = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(raw, format="JPEG", exif=exif.tobytes())
    return raw.getvalue()


async def test_a_complaint_photo_is_stripped_limited_and_read_only_within_scope(vouchers):
    vouchers.clock.now = datetime(2026, 7, 6, 10, 0, tzinfo=CITY_TZ)
    elder = await register(vouchers, district=HAILING)
    provider = uuid.uuid4()
    async with vouchers.client("elder", elder_ids=(str(elder),)) as own, \
            vouchers.client("family", elder_ids=(str(elder),)) as family, \
            vouchers.client("family", elder_ids=(str(uuid.uuid4()),)) as other_family, \
            vouchers.client("officer", district=HAILING) as officer, \
            vouchers.client("officer", district=JIANGYAN) as far_officer, \
            vouchers.client("provider_admin", provider_id=str(provider)) as provider_admin, \
            vouchers.client("provider_admin", provider_id=str(uuid.uuid4())) as other_provider:
        complaint = (await own.post("/complaints", json={"subject": "provider", "provider_id": str(provider),
                                                         "text": "送来的饭菜是凉的", "anonymous": True})).json()
        cid = complaint["complaint_id"]
        assert complaint["photo"] is None
        photo_url = f"/complaints/{cid}/photo"
        assert (await own.get(photo_url)).status_code == 404  # none yet
        original = _jpeg_with_gps()
        too_big = b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)
        r = await own.post(photo_url, files={"photo": ("big.jpg", too_big, "image/jpeg")})
        assert r.status_code == 413 and r.json()["errors"][0]["field"] == "photo"
        r = await own.post(photo_url, files={"photo": ("a.jpg", b"GIF89a" + b"\0" * 64, "image/jpeg")})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "photo"
        # only the complainant adds it; others who read the complaint: 403; others: 404
        assert (await family.post(photo_url, files={"photo": ("a.jpg", original, "image/jpeg")})).status_code == 403
        assert (await other_family.post(photo_url, files={"photo": ("a.jpg", original, "image/jpeg")})).status_code == 404
        key = {"Idempotency-Key": f"photo-{cid}"}
        added = await own.post(photo_url, files={"photo": ("a.jpg", original, "image/jpeg")}, headers=key)
        assert added.status_code == 201, added.text
        again = await own.post(photo_url, files={"photo": ("a.jpg", original, "image/jpeg")}, headers=key)
        assert again.status_code == 201 and again.json()["photo"] == added.json()["photo"]  # a resend, not a second
        assert (await own.post(photo_url, files={"photo": ("b.jpg", original, "image/jpeg")})).status_code == 409
        facts = added.json()["photo"]
        assert (facts["url"], facts["content_type"], facts["width"], facts["height"]) == (photo_url, "image/jpeg", 64, 48)
        # read back: pixels only, no EXIF (so no GPS)
        for reader in (own, family, officer, provider_admin):
            r = await reader.get(photo_url)
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert r.headers["cache-control"] == "private, no-store"
            assert b"Exif" not in r.content and not Image.open(io.BytesIO(r.content)).getexif()
        # the provider sees the photo of its service, never who complained
        seen = (await provider_admin.get(f"/complaints/{cid}")).json()
        assert seen["photo"]["url"] == photo_url and (seen["complainant_user_id"], seen["elder_id"]) == (None, None)
        for stranger in (other_family, far_officer, other_provider):
            assert (await stranger.get(photo_url)).status_code == 404
        # a closed ticket takes no photo
        answered = await officer.post(f"/complaints/{cid}/status", json={"status": "resolved", "answer": "已督促机构整改"})
        assert answered.status_code == 200 and answered.json()["photo"]["url"] == photo_url
        second = (await own.post("/complaints", json={"subject": "provider", "provider_id": str(provider),
                                                      "text": "又一次送餐迟到"})).json()
        await officer.post(f"/complaints/{second['complaint_id']}/status", json={"status": "rejected", "answer": "重复投诉"})
        r = await own.post(f"/complaints/{second['complaint_id']}/photo", files={"photo": ("a.jpg", original, "image/jpeg")})
        assert r.status_code == 409 and r.json()["reason"] == "complaint_closed"
