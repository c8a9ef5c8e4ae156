"""A death list from another bureau, across the real platform (issue 20): an elder who has spent
voucher money and has an order booked for tomorrow is reported dead as of last week. Another system
posts the list as JSON with its service token; the dry run names the money at stake; the city
officer applies it. Then the elder's record carries the real date, vouchers holds a recovery
finding (追缴) for the provider with exactly the money captured since that date, the booked order
is cancelled and its voucher hold released, and the ledger's invariants hold, also after the
officer reverses the finding. Posting and applying the same list again changes nothing."""
from __future__ import annotations

import json
import random
import time
import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest

from shared.auth import Principal, TokenSigner
from shared.city import CITY_TZ as SHANGHAI
from tests.e2e.test_order_flow import deliver, eventually, place
from tests.support.clients import login, login_as
from tests.support.factories import HAILING, new_id_card

pytestmark = pytest.mark.slow
RECOVERY_RULE = "service_after_departure"


def service_token(platform) -> dict[str, str]:
    """The bearer header of another system (a service token signed with the platform's key)."""
    signer = TokenSigner((platform.var_dir / "keys" / "jwt_private.pem").read_text())
    token = signer.sign(Principal(user_id=f"funeral-records-{uuid.uuid4().hex[:6]}", role="service"),
                        ttl=timedelta(minutes=10), token_type="service")
    return {"Authorization": f"Bearer {token}"}


def ok(r: httpx.Response, status: int | None = None) -> dict:
    assert (r.status_code == status) if status else r.status_code < 400, \
        f"{r.request.method} {r.request.url.path} → {r.status_code} {r.text[:500]}"
    return r.json() if r.content else {}


