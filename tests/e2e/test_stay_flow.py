"""An institutional stay across the real platform, through the gateway as each person would: the
district officer finds a demo institution with a free nursing bed near a new elder and applies, the
institution's desk accepts with a bed (reserved) and admits (occupied), sends the elder home on
leave and back, discharges (the bed is free again); once that month has ended the officer drafts
its bed-day claims, the institution confirms, the officer approves and the claim settles; the
ledger's invariants hold at the end.

The stay is dated in the PREVIOUS month (admitted on the 3rd, home on leave the 10th–12th, back on
the 13th, discharged on the 20th) so its month has ended and can be claimed now. The admission day
counts, the discharge day does not (docs/decisions.md D43): 17 billed days, 3 of them paid leave."""
from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime

import httpx
import pytest

from shared.city import CITY_TZ
from tests.support.clients import login, login_as
from tests.support.factories import new_id_card

pytestmark = pytest.mark.slow
DESK_PHONE = "13800000010"  # 颐和养老院's desk (youfu/seed_institutions.py)


def eventually(fetch, done, timeout_s: float = 40.0, what: str = ""):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if done(last):
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: last={last}")


def previous_month(today: date) -> tuple[int, int]:
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def desk_of(platform) -> dict:
    account = next(a for a in platform.demo_accounts if a["phone"] == DESK_PHONE)
    return login_as(platform, account["phone"], account["password"])


def bed(c: httpx.Client, desk: dict, provider_id: str, bed_id: str) -> dict:
    beds = c.get(f"/api/providers/providers/{provider_id}/beds", headers=desk).json()
    return next(b for b in beds if b["bed_id"] == bed_id)


