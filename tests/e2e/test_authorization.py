"""Proof that nobody sees what isn't theirs, through the gateway with every service running.

1. Every operation of the merged OpenAPI × every role: a role outside the operation's row is
   refused (403, or 404 where 403 would leak that the object exists, or a list filtered down to
   nothing) — never data; a role inside
   it is never refused with 401/403 for reading. Writes by allowed roles are left to the flow
   tests, so this test creates nothing.
2. Ownership: other people's objects answer 404 — a provider never sees another provider's
   order, an officer never another district's elder, a family never an unlinked elder.
"""
from __future__ import annotations

import io
import json
import re
import uuid

import httpx
import pytest
from PIL import Image

from tests.e2e.authz_table import ALL, TABLE
from tests.support.clients import access_tokens, login, login_as

pytestmark = pytest.mark.slow
ROLES = sorted(ALL)
SAMPLE_BODY = {"reason": "测试", "month": "2026-11", "rating": 3, "lat": 32.49, "lon": 119.92, "record": "x"}
# plausible query parameters, so that a refused role is refused for who it is, not for a missing parameter
SAMPLE_QUERY = {"month": "2026-11", "from_month": "2026-01", "to_month": "2026-11", "service_code": "meal", "lat": 32.49,
                "lon": 119.92, "group_by": "kind"}