def book_tomorrow(c: httpx.Client, family: dict, elder_id: str) -> dict:
    start = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    return ok(c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())}, json={
        "elder_id": elder_id, "service_code": "meal", "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=1)).isoformat(), "payment": "community"}), 201)


def recovery_findings(c: httpx.Client, officer: dict, elder_id: str, months: list[str]) -> list[dict]:
    out = {}
    for month in months:
        for f in ok(c.get("/api/vouchers/anomalies", headers=officer, params={"month": month})):
            if f["rule"] == RECOVERY_RULE and f["elder_id"] == elder_id:
                out[f["finding_id"]] = f
    return list(out.values())


def assessed_elder(c: httpx.Client, platform, name: str, id_number: str, born: date) -> str:
    """A new elder in the demo district near the demo provider, assessed by the two demo assessors
    (the vouchers follow from the assessment event); the elder's id."""
    from services.assessment.instruments import get_instrument

    officer = login(platform, "officer")
    assessors = [login_as(platform, a["phone"], a["password"]) for a in platform.demo_accounts if a["role"] == "assessor"]
    elder = ok(c.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, json={
        "name": name, "gender": "female", "birth_date": born.isoformat(), "id_card": id_number,
        "address": "泰州市海陵区城中街道鼓楼南路 20 号", "lat": 32.494, "lon": 119.923, "district_code": HAILING,
        "street": "城中街道", "living_situation": "alone", "economic_status": "dibao"}), 201)
    items = {i.code: sorted(i.allowed_scores)[len(i.allowed_scores) // 2] for i in get_instrument().items}
    draft = ok(c.post(f"/api/assessment/elders/{elder['id']}/assessments", headers=assessors[0],
                      json={"items": items, "note": "名单比对测试评估"}), 201)
    ok(c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
    ok(c.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))
    return elder["id"]


def family_of(c: httpx.Client, platform, elder_id: str) -> dict[str, str]:
    """A family account linked to the elder (who places the orders, as in the order flow)."""
    admin = login(platform, "admin")
    phone, password = f"136{random.randrange(10**8):08d}", "yf-status-lists"
    user = ok(c.post("/api/admin/users", headers=admin, json={
        "phone": phone, "password": password, "display_name": "钱家女儿", "role": "family", "district_code": HAILING}))
    ok(c.post("/api/family-links", headers=admin, json={
        "user_id": user["id"], "elder_id": elder_id, "relation": "女儿", "consent_by": "老人本人",
        "consent_method": "in_person"}))
    return login_as(platform, phone, password)


def test_death_list_recovers_spending_cancels_orders_and_reruns_as_no_op(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    name = "钱" + random.choice("桂秀玉凤兰") + random.choice("芳英珍华")
    born = date(1941, random.randrange(1, 13), random.randrange(1, 29))
    id_number = new_id_card(HAILING, born, male=False)
    city, admin, system = login(platform, "city_officer"), login(platform, "admin"), service_token(platform)
    died_on = (datetime.now(SHANGHAI) - timedelta(days=7)).date()
    months = sorted({died_on.strftime("%Y-%m"), datetime.now(SHANGHAI).strftime("%Y-%m")})
    with httpx.Client(base_url=platform.url, timeout=60) as c:
        elder_id = assessed_elder(c, platform, name, id_number, born)
        eventually(lambda: c.get(f"/api/vouchers/wallets/{elder_id}", headers=admin).json(),
                   lambda w: any(v["kind"] == "community" for v in w.get("vouchers", [])), what="the new elder's voucher")
        elder = ok(c.get(f"/api/assessment/elders/{elder_id}", headers=admin))
        family = family_of(c, platform, elder_id)

        # spending after the (not yet known) date of death: a meal delivered today, captured
        served = place(c, family, elder_id, "community")
        deliver(c, platform, served["order_id"], world, elder)
        eventually(lambda: c.get(f"/api/orders/orders/{served['order_id']}", headers=family).json(),
                   lambda o: o["state"] == "settled", what="the delivered meal settled")
        captured_fen = served["voucher_fen"]
        assert captured_fen > 0
        # and a meal booked for tomorrow, its voucher share held
        booked = book_tomorrow(c, family, elder_id)
        assert booked["hold_id"], booked
        assert ok(c.get(f"/api/vouchers/holds/{booked['hold_id']}", headers=admin))["status"] == "held"

        # ---- another system posts the death list; the dry run changes nothing yet ----
        body = {"kind": "deaths", "source": "殡葬管理系统-死亡名单", "rows": [
            {"id_card": id_number, "name": name, "date": died_on.isoformat()}]}
        key = str(uuid.uuid4())
        dry = ok(c.post("/api/assessment/status-lists", headers={**system, "Idempotency-Key": key}, json=body), 201)
        again = ok(c.post("/api/assessment/status-lists", headers={**system, "Idempotency-Key": key}, json=body), 201)
        assert again["list_id"] == dry["list_id"]  # the same key: the same list, not a second one
        assert dry["state"] == "dry_run"
        assert dry["counts"]["rows"] == 1 and dry["counts"]["apply"] == 1, dry["counts"]
        row = dry["rows"][0]
        assert row["outcome"] == "apply" and row["elder_id"] == elder_id
        assert row["change"]["to"] == "deceased" and row["change"]["effective_date"] == died_on.isoformat()
        assert row["amount_fen"] == captured_fen and dry["money_at_stake_fen"] == captured_fen
        assert ok(c.get(f"/api/assessment/elders/{elder_id}", headers=admin))["status"] == "active"

        # ---- the city officer applies it ----
        applied = ok(c.post(f"/api/assessment/status-lists/{dry['list_id']}/apply",
                            headers={**city, "Idempotency-Key": str(uuid.uuid4())}, json={}))
        assert applied["applied"] == 1 and applied["unchanged"] == 0, applied
        record = ok(c.get(f"/api/assessment/elders/{elder_id}", headers=admin))
        assert record["status"] == "deceased" and record["status_date"] == died_on.isoformat()
        shown = ok(c.get(f"/api/assessment/status-lists/{dry['list_id']}", headers=city))
        assert shown["state"] == "applied" and shown["applied_by"] and shown["applied_at"]

        # vouchers: one recovery finding for the provider, the money captured since the real date
        findings = eventually(lambda: recovery_findings(c, city, elder_id, months), lambda fs: len(fs) >= 1,
                              what="the recovery finding")
        assert len(findings) == 1, findings
        finding = findings[0]
        assert finding["provider_id"] == world["provider_id"] and finding["amount_fen"] == captured_fen
        assert finding["status"] == "open" and finding["redemption_ids"]
        # orders: tomorrow's meal cancelled, its hold released; today's delivered meal untouched
        cancelled = eventually(lambda: c.get(f"/api/orders/orders/{booked['order_id']}", headers=admin).json(),
                               lambda o: o["state"] == "cancelled", what="tomorrow's order cancelled")
        assert "已故" in (cancelled["cancel_reason"] or ""), cancelled
        eventually(lambda: c.get(f"/api/vouchers/holds/{booked['hold_id']}", headers=admin).json(),
                   lambda h: h["status"] == "released", what="the hold released")
        assert ok(c.get(f"/api/orders/orders/{served['order_id']}", headers=admin))["state"] == "settled"
        check = ok(c.get("/api/vouchers/ledger/check", headers=city))
        assert check["ok"] is True and check["violations"] == []

        # ---- the same list again: nothing changes ----
        rerun = ok(c.post("/api/assessment/status-lists", headers={**system, "Idempotency-Key": str(uuid.uuid4())},
                          json=body), 201)
        assert rerun["list_id"] != dry["list_id"]
        assert rerun["counts"]["apply"] == 0 and rerun["counts"]["unchanged"] == 1, rerun["counts"]
        assert rerun["rows"][0]["outcome"] == "unchanged"
        reapplied = ok(c.post(f"/api/assessment/status-lists/{rerun['list_id']}/apply",
                              headers={**city, "Idempotency-Key": str(uuid.uuid4())}, json={}))
        assert reapplied["applied"] == 0, reapplied
        time.sleep(2)  # what an event would have changed has had the time to arrive
        assert ok(c.get(f"/api/assessment/elders/{elder_id}", headers=admin))["status_date"] == died_on.isoformat()
        assert recovery_findings(c, city, elder_id, months) == [finding]
        changes = ok(c.get(f"/api/assessment/elders/{elder_id}/status-changes", headers=family))
        changes = changes if isinstance(changes, list) else changes["items"]
        assert len(changes) == 1 and changes[0]["explanation"]

        # the officer turns the finding into a reversal of exactly those captures; the ledger still holds
        ok(c.post(f"/api/vouchers/anomalies/{finding['finding_id']}/actions", headers=city,
                  json={"action": "reverse", "reason": "殡葬记录显示老人已于上周去世，追缴此后的券支付"}), 201)
        estimate = ok(c.post("/api/vouchers/recovery-estimates", headers=city,
                             json={"elders": [{"elder_id": elder_id, "since": died_on.isoformat()}]}))
        assert estimate["elders"] == []  # nothing left to recover
        check = ok(c.get("/api/vouchers/ledger/check", headers=city))
        assert check["ok"] is True and check["violations"] == []
