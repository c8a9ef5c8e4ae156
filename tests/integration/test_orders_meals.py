"""Meals at the counter in the orders service (issue 23), on its real database, against the
vouchers double's meal subsidies and the providers double's meal points over real HTTP: a meal
with its receipt and event, replayed / expired / forged / malformed codes, an offline scan synced
later, undo within and after the window, the printed card (name check, daily limit), a suspended
point, another provider's staff, and fifty concurrent redemptions of one code."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import sqlalchemy as sa

from services.orders.models import MealRedemptionRow
from services.orders.rules.meal_codes import DYNAMIC, sign_code
from tests.integration.orders_doubles import orders_env, shanghai

__all__ = ["orders_env"]  # the module fixture, imported for pytest

KEY = b"test-meal-code-key"


def now() -> datetime:
    return datetime.now(timezone.utc)


def setup(env, *, wallet: int = 10_000, status: str = "approved") -> tuple[str, str]:
    elder = env.new_elder()
    env.vouchers.meal_wallets[elder] = wallet
    return elder, env.providers.add_meal_point(status=status)


async def meal_code(env, elder: str) -> str:
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.get(f"/elders/{elder}/meal-code")
    assert r.status_code == 200, r.text
    return r.json()["code"]


def counter(env, point: str, role: str = "caregiver") -> httpx.AsyncClient:
    return env.client(role, provider_id=point, user_id=f"staff-{point}")


async def redeem(env, point: str, code: str, *, scanned_at: datetime | None = None, key: str | None = None,
                 **extra) -> httpx.Response:
    body = {"code": code, "meal": "lunch", "price_fen": 1500, "scanned_at": shanghai(scanned_at or now()),
            "method": "scanned"} | extra
    headers = {"Idempotency-Key": key} if key else {}
    async with counter(env, point) as c:
        return await c.post(f"/meal-points/{point}/redemptions", json=body, headers=headers)


async def test_a_meal_with_its_receipt_and_event_then_replay_is_409(orders_env):
    env = orders_env
    elder, point = setup(env)
    code = await meal_code(env, elder)
    async with counter(env, point) as c:
        r = await c.post(f"/meal-points/{point}/lookups", json={"code": code})
    assert r.status_code == 200, r.text
    assert r.json()["elder_name"] == "张桂兰" and r.json()["static"] is False and r.json()["today"] == []

    scanned = now()
    r = await redeem(env, point, code, key="k1", scanned_at=scanned)
    assert r.status_code == 201, r.text
    meal = r.json()
    assert (meal["subsidy_fen"], meal["self_fen"], meal["receipt_zh"]) == (500, 1000, "补贴 5.00 元，自付 10.00 元")
    assert meal["elder_name"] == "张桂兰" and meal["undo_until"] and meal["tier"] == "low_income"
    again = await redeem(env, point, code, key="k1", scanned_at=scanned)  # the offline queue's retry: the same answer
    assert again.status_code == 201 and again.json()["redemption_id"] == meal["redemption_id"]
    r = await redeem(env, point, code, key="k2")  # the same code again: used
    assert r.status_code == 409 and r.json()["detail"] == "已使用", r.text
    async with counter(env, point) as c:
        r = await c.post(f"/meal-points/{point}/lookups", json={"code": code})
    assert r.status_code == 409 and r.json()["detail"] == "已使用"
    assert env.vouchers.count("POST", "/meal-subsidies") >= 1
    events = [e for e in await env.outbox("youfu.meal.redeemed.v1") if e["redemption_id"] == meal["redemption_id"]]
    assert len(events) == 1 and events[0]["subsidy_fen"] == 500 and events[0]["static"] is False
    assert events[0]["provider_id"] == point and events[0]["elder_id"] == elder and events[0]["method"] == "scanned"


async def test_expired_forged_and_malformed_codes(orders_env):
    env = orders_env
    elder, point = setup(env)
    old = sign_code(KEY, kind=DYNAMIC, elder_id=uuid.UUID(elder), nonce=b"\x01" * 6,
                    issued_at=now() - timedelta(seconds=61))
    r = await redeem(env, point, old)
    assert r.status_code == 409 and r.json()["detail"] == "已过期，请刷新", r.text
    forged = sign_code(b"not the key", kind=DYNAMIC, elder_id=uuid.UUID(elder), nonce=b"\x02" * 6, issued_at=now())
    assert (await redeem(env, point, forged)).status_code == 422
    assert (await redeem(env, point, "YF1-NOT-A-CODE")).status_code == 422
    r = await redeem(env, point, await meal_code(env, elder), scanned_at=now() + timedelta(minutes=5))
    assert r.status_code == 422  # the counter's clock far ahead
    assert env.vouchers.meal_wallets[elder] == 10_000  # nothing taken


async def test_a_code_valid_at_its_scan_synced_later_is_honoured_once(orders_env):
    env = orders_env
    elder, point = setup(env)
    scanned = now() - timedelta(hours=3)
    offline = sign_code(KEY, kind=DYNAMIC, elder_id=uuid.UUID(elder), nonce=b"\x03" * 6,
                        issued_at=scanned - timedelta(seconds=20))
    r = await redeem(env, point, offline, scanned_at=scanned, key="offline-1")
    assert r.status_code == 201, r.text
    r = await redeem(env, point, offline, scanned_at=scanned, key="offline-2")  # queued twice, another key
    assert r.status_code == 409 and r.json()["detail"] == "已使用"
    assert await env.scalar(sa.select(sa.func.count()).select_from(MealRedemptionRow)
                            .where(MealRedemptionRow.elder_id == uuid.UUID(elder))) == 1


async def test_undo_within_ten_minutes_gives_the_subsidy_back_and_not_after(orders_env):
    env = orders_env
    elder, point = setup(env)
    r = await redeem(env, point, await meal_code(env, elder))
    meal = r.json()
    assert env.vouchers.meal_wallets[elder] == 9_500
    other = env.providers.add_meal_point()
    async with counter(env, other) as c:  # another point's counter: not found
        r = await c.post(f"/meal-points/{point}/redemptions/{meal['redemption_id']}/undo")
    assert r.status_code == 404
    async with counter(env, point, role="provider_admin") as c:
        r = await c.post(f"/meal-points/{point}/redemptions/{meal['redemption_id']}/undo")
        assert r.status_code == 200 and r.json()["undone_at"], r.text
        assert (await c.post(f"/meal-points/{point}/redemptions/{meal['redemption_id']}/undo")).status_code == 200
    assert env.vouchers.meal_wallets[elder] == 10_000
    undone = [e for e in await env.outbox("youfu.meal.undone.v1") if e["redemption_id"] == meal["redemption_id"]]
    assert len(undone) == 1

    late = await redeem(env, point, await meal_code(env, elder))
    async with env.db.transaction() as s:  # taken eleven minutes ago
        await s.execute(sa.update(MealRedemptionRow).where(MealRedemptionRow.id == uuid.UUID(late.json()["redemption_id"]))
                        .values(redeemed_at=now() - timedelta(minutes=11)))
    async with counter(env, point) as c:
        r = await c.post(f"/meal-points/{point}/redemptions/{late.json()['redemption_id']}/undo")
    assert r.status_code == 409 and "10 分钟" in r.json()["detail"]


async def test_a_printed_card_needs_the_name_and_keeps_the_daily_limit(orders_env):
    env = orders_env
    elder, point = setup(env)
    async with env.client("officer", district="321202") as officer:
        first = (await officer.post(f"/elders/{elder}/meal-cards")).json()
        r = await officer.post(f"/elders/{elder}/meal-cards")  # a replacement: the first stops working
    assert r.status_code == 201 and r.json()["revoked_cards"] == 1, r.text
    card = r.json()["code"]
    async with env.client("officer", district="321203") as other_district:
        assert (await other_district.post(f"/elders/{elder}/meal-cards")).status_code == 403
    assert (await redeem(env, point, first["code"], confirm_name=True)).status_code == 409
    async with counter(env, point) as c:
        r = await c.post(f"/meal-points/{point}/lookups", json={"code": card})
    assert r.status_code == 200 and r.json()["static"] and r.json()["confirm_name_required"]
    assert r.json()["elder_name"] == "张桂兰" and r.json()["static_left_today"] == 2
    assert (await redeem(env, point, card)).status_code == 422  # the name not confirmed
    for meal in ("lunch", "dinner"):
        r = await redeem(env, point, card, meal=meal, confirm_name=True)
        assert r.status_code == 201 and r.json()["static"] is True, r.text
    r = await redeem(env, point, card, confirm_name=True)
    assert r.status_code == 409 and "2 次" in r.json()["detail"]


async def test_suspended_point_403_other_staff_404_and_the_report(orders_env):
    env = orders_env
    elder, point = setup(env, status="suspended")
    code = await meal_code(env, elder)
    assert (await redeem(env, point, code)).status_code == 403
    _, shop = setup(env)
    env.providers.providers[shop]["kind"] = "home_care_centre"
    assert (await redeem(env, shop, code)).status_code == 403
    _, good = setup(env)
    other = env.providers.add_meal_point()
    async with counter(env, other) as c:
        body = {"code": code, "price_fen": 1500, "scanned_at": shanghai(now())}
        assert (await c.post(f"/meal-points/{good}/redemptions", json=body)).status_code == 404
        assert (await c.post(f"/meal-points/{good}/lookups", json={"code": code})).status_code == 404
    async with env.client("elder", elder_ids=(str(uuid.uuid4()),)) as stranger:
        assert (await stranger.get(f"/elders/{elder}/meal-code")).status_code == 404
    assert (await redeem(env, good, code)).status_code == 201
    month = shanghai(now())[:7]
    async with env.client("officer", district="321202") as officer:
        r = await officer.get("/meals/report", params={"month": month})
        assert r.status_code == 200, r.text
        claims = {c["provider_id"]: c for c in r.json()["claims"]}
        assert claims[good]["meals"] == 1 and claims[good]["subsidy_fen"] == 500
        assert (await officer.get("/meals/report", params={"month": month, "district_code": "321203"})).status_code == 403
    async with counter(env, good) as c:
        assert (await c.get("/meals/report", params={"month": month})).status_code == 403
        listed = (await c.get(f"/meal-points/{good}/redemptions")).json()
    assert len(listed) == 1


async def test_fifty_concurrent_redemptions_of_one_code_make_one_meal(orders_env):
    env = orders_env
    elder, point = setup(env)
    code = await meal_code(env, elder)
    before = env.vouchers.meal_captures
    env.vouchers.meal_slow_s = 0.05
    try:
        async with counter(env, point) as c:
            body = {"code": code, "meal": "lunch", "price_fen": 1500, "scanned_at": shanghai(now())}
            answers = await asyncio.gather(*(
                c.post(f"/meal-points/{point}/redemptions", json=body, headers={"Idempotency-Key": f"k{i}"})
                for i in range(50)))
    finally:
        env.vouchers.meal_slow_s = 0.0
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and codes.count(409) == 49, codes
    assert env.vouchers.meal_captures - before == 1
    assert await env.scalar(sa.select(sa.func.count()).select_from(MealRedemptionRow)
                            .where(MealRedemptionRow.elder_id == uuid.UUID(elder))) == 1


async def test_a_failed_local_write_reverses_the_subsidy(orders_env, monkeypatch):
    env = orders_env
    elder, point = setup(env)
    from services.orders import meals as flow

    real = flow.publish_fast

    async def broken(tx, data):
        raise RuntimeError("the outbox is gone")

    monkeypatch.setattr(flow, "publish_fast", broken)
    r = await redeem(env, point, await meal_code(env, elder))
    monkeypatch.setattr(flow, "publish_fast", real)
    assert r.status_code == 500
    assert env.vouchers.meal_wallets[elder] == 10_000  # taken, then given back
    assert any(p.endswith("/reverse") for m, p, _ in env.vouchers.calls)


async def test_an_elders_first_meal_before_the_copy_fetches_it_and_an_inactive_elder_is_refused(orders_env):
    """A printed code reaches the counter before orders has the elder's copy: the meal's
    transaction finds none, the copy is fetched from assessment, and the meal is taken once."""
    env = orders_env
    elder, point = setup(env)
    code = sign_code(KEY, kind=DYNAMIC, elder_id=uuid.UUID(elder), nonce=b"first1", issued_at=now().replace(microsecond=0))
    at = now()
    r = await redeem(env, point, code, key="first-meal", scanned_at=at)
    assert r.status_code == 201, r.text
    assert (await redeem(env, point, code, key="first-meal", scanned_at=at)).json() == r.json()  # the key replays it
    async with env.db.sessions() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(MealRedemptionRow).where(
            MealRedemptionRow.elder_id == uuid.UUID(elder)))).scalar() == 1

    gone = env.new_elder()
    env.assessment.elders[gone]["status"] = "deceased"
    code = sign_code(KEY, kind=DYNAMIC, elder_id=uuid.UUID(gone), nonce=b"first2", issued_at=now().replace(microsecond=0))
    r = await redeem(env, point, code)
    assert r.status_code == 409 and "不能用餐" in r.json()["detail"], r.text
