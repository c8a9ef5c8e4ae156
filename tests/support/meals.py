"""Meals at the counter (issue 23) for the tests that drive a whole platform: the demo meal points'
counter accounts (youfu/seed.py), a dynamic code got as the elder, a redemption's body."""
from __future__ import annotations

import json
from datetime import datetime

import httpx

from shared.city import CITY_TZ
from tests.support.clients import login, login_as
from youfu.seed import MEAL_POINT_STAFF, PROVIDER_OF


def counter_account(platform, n: int = 1) -> dict:
    """The demo account at the counter of meal point `n` (1 or 2)."""
    phone = MEAL_POINT_STAFF[n - 1][1]
    return next(a for a in json.loads((platform.var_dir / "demo-accounts.json").read_text()) if a["phone"] == phone)


def meal_point_id(platform, n: int = 1) -> str:
    return json.loads((platform.var_dir / "demo-world.json").read_text())[PROVIDER_OF[MEAL_POINT_STAFF[n - 1][1]]]


def counter(platform, n: int = 1) -> dict[str, str]:
    account = counter_account(platform, n)
    return login_as(platform, account["phone"], account["password"])


def meal_code(c: httpx.Client, platform, elder_id: str, who: str = "elder") -> str:
    r = c.get(f"/api/orders/elders/{elder_id}/meal-code", headers=login(platform, who))
    assert r.status_code == 200, r.text
    return r.json()["code"]


def redemption(code: str, *, meal: str = "lunch", price_fen: int = 1500, method: str = "typed") -> dict:
    return {"code": code, "meal": meal, "price_fen": price_fen, "method": method,
            "scanned_at": datetime.now(CITY_TZ).isoformat()}
