"""The main flow across the real platform (five processes, PostgreSQL, the broker), through the
gateway as each user would: the family orders a meal paid by the community voucher, the provider
accepts and assigns the caregiver, the caregiver checks in at the door and out, vouchers capture
the hold from the completion event and the order settles from the redemption event, the family
rates, the provider's rating moves, and the officer sees the spend. A self-paid order settles at
check-out. The ledger's invariants hold at the end."""
from __future__ import annotations

import io
import json
import time
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from PIL import Image

from shared.city import CITY_TZ
from tests.support.clients import login
from tests.support.factories import id_card

pytestmark = pytest.mark.slow


def eventually(fetch, done, timeout_s: float = 40.0, what: str = ""):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if done(last):
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: last={last}")


def place(c: httpx.Client, family: dict, elder_id: str, payment: str) -> dict:
    start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(hours=1)
    r = c.post("/api/orders/orders", headers={**family, "Idempotency-Key": str(uuid.uuid4())}, json={
        "elder_id": elder_id, "service_code": "meal", "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=1)).isoformat(), "notes": "少盐", "payment": payment})
    assert r.status_code == 201, r.text
    return r.json()


def deliver(c: httpx.Client, platform, order_id: str, world: dict, elder: dict) -> None:
    provider = login(platform, "provider_admin")
    offers = eventually(lambda: c.get("/api/orders/offers", headers=provider).json(),
                        lambda xs: any(o["order_id"] == order_id for o in xs), what="the offer")
    assert next(o for o in offers if o["order_id"] == order_id)["seconds_left"] > 0
    r = c.post(f"/api/orders/orders/{order_id}/accept", headers=provider, json={"caregiver_id": world["caregiver_id"]})
    assert r.status_code == 200 and r.json()["state"] == "accepted", r.text
    caregiver = login(platform, "caregiver")
    far = c.post(f"/api/orders/orders/{order_id}/check-in", headers=caregiver,
                 json={"lat": elder["lat"] + 0.01, "lon": elder["lon"]})
    assert far.status_code == 422 and "米" in far.json()["detail"]  # about 1.1 km away: refused, with the distance
    r = c.post(f"/api/orders/orders/{order_id}/check-in", headers=caregiver,
               json={"lat": elder["lat"] + 0.0001, "lon": elder["lon"]})
    assert r.status_code == 200 and r.json()["state"] == "in_service", r.text
    # at the door (issue 24): a photo through the gateway (multipart), the family confirms remotely
    photo = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 60)).save(photo, format="JPEG")
    r = c.post(f"/api/orders/orders/{order_id}/photos", headers=caregiver, data={"stage": "checkin"},
               files={"photo": ("door.jpg", photo.getvalue(), "image/jpeg")})
    assert r.status_code == 201, r.text
    url = f"/api/orders/orders/{order_id}{r.json()['url'].split(order_id, 1)[1]}"
    if (elder.get("id") or elder.get("elder_id")) != world["elder_id"]:  # not the demo family's elder
        shown = c.get(url, headers=caregiver)
        assert shown.status_code == 200 and shown.content[:3] == b"\xff\xd8\xff"
        r = c.post(f"/api/orders/orders/{order_id}/check-out", headers=caregiver,
                   json={"record": "送午餐一份，协助用餐", "duration_min": 30, "unconfirmed_reason": "老人没有绑定家属"})
        assert r.status_code == 200 and r.json()["door"]["confirmation"] == "unconfirmed", r.text
        return
    family = login(platform, "family")
    shown = c.get(url, headers=family)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg" and shown.content[:3] == b"\xff\xd8\xff"
    assert c.post(f"/api/orders/orders/{order_id}/family-confirm", headers=family).status_code == 200
    r = c.post(f"/api/orders/orders/{order_id}/check-out", headers=caregiver,
               json={"record": "送午餐一份，协助用餐，整理餐具", "duration_min": 30})
    assert r.status_code == 200 and r.json()["door"]["confirmation"] == "family", r.text


def test_meal_order_from_placing_to_settlement_and_the_officers_report(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    family = login(platform, "family")
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        elder = c.get(f"/api/assessment/elders/{world['elder_id']}", headers=family).json()
        eventually(lambda: c.get(f"/api/vouchers/wallets/{world['elder_id']}", headers=family).json(),
                   lambda w: any(v["kind"] == "community" for v in w.get("vouchers", [])), what="the voucher")
        order = place(c, family, world["elder_id"], "community")
        # guide price 15 yuan; 低保 pays 10 %: the voucher pays 13.50, the elder 1.50
        assert (order["price_fen"], order["voucher_fen"], order["elder_fen"]) == (1500, 1350, 150)
        assert "代金券支付" in order["summary"] and "自付" in order["summary"]
        oid = order["order_id"]
        deliver(c, platform, oid, world, elder)
        settled = eventually(lambda: c.get(f"/api/orders/orders/{oid}", headers=family).json(),
                             lambda o: o["state"] == "settled", what="settlement")
        assert settled["state_label"] == "已结算"
        wallet = c.get(f"/api/vouchers/wallets/{world['elder_id']}", headers=family).json()
        community = next(v for v in wallet["vouchers"] if v["kind"] == "community")
        assert community["spent_fen"] >= 1350
        r = c.post(f"/api/orders/orders/{oid}/review", headers=family, json={"rating": 5, "comment": "饭菜热乎，准时"})
        assert r.status_code == 200, r.text
        provider_view = eventually(
            lambda: c.get(f"/api/providers/providers/{world['provider_id']}", headers=family).json(),
            lambda p: p.get("rating_count", 0) >= 1, what="the provider's rating")
        assert provider_view["rating"] == 5
        officer = login(platform, "officer")
        month = datetime.now(CITY_TZ).strftime("%Y-%m")
        report = eventually(lambda: c.get("/api/vouchers/reports/spend", headers=officer,
                                          params={"month": month, "group_by": "kind"}).json(),
                            lambda rep: rep.get("totals", {}).get("voucher_fen", 0) >= 1350, what="the spend report")
        assert any(row["key"] == "community" and row["voucher_fen"] >= 1350 for row in report["rows"])
        other = c.get("/api/orders/orders", headers=login(platform, "assessor")).json()
        assert oid not in json.dumps(other)  # an assessor is no party to orders
        check = c.get("/api/vouchers/ledger/check", headers=login(platform, "city_officer")).json()
        assert check["ok"] is True and check["violations"] == []


def test_self_paid_order_settles_at_check_out(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    family = login(platform, "family")
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        elder = c.get(f"/api/assessment/elders/{world['elder_id']}", headers=family).json()
        order = place(c, family, world["elder_id"], "self_pay")
        assert (order["voucher_fen"], order["elder_fen"]) == (0, order["price_fen"])
        deliver(c, platform, order["order_id"], world, elder)
        assert c.get(f"/api/orders/orders/{order['order_id']}", headers=family).json()["state"] == "settled"


def test_personal_data_never_reaches_the_logs(platform):
    """After the flows above: the demo elder's ID number and phone appear in no process's log."""
    id_number = id_card("32120219460506123")
    logs = sorted((platform.var_dir / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"gateway", "assessment", "providers", "orders", "vouchers"}
    for path in logs:
        text = path.read_text(errors="replace")
        assert id_number not in text, path.name
        assert "13800000007" not in text and "13800000008" not in text, path.name
