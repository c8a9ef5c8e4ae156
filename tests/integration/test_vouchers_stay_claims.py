"""Monthly bed-day claims end to end on the vouchers service: stays copied from the orders
service's `stay.*` events, a month of them (an admission mid-month, a leave beyond the cap, a
discharge) drafted after the month, confirmed by each institution, approved by the district
officer and settled through the ledger, in the settlements and the spend report as
`institutional_care`; a claim for a month not yet ended is refused; a community-voucher home
service during a stay is an audit finding."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import sqlalchemy as sa

from services.vouchers.models import StayRow
from shared.city import CITY_TZ
from tests.integration.vouchers_harness import (
    MARCH_10,
    ORDERS_TOPIC,
    complete,
    completion,
    ledger_stays_sound,
    place_hold,
    register,
    vouchers,
)
from tests.support.waiting import wait_for

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
MARCH = "2026-03"
MARCH_20 = datetime(2026, 3, 20, 9, 0, tzinfo=CITY_TZ)
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=CITY_TZ)
HAILING, TAIXING = "321202", "321283"


async def stay_event(vouchers, verb: str, *, stay: uuid.UUID, elder: uuid.UUID, provider: uuid.UUID, on: str,
                     rate: int = 3000, **extra) -> None:
    await vouchers.publish(ORDERS_TOPIC, f"youfu.stay.{verb}.v1", str(elder), {
        "stay_id": str(stay), "elder_id": str(elder), "provider_id": str(provider), "bed_id": str(uuid.uuid4()),
        "care_level": "nursing", "daily_rate_fen": rate, "kind": "long_term", "on": on, **extra})


async def stay_recorded(vouchers, stay: uuid.UUID, check) -> None:
    async def done():
        async with vouchers.db.sessions() as s:
            row = await s.get(StayRow, stay)
            return row is not None and check(row)
    await wait_for(done, what=f"stay {stay} recorded")


async def test_a_month_of_stays_is_claimed_confirmed_approved_and_settled(vouchers):
    vouchers.clock.now = MARCH_10
    # 低保: the 机构托养券 pays 90 % up to 800 yuan; 特困: 100 %
    newcomer = await register(vouchers, district=HAILING, living="institution", grade=3)
    on_leave = await register(vouchers, district=HAILING, economic="tekun", living="institution", grade=4)
    discharged = await register(vouchers, district=HAILING, living="institution", grade=3)
    home, other = uuid.uuid4(), uuid.uuid4()
    stays = {name: uuid.uuid4() for name in ("newcomer", "on_leave", "discharged")}
    await stay_event(vouchers, "admitted", stay=stays["newcomer"], elder=newcomer, provider=home, on="2026-03-17")
    await stay_event(vouchers, "admitted", stay=stays["on_leave"], elder=on_leave, provider=home, on="2026-02-20")
    await stay_event(vouchers, "left", stay=stays["on_leave"], elder=on_leave, provider=home, on="2026-03-05",
                     **{"from": "2026-03-05", "to": "2026-03-20", "leave_kind": "hospital"})
    await stay_event(vouchers, "returned", stay=stays["on_leave"], elder=on_leave, provider=home, on="2026-03-15")
    await stay_event(vouchers, "admitted", stay=stays["discharged"], elder=discharged, provider=other, on="2026-03-01",
                     rate=5000)
    await stay_event(vouchers, "ended", stay=stays["discharged"], elder=discharged, provider=other, on="2026-03-11",
                     rate=5000, reason="出院")
    await stay_recorded(vouchers, stays["newcomer"], lambda row: True)
    await stay_recorded(vouchers, stays["on_leave"], lambda row: row.leaves and row.leaves[0]["ends_on"] == "2026-03-14")
    await stay_recorded(vouchers, stays["discharged"], lambda row: row.ended_on is not None)

    async with vouchers.client("officer", district=HAILING) as officer:
        vouchers.clock.now = MARCH_20
        early = await officer.post("/stay-claims/draft", json={"month": MARCH})
        assert early.status_code == 409 and "尚未结束" in early.json()["detail"]
        vouchers.clock.now = APRIL_2
        drafted = await officer.post("/stay-claims/draft", json={"month": MARCH})
        assert drafted.status_code == 200, drafted.text
        claims = {c["elder_id"]: c for c in drafted.json()}
        figures = {name: (c["first_day"], c["last_day"], c["present_days"], c["paid_leave_days"],
                          c["unpaid_leave_days"], c["amount_fen"], c["voucher_fen"], c["elder_fen"], c["state"])
                   for name, c in (("newcomer", claims[str(newcomer)]), ("on_leave", claims[str(on_leave)]),
                                   ("discharged", claims[str(discharged)]))}
        assert figures == {
            # admitted on the 17th: 15 days × 30 yuan, the voucher pays 90 %
            "newcomer": ("2026-03-17", "2026-03-31", 15, 0, 0, 45000, 40500, 4500, "drafted"),
            # away the 5th–14th: 6 days paid, 4 not; 27 × 30 = 810 yuan, the voucher's 100 % capped at 800
            "on_leave": ("2026-03-01", "2026-03-31", 21, 6, 4, 81000, 80000, 1000, "drafted"),
            # discharged on the 11th: the 1st–10th at 50 yuan
            "discharged": ("2026-03-01", "2026-03-10", 10, 0, 0, 50000, 45000, 5000, "drafted"),
        }
        again = (await officer.post("/stay-claims/draft", json={"month": MARCH})).json()
        assert sorted((c["claim_id"], c["revision"]) for c in again) == sorted((c["claim_id"], 1) for c in claims.values())
        assert len([e for e in await vouchers.outbox("youfu.stay_claim.drafted.v1")
                    if e["elder_id"] in claims]) == 3  # drafting again changed nothing
    # the family reads its own bill, and only its own
    async with vouchers.client("family", elder_ids=(str(newcomer),)) as family:
        bills = (await family.get("/stay-claims", params={"month": MARCH})).json()
        assert [b["elder_id"] for b in bills] == [str(newcomer)]
        assert (await family.get(f"/stay-claims/{claims[str(newcomer)]['claim_id']}")).status_code == 200
        assert (await family.get(f"/stay-claims/{claims[str(on_leave)]['claim_id']}")).status_code == 404
    async with vouchers.client("officer", district=HAILING) as officer:
        not_yet = await officer.post(f"/stay-claims/{claims[str(newcomer)]['claim_id']}/approve")
        assert not_yet.status_code == 409
        assert (await officer.post(f"/stay-claims/{claims[str(newcomer)]['claim_id']}/confirm")).status_code == 403

    async with vouchers.client("provider_admin", provider_id=str(other)) as other_desk:
        assert (await other_desk.get(f"/stay-claims/{claims[str(newcomer)]['claim_id']}")).status_code == 404
        assert (await other_desk.post(f"/stay-claims/{claims[str(newcomer)]['claim_id']}/confirm")).status_code == 404
        [own] = (await other_desk.get("/stay-claims", params={"month": MARCH})).json()
        assert (await other_desk.post(f"/stay-claims/{own['claim_id']}/confirm")).json()["state"] == "confirmed"
    async with vouchers.client("provider_admin", provider_id=str(home)) as desk:
        listed = (await desk.get("/stay-claims", params={"month": MARCH, "state": "drafted"})).json()
        assert sorted(c["elder_id"] for c in listed) == sorted([str(newcomer), str(on_leave)])
        for claim in listed:
            confirmed = (await desk.post(f"/stay-claims/{claim['claim_id']}/confirm")).json()
            assert (confirmed["state"], confirmed["state_name"]) == ("confirmed", "待民政审核")
        assert (await desk.post(f"/stay-claims/{claim['claim_id']}/confirm")).status_code == 200  # again: the same
        assert (await desk.post(f"/stay-claims/{claim['claim_id']}/approve")).status_code == 403
    async with vouchers.client("officer", district=TAIXING) as stranger:
        assert (await stranger.get("/stay-claims", params={"month": MARCH})).json() == []
        assert (await stranger.post(f"/stay-claims/{own['claim_id']}/approve")).status_code == 404
    async with vouchers.client("family") as family:
        assert (await family.get("/stay-claims", params={"month": MARCH})).json() == []

    async with vouchers.client("officer", district=HAILING) as officer:
        for claim in claims.values():
            settled = (await officer.post(f"/stay-claims/{claim['claim_id']}/approve")).json()
            assert (settled["state"], settled["voucher_fen"]) == ("settled", claim["voucher_fen"])
        assert (await officer.post(f"/stay-claims/{claim['claim_id']}/approve")).status_code == 409
        run = (await officer.post("/month-end-runs", json={"month": MARCH})).json()
        assert run["stay_claims"] == 3 and run["open_holds_left"] == 0
        assert run["expired_fen"] == (80000 - 40500) + (80000 - 45000)  # what the claims left of the month
        statements = {s["provider_id"]: s for s in (await officer.get("/settlements", params={"month": MARCH})).json()}
        assert [(x["service_code"], x["kind"], x["redemption_count"], x["net_fen"]) for x in statements[str(home)]["lines"]] == [
            ("institutional_care", "institutional", 2, 40500 + 80000)]
        assert statements[str(other)]["net_fen"] == 45000
        report = (await officer.get("/reports/spend", params={"month": MARCH, "group_by": "service"})).json()
        assert [(r["key"], r["redemption_count"], r["order_amount_fen"], r["voucher_fen"], r["elder_fen"])
                for r in report["rows"]] == [("institutional_care", 3, 45000 + 81000 + 50000, 165500, 10500)]
        export = await officer.get("/settlements", params={"month": MARCH, "format": "csv"})
        assert sum("institutional_care" in row for row in csv.reader(io.StringIO(export.content.decode("utf-8-sig")))) == 2
        async with vouchers.client("city_officer") as city:
            assert (await city.get("/ledger/check")).json()["ok"] is True
    settled_events = [e for e in await vouchers.outbox("youfu.stay_claim.settled.v1") if e["elder_id"] in claims]
    assert sorted(e["voucher_fen"] for e in settled_events) == [40500, 45000, 80000]
    assert len([e for e in await vouchers.outbox("youfu.stay_claim.approved.v1") if e["elder_id"] in claims]) == 3


async def test_a_late_discharge_redrafts_a_draft_and_a_month_end_drafts_first(vouchers):
    vouchers.clock.now = MARCH_10
    elder, home, stay = await register(vouchers, district=TAIXING, living="institution", grade=3), uuid.uuid4(), uuid.uuid4()
    await stay_event(vouchers, "admitted", stay=stay, elder=elder, provider=home, on="2026-03-01")
    await stay_recorded(vouchers, stay, lambda row: True)
    vouchers.clock.now = APRIL_2
    async with vouchers.client("officer", district=TAIXING) as officer:
        run = (await officer.post("/month-end-runs", json={"month": MARCH})).json()
        assert run["stay_claims"] == 1 and run["expired_fen"] == 0  # 31 × 30 × 90 % = 837 yuan ≥ the 800 held
        await stay_event(vouchers, "ended", stay=stay, elder=elder, provider=home, on="2026-03-11", reason="死亡")
        await stay_recorded(vouchers, stay, lambda row: row.ended_on is not None)
        [claim] = (await officer.post("/stay-claims/draft", json={"month": MARCH})).json()
        assert (claim["revision"], claim["billed_days"], claim["amount_fen"], claim["voucher_fen"]) == (2, 10, 30000, 27000)
        again = (await officer.post("/month-end-runs", json={"month": MARCH})).json()
        assert again["expired_fen"] == 80000 - 27000  # the released part of the first hold expires


async def test_home_service_during_a_stay_is_an_audit_finding(vouchers):
    vouchers.clock.now = MARCH_10
    elder, provider = await register(vouchers, district=HAILING), uuid.uuid4()  # at home, 社区照护券
    stay = uuid.uuid4()
    await stay_event(vouchers, "admitted", stay=stay, elder=elder, provider=uuid.uuid4(), on="2026-03-05")
    await stay_recorded(vouchers, stay, lambda row: True)
    hold = await place_hold(vouchers, elder, 6000)
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=6000,
                                        completed_at="2026-03-10T02:00:00+00:00", district=HAILING))
    async with vouchers.client("officer", district=HAILING) as officer:
        findings = [f for f in (await officer.get("/anomalies", params={"month": MARCH})).json()
                    if f["rule"] == "home_service_during_stay"]
    assert [(f["title"], f["elder_id"], f["amount_fen"]) for f in findings] == [
        ("入住机构期间仍有居家服务消费", str(elder), 5400)]
    assert "2026-03-05 入住" in findings[0]["explanation"]
    assert await vouchers.scalar(sa.select(sa.func.count()).select_from(StayRow).where(StayRow.elder_id == elder)) == 1