def test_search_apply_admit_leave_discharge_claim_approve_settle(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    institution = world["institution_a_id"]
    officer, desk, city = login(platform, "officer"), desk_of(platform), login(platform, "city_officer")
    year, month_no = previous_month(datetime.now(CITY_TZ).date())
    month = f"{year}-{month_no:02d}"
    day = lambda d: f"{month}-{d:02d}"  # noqa: E731
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        lat, lon = world["provider_location"]
        elder = c.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, json={
            "name": "孙桂芳", "gender": "female", "birth_date": "1940-02-14",
            "id_card": new_id_card(born=date(1940, 2, 14), male=False), "address": "泰州市海陵区城东街道东进路 5 号",
            "lat": lat + 0.003, "lon": lon + 0.004, "district_code": "321202", "street": "城东街道",
            "living_situation": "with_family", "economic_status": "dibao", "emergency_contacts": []})
        assert elder.status_code == 201, elder.text
        elder = elder.json()

        # search: the demo institution has a free nursing bed for a woman, and comes with its rate
        r = c.get("/api/providers/bed-search", headers=officer, params={
            "lat": elder["lat"], "lon": elder["lon"], "care_level": "nursing", "gender": "female", "limit": 10})
        assert r.status_code == 200, r.text
        place = next(p for p in r.json()["places"] if p["provider_id"] == institution)
        assert place["free_beds"] >= 1 and place["daily_rate_fen"] > 0 and place["distance_m"] < 10_000

        # apply; the desk sees it and accepts with a free nursing bed of a women's (or mixed) room
        r = c.post("/api/orders/stay-applications", headers=officer, json={
            "elder_id": elder["id"], "provider_id": institution, "care_level": "nursing", "kind": "long_term",
            "planned_start": day(3), "note": "女儿在外地工作，无人照护"})
        assert r.status_code == 201, r.text
        application = r.json()
        assert application["status"] == "submitted"
        listed = c.get("/api/orders/stay-applications", headers=desk, params={"provider_id": institution}).json()
        assert application["application_id"] in {a["application_id"] for a in listed}
        beds = c.get(f"/api/providers/providers/{institution}/beds", headers=desk,
                     params={"status": "free", "care_level": "nursing"}).json()
        chosen = next(b for b in beds if b["room_gender"] in (None, "female"))
        r = c.post(f"/api/orders/stay-applications/{application['application_id']}/accept", headers=desk,
                   json={"bed_id": chosen["bed_id"]})
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert bed(c, desk, institution, chosen["bed_id"])["status"] == "reserved"

        # admit on the 3rd: the bed is occupied; a second admission is refused
        r = c.post("/api/orders/stays", headers=desk, json={"application_id": application["application_id"],
                                                             "admitted_on": day(3)})
        assert r.status_code == 201, r.text
        stay = r.json()
        assert stay["status"] == "admitted" and stay["daily_rate_fen"] == place["daily_rate_fen"]
        assert bed(c, desk, institution, chosen["bed_id"])["status"] == "occupied"
        again = c.post("/api/orders/stays", headers=desk, json={"application_id": application["application_id"],
                                                                 "admitted_on": day(3)})
        assert again.status_code == 409, again.text
        sid = stay["stay_id"]

        # leave: dates outside the stay are refused; home from the 10th to the 12th, back on the 13th
        before = c.post(f"/api/orders/stays/{sid}/leave", headers=desk, json={"kind": "home", "from": day(1),
                                                                               "to": day(2)})
        assert before.status_code == 422, before.text
        r = c.post(f"/api/orders/stays/{sid}/leave", headers=desk, json={"kind": "home", "from": day(10), "to": day(12)})
        assert r.status_code == 200 and r.json()["status"] == "on_leave", r.text
        r = c.post(f"/api/orders/stays/{sid}/return", headers=desk, json={"on": day(13)})
        assert r.status_code == 200, r.text

        # discharge: not before the admission; on the 20th the bed is free again
        early = c.post(f"/api/orders/stays/{sid}/discharge", headers=desk, json={"on": day(2), "reason": "家属接回"})
        assert early.status_code == 422, early.text
        r = c.post(f"/api/orders/stays/{sid}/discharge", headers=desk, json={"on": day(20), "reason": "家属接回家照护"})
        assert r.status_code == 200 and r.json()["ended_on"] == day(20), r.text
        assert bed(c, desk, institution, chosen["bed_id"])["status"] == "free"
        mine = c.get("/api/orders/stays", headers=officer, params={"elder_id": elder["id"]}).json()
        assert [s["stay_id"] for s in mine] == [sid] and mine[0]["status"] == "discharged"

        # the month has ended: the officer drafts its claims (this month's is refused), once vouchers
        # has the stay's events
        now_month = datetime.now(CITY_TZ).strftime("%Y-%m")
        assert c.post("/api/vouchers/stay-claims/draft", headers=officer, json={"month": now_month}).status_code == 409

        def draft():
            r = c.post("/api/vouchers/stay-claims/draft", headers=officer, json={"month": month})
            assert r.status_code == 200, r.text
            return [x for x in r.json() if x["stay_id"] == sid]

        claims = eventually(draft, lambda xs: xs and xs[0]["last_day"] == day(19), what="the drafted claim")
        assert len(claims) == 1
        claim = claims[0]
        rate = stay["daily_rate_fen"]
        assert (claim["state"], claim["provider_id"], claim["month"]) == ("drafted", institution, month)
        assert (claim["present_days"], claim["paid_leave_days"], claim["unpaid_leave_days"]) == (14, 3, 0)
        assert claim["billed_days"] == 17 and claim["amount_fen"] == 17 * rate
        assert claim["voucher_fen"] + claim["elder_fen"] == claim["amount_fen"]

        # the officer cannot approve before the institution confirms; then it settles
        cid = claim["claim_id"]
        assert c.post(f"/api/vouchers/stay-claims/{cid}/approve", headers=officer).status_code == 409
        listed = c.get("/api/vouchers/stay-claims", headers=desk, params={"month": month, "provider_id": institution})
        assert cid in {x["claim_id"] for x in listed.json()}
        r = c.post(f"/api/vouchers/stay-claims/{cid}/confirm", headers=desk)
        assert r.status_code == 200 and r.json()["state"] == "confirmed", r.text
        r = c.post(f"/api/vouchers/stay-claims/{cid}/approve", headers=officer)
        assert r.status_code == 200, r.text
        settled = r.json()
        assert settled["state"] == "settled" and settled["settled_at"]
        assert settled["voucher_fen"] + settled["elder_fen"] == 17 * rate
        assert c.get(f"/api/vouchers/stay-claims/{cid}", headers=city).json()["state"] == "settled"

        check = c.get("/api/vouchers/ledger/check", headers=city).json()
        assert check["ok"] is True and check["violations"] == []


def test_the_demo_institutions_have_beds_residents_and_capacity(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    city = login(platform, "city_officer")
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        capacity = c.get("/api/providers/bed-capacity", headers=city).json()
        ours = {i["provider_id"]: i for i in capacity["institutions"]}
        for key in ("institution_a", "institution_b"):
            row = ours[world[f"{key}_id"]]
            assert row["capacity"] >= 10 and row["occupied"] >= 1
        assert capacity["nursing_share_target"] > 0 and capacity["total"]["nursing_beds"] >= 1
        for resident in ("resident_a", "resident_b"):
            stays = c.get("/api/orders/stays", headers=city, params={"elder_id": world[f"{resident}_id"]}).json()
            assert any(s["stay_id"] == world[f"{resident}_stay_id"] for s in stays)