@pytest.fixture(scope="module")
def merged(platform) -> dict:
    return httpx.get(f"{platform.url}/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def tokens(platform) -> dict[str, str]:
    return access_tokens(platform, ROLES)


def operations(doc: dict) -> list[str]:
    return sorted(f"{m.upper()} {p}" for p, item in doc["paths"].items() for m, op in item.items() if isinstance(op, dict))


def test_every_operation_has_a_row(merged):
    missing = [op for op in operations(merged) if op not in TABLE]
    stale = [op for op in TABLE if op not in operations(merged)]
    assert missing == [], f"add a row to tests/e2e/authz_table.py for: {missing}"
    assert stale == [], f"rows for operations that no longer exist: {stale}"


def test_roles_outside_a_row_are_refused(platform, merged, tokens):
    wrong: list[str] = []
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        for op in operations(merged):
            allowed = TABLE[op]
            if allowed is None:
                continue
            method, template = op.split(" ", 1)
            path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
            for role in ROLES:
                if role in allowed and method != "GET":
                    continue  # allowed writes belong to the flow tests: nothing is created here
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                body = SAMPLE_BODY if method in ("POST", "PUT", "PATCH") else None
                r = c.request(method, path, headers=headers, json=body, params=SAMPLE_QUERY if method == "GET" else None)
                if role not in allowed and r.status_code == 200 and method == "GET" and _empty(r):
                    continue  # a list filtered down to nothing: refused by the query itself
                if role not in allowed and (r.status_code < 400 or r.status_code not in (403, 404, 422)):
                    wrong.append(f"{role:14} {op} → {r.status_code} (should be refused)")
                if role not in allowed and r.status_code == 422 and method == "GET":
                    wrong.append(f"{role:14} {op} → 422 (a refused role must not learn about parameters)")
                if role in allowed and r.status_code in (401, 403):
                    wrong.append(f"{role:14} {op} → {r.status_code} (should be allowed)")
                if r.status_code >= 400:
                    assert r.headers["content-type"].startswith("application/problem+json"), (op, role, r.text)
                    # the problem names the path the caller used, not the service's own
                    assert r.json().get("instance") in (None, path), (op, role, r.json().get("instance"))
    assert wrong == [], "\n" + "\n".join(wrong)


def _empty(r: httpx.Response) -> bool:
    body = r.json()
    if isinstance(body, dict):
        body = body.get("items", body.get("rows", body))
    return body == [] or body == {}


def test_other_peoples_objects_answer_404(platform, tokens):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        outsiders = {
            "officer": {"role": "officer", "district_code": "321203"},  # 高港区, not 海陵区
            "provider_admin": {"role": "provider_admin", "provider_id": str(uuid.uuid4())},
            "family": {"role": "family"},
            "assessor": {"role": "assessor", "district_code": "321204"},
            "operator": {"role": "operator", "district_code": "321203"},  # a 12349 desk of 高港区
        }
        heads = {}
        for i, (name, fields) in enumerate(outsiders.items()):
            phone = f"1370000{i:04d}"
            r = c.post("/api/admin/users", headers=admin, json={"phone": phone, "password": "outsider-pass",
                                                                  "display_name": f"外人{i}", **fields})
            assert r.status_code in (201, 409), r.text
            heads[name] = login_as(platform, phone, "outsider-pass")
        elder = world["elder_id"]
        for name in ("officer", "family", "assessor"):
            r = c.get(f"/api/assessment/elders/{elder}", headers=heads[name])
            assert r.status_code == 404, (name, r.status_code, r.text)
        for name in ("officer", "family", "operator"):
            assert c.get(f"/api/vouchers/wallets/{elder}", headers=heads[name]).status_code == 404, name
        # the 12349 desk: another district's operator finds nobody by the elder's number, reads no
        # record, plan or wallet of theirs and records no call about them; 海陵区's own desk does
        assert c.get(f"/api/assessment/elders/{elder}", headers=heads["operator"]).status_code == 404
        assert c.get(f"/api/assessment/elders/{elder}/care-plans", headers=heads["operator"]).status_code == 404
        found = c.post("/api/hotline/lookups", headers=heads["operator"], json={"phone": "13800000007"})
        assert found.status_code == 200 and found.json()["elders"] == [], found.text
        call = {"caller_phone": "13800000007", "elder_id": elder, "reason": "consult", "outcome": "answered",
                "started_at": "2026-12-01T01:00:00Z", "ended_at": "2026-12-01T01:02:00Z"}
        assert c.post("/api/hotline/calls", headers=heads["operator"], json=call).status_code == 404
        hailing = login_as(platform, "13800000015", next(a["password"] for a in platform.demo_accounts
                                                          if a["phone"] == "13800000015"))
        found = c.post("/api/hotline/lookups", headers=hailing, json={"phone": "13800000007"}).json()
        assert [e["id"] for e in found["elders"]] == [elder] and found["caller"]["kind"] == "elder"
        assert c.get(f"/api/vouchers/wallets/{elder}", headers=hailing).status_code == 200
        # the real provider's orders (the flow tests placed some) are invisible to another provider
        own = c.get("/api/orders/orders", headers=login(platform, "provider_admin")).json()
        theirs = c.get("/api/orders/orders", headers=heads["provider_admin"]).json()
        own_ids = {o["order_id"] for o in (own["items"] if isinstance(own, dict) else own)}
        their_ids = {o["order_id"] for o in (theirs["items"] if isinstance(theirs, dict) else theirs)}
        assert not (own_ids & their_ids)
        for oid in list(own_ids)[:3]:
            assert c.get(f"/api/orders/orders/{oid}", headers=heads["provider_admin"]).status_code == 404
            assert c.get(f"/api/orders/orders/{oid}", headers=heads["officer"]).status_code == 404
            assert c.get(f"/api/orders/orders/{oid}", headers=heads["operator"]).status_code == 404
            # another household's confirmation code, and another's photos (issue 24)
            assert c.get(f"/api/orders/orders/{oid}/door-code", headers=heads["family"]).status_code == 404
            assert c.post(f"/api/orders/orders/{oid}/family-confirm", headers=heads["family"]).status_code == 404
            photo = f"/api/orders/orders/{oid}/photos/{uuid.uuid4()}"
            assert c.get(photo, headers=heads["provider_admin"]).status_code == 404
            assert c.get(photo, headers=heads["officer"]).status_code == 404
        r = c.get("/api/orders/no-show-elders", headers=heads["officer"], params={"district_code": "321202"})
        assert r.status_code == 403  # the officer of 高港区 does not read 海陵区's no-shows
        r = c.get("/api/providers/providers", headers=heads["officer"], params={"district_code": "321202"})
        assert r.status_code in (403, 404)
        # notices are the caller's own (the two-replica scenario: tests/e2e/test_notices_replicas.py)
        demo_family = c.get("/api/notices", headers=login(platform, "family")).json()["items"]
        outsider = c.get("/api/notices", headers=heads["family"]).json()["items"]
        assert not {n["id"] for n in demo_family} & {n["id"] for n in outsider}
        # a complaint of the demo elder: another family, another district's officer, another provider → 404
        filed = c.post("/api/vouchers/complaints", headers=login(platform, "elder"),
                       json={"subject": "provider", "provider_id": world["provider_id"], "text": "授权测试：上门迟到",
                             "anonymous": True})
        assert filed.status_code == 201, filed.text
        complaint = filed.json()["complaint_id"]
        for name in ("family", "officer", "provider_admin"):
            assert c.get(f"/api/vouchers/complaints/{complaint}", headers=heads[name]).status_code == 404, name
            assert complaint not in {x["complaint_id"] for x in c.get("/api/vouchers/complaints", headers=heads[name]).json()}
        assert c.post(f"/api/vouchers/complaints/{complaint}/status", headers=heads["officer"],
                      json={"status": "in_progress"}).status_code == 404
        seen = c.get(f"/api/vouchers/complaints/{complaint}", headers=login(platform, "provider_admin")).json()
        assert seen["complainant_user_id"] is None and seen["elder_id"] is None  # anonymous to the provider
        # its photo (a multipart upload through the gateway): the same readers, strangers 404
        jpeg = io.BytesIO()
        Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
        photo = f"/api/vouchers/complaints/{complaint}/photo"
        added = c.post(photo, headers=login(platform, "elder") | {"Idempotency-Key": str(uuid.uuid4())},
                       files={"photo": ("p.jpg", jpeg.getvalue(), "image/jpeg")})
        assert added.status_code == 201, added.text
        assert c.get(photo, headers=login(platform, "provider_admin")).status_code == 200
        for name in ("family", "officer", "provider_admin"):
            assert c.get(photo, headers=heads[name]).status_code == 404, name
            assert c.post(photo, headers=heads[name], files={"photo": ("p.jpg", jpeg.getvalue(), "image/jpeg")}
                          ).status_code == 404, name
        report = c.get("/api/vouchers/reports/spend", headers=heads["officer"],
                       params={"month": "2026-11", "group_by": "district"}).json()
        assert all(row["key"] == "321203" for row in report.get("rows", []))


def test_other_peoples_alarms_answer_404(platform, tokens):
    """Emergency alarms (issue 25): the demo elder's alarm, raised by the seed's home device, is seen
    by the household, the district's officer and the city; another district's officer and 12349
    desk, another provider's administrator and an unlinked family member get 404 and an empty list,
    and closing it answers them 404; the device token raises for no other elder."""
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    elder, token = world["elder_id"], world["alarm_device_token"]
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        r = c.post("/api/orders/device/alarms", headers={"X-Device-Token": token}, json={"elder_id": elder})
        assert r.status_code in (200, 201), r.text
        alarm = r.json()["id"]
        assert c.post("/api/orders/device/alarms", headers={"X-Device-Token": token},
                      json={"elder_id": str(uuid.uuid4())}).status_code == 403
        for role in ("family", "officer", "city_officer"):
            assert c.get(f"/api/orders/alarms/{alarm}", headers=login(platform, role)).status_code == 200, role
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        outsiders = {"officer": {"role": "officer", "district_code": "321203"},
                     "provider_admin": {"role": "provider_admin", "provider_id": str(uuid.uuid4())},
                     "family": {"role": "family"}, "operator": {"role": "operator", "district_code": "321203"}}
        for i, (name, fields) in enumerate(outsiders.items()):
            phone = f"1370001{i:04d}"
            made = c.post("/api/admin/users", headers=admin, json={"phone": phone, "password": "outsider-pass",
                                                                   "display_name": f"呼叫外人{i}", **fields})
            assert made.status_code in (201, 409), made.text
            head = login_as(platform, phone, "outsider-pass")
            assert c.get(f"/api/orders/alarms/{alarm}", headers=head).status_code == 404, name
            listed = c.get("/api/orders/alarms", headers=head)
            assert listed.status_code == 200 and alarm not in [a["id"] for a in listed.json()], name
            assert c.post(f"/api/orders/alarms/{alarm}/close", headers=head,
                          json={"outcome": "false_alarm"}).status_code == 404, name
        closed = c.post(f"/api/orders/alarms/{alarm}/close", headers=login(platform, "officer"),
                        json={"outcome": "false_alarm", "note": "权限测试"})
        assert closed.status_code == 200, closed.text
