"""Meals at the counter (issue 23) across the real platform, through the gateway: the elder gets a
dynamic code, the demo meal point's counter looks it up and takes the meal, the subsidy is in the
elder's wallet history at once, a replay is 409 "已使用" (the same Idempotency-Key answers the first
result again), another point's staff cannot see or undo it, the undo gives the subsidy back, and the
ledger's invariants hold."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.support.clients import login
from tests.support.meals import counter, meal_code, meal_point_id, redemption

pytestmark = pytest.mark.slow


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def test_a_meal_at_the_counter_from_code_to_undo(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    elder_id, point, other_point = world["elder_id"], meal_point_id(platform, 1), meal_point_id(platform, 2)
    desk, other_desk, family = counter(platform, 1), counter(platform, 2), login(platform, "family")
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        code = meal_code(c, platform, elder_id)
        assert code.startswith("YF1-")
        assert meal_code(c, platform, elder_id, who="family") != code  # a linked family member's phone too

        seen = c.post(f"/api/orders/meal-points/{point}/lookups", headers=desk, json={"code": code})
        assert seen.status_code == 200, seen.text
        assert seen.json()["elder_name"] == "王大爷" and seen.json()["static"] is False

        key, body = str(uuid.uuid4()), redemption(code)
        r = c.post(f"/api/orders/meal-points/{point}/redemptions", headers={**desk, "Idempotency-Key": key}, json=body)
        assert r.status_code == 201, r.text
        meal = r.json()
        assert meal["subsidy_fen"] > 0 and meal["subsidy_fen"] + meal["self_fen"] == 1500
        assert meal["receipt_zh"] == f"补贴 {yuan(meal['subsidy_fen'])} 元，自付 {yuan(meal['self_fen'])} 元"
        rid = meal["redemption_id"]

        history = c.get(f"/api/vouchers/wallets/{elder_id}/history", headers=family).json()["entries"]
        taken = [e for e in history if e["order_id"] == rid]
        assert taken and -sum(e["available_change_fen"] for e in taken) == meal["subsidy_fen"], taken
        for who in (family, login(platform, "city_officer")):  # the wallet reads with a meal in it
            wallet = c.get(f"/api/vouchers/wallets/{elder_id}", headers=who)
            assert wallet.status_code == 200, wallet.text

        again = c.post(f"/api/orders/meal-points/{point}/redemptions", headers={**desk, "Idempotency-Key": key},
                       json=body)
        assert again.status_code == 201 and again.json()["redemption_id"] == rid  # the offline queue's retry
        replay = c.post(f"/api/orders/meal-points/{point}/redemptions",
                        headers={**desk, "Idempotency-Key": str(uuid.uuid4())}, json=body)
        assert replay.status_code == 409 and "已使用" in replay.json()["detail"], replay.text
        forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
        bad = c.post(f"/api/orders/meal-points/{point}/lookups", headers=desk, json={"code": forged})
        assert bad.status_code == 422, bad.text

        # another point's counter: not its meal, not its point
        assert c.post(f"/api/orders/meal-points/{other_point}/redemptions/{rid}/undo",
                      headers=other_desk).status_code == 404
        assert c.post(f"/api/orders/meal-points/{point}/redemptions",
                      headers={**other_desk, "Idempotency-Key": str(uuid.uuid4())},
                      json=redemption(meal_code(c, platform, elder_id))).status_code == 404

        undone = c.post(f"/api/orders/meal-points/{point}/redemptions/{rid}/undo", headers=desk)
        assert undone.status_code == 200, undone.text
        assert undone.json()["undone_at"]
        history = c.get(f"/api/vouchers/wallets/{elder_id}/history", headers=family).json()["entries"]
        assert sum(e["available_change_fen"] for e in history if e["order_id"] == rid) == 0, history
        listed = c.get(f"/api/orders/meal-points/{point}/redemptions", headers=desk).json()
        assert next(m for m in listed if m["redemption_id"] == rid)["undone_at"]

        check = c.get("/api/vouchers/ledger/check", headers=login(platform, "city_officer")).json()
        assert check["ok"] is True and check["violations"] == [], check
