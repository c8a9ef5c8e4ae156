"""Meals at a meal point's counter on the vouchers service: the subsidy taken from the 社区照护券
at once (a redemption `meal` in the spend report), the day's cap, an empty or nearly empty
wallet (a 200 with less or no subsidy), the same redemption id again, a reversal (also before
its meal), the ledger check after each test, and the meal anomaly findings."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import sqlalchemy as sa

from services.vouchers.models import ElderRow, LedgerAccountRow, TransferRow
from shared.city import CITY_TZ
from tests.integration.vouchers_harness import (
    ASSESSMENT_TOPIC,
    elder_event,
    ledger_stays_sound,
    place_hold,
    vouchers,
)
from tests.support.waiting import wait_for

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
HAILING = "321202"
MONTH = "2026-03"


async def register(vouchers, *, economic: str, born: str | None) -> uuid.UUID:
    elder = uuid.uuid4()
    data = elder_event(elder, district=HAILING, economic=economic) | ({"birth_date": born} if born else {})
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.registered.v1", str(elder), data)

    async def issued():
        async with vouchers.db.sessions() as s:
            row = await s.get(ElderRow, elder)
            return row is not None and (born is None or row.birth_date is not None) and (await vouchers.scalar(
                sa.text("select count(*) from vouchers where elder_id = :e").bindparams(e=elder))) == 1
    await wait_for(issued, what=f"elder {elder} registered")
    return elder


def meal(elder: uuid.UUID, point: uuid.UUID, *, day: str = "2026-03-10", kind: str = "lunch", price: int = 1500,
         method: str = "scanned", at: str | None = None, redemption: uuid.UUID | None = None) -> dict:
    body = {"redemption_id": str(redemption or uuid.uuid4()), "elder_id": str(elder), "provider_id": str(point),
            "meal_date": day, "meal": kind, "price_fen": price, "method": method}
    return body | ({"served_at": at} if at else {})


async def transfers(vouchers) -> int:
    return await vouchers.scalar(sa.select(sa.func.count()).select_from(TransferRow))


async def test_subsidy_cap_idempotency_reversal_and_the_spend_report(vouchers):
    vouchers.clock.now = datetime(2026, 3, 10, 11, 0, tzinfo=CITY_TZ)
    elder = await register(vouchers, economic="dibao_edge", born="1945-06-01")  # 80 on the meal's day
    point, other = uuid.uuid4(), uuid.uuid4()
    async with vouchers.client("service", user_id="svc:orders") as orders:
        lunch = meal(elder, point)
        first = await orders.post("/meal-subsidies", json=lunch)
        assert first.status_code == 200, first.text
        answer = first.json()
        assert (answer["subsidy_fen"], answer["self_fen"], answer["tier"], answer["status"]) == (500, 1000, "age_80", "granted")
        assert answer["receipt_zh"] == "补贴 5.00 元，自付 10.00 元"
        booked = await transfers(vouchers)
        again = await orders.post("/meal-subsidies", json=lunch)
        assert again.json() == answer and await transfers(vouchers) == booked  # the same answer, nothing booked
        assert (await orders.post("/meal-subsidies", json=lunch | {"price_fen": 900})).status_code == 409

        dinner = (await orders.post("/meal-subsidies", json=meal(elder, point, kind="dinner"))).json()
        third = await orders.post("/meal-subsidies", json=meal(elder, other, kind="dinner", price=1200))
        assert third.status_code == 200
        assert (dinner["subsidy_fen"], third.json()["subsidy_fen"], third.json()["self_fen"]) == (500, 0, 1200)
        assert "每日上限 2 餐" in third.json()["reason_zh"]

        reversed_ = await orders.post(f"/meal-subsidies/{dinner['redemption_id']}/reverse")
        assert (reversed_.status_code, reversed_.json()["status"]) == (200, "reversed")
        booked = await transfers(vouchers)
        assert (await orders.post(f"/meal-subsidies/{dinner['redemption_id']}/reverse")).json() == reversed_.json()
        assert await transfers(vouchers) == booked
        # the reversed dinner no longer counts toward the cap: a later meal that day is subsidised
        late = (await orders.post("/meal-subsidies", json=meal(elder, other, kind="dinner"))).json()
        assert late["subsidy_fen"] == 500

        # the undo overtook its meal: the meal, arriving later, pays nothing
        early = uuid.uuid4()
        assert (await orders.post(f"/meal-subsidies/{early}/reverse")).json()["status"] == "reversed"
        overtaken = (await orders.post("/meal-subsidies", json=meal(elder, point, day="2026-03-11", redemption=early))).json()
        assert (overtaken["status"], overtaken["subsidy_fen"]) == ("reversed", 0)

    async with vouchers.client("officer", district=HAILING) as officer:
        report = (await officer.get("/reports/spend", params={"month": MONTH, "group_by": "service"})).json()
        meals = next(row for row in report["rows"] if row["key"] == "meal")
        assert (meals["voucher_fen"], meals["reversed_fen"]) == (1500, 500)  # lunch, dinner (reversed), late dinner
        assert (await officer.post("/meal-subsidies", json=meal(elder, point))).status_code == 403
    wallet = await vouchers.scalar(sa.select(LedgerAccountRow).where(
        LedgerAccountRow.code == f"wallet:community:{MONTH}:{elder}"))
    assert wallet.credits_posted - wallet.debits_posted - wallet.debits_pending == 15_000 - 1_000  # dinner given back


async def test_an_elders_meals_at_several_counters_at_once_keep_the_days_cap(vouchers):
    # the wallet and the point's payable are locked with BEGIN and the day's count is read after
    # them in one statement (shared/fast_sql.py): six counters at once still subsidise two meals.
    # On the 12th the points have no payable rows yet (made under the lock, then counted again);
    # on the 13th they have (the one-statement path).
    vouchers.clock.now = datetime(2026, 3, 13, 13, 0, tzinfo=CITY_TZ)
    elder = await register(vouchers, economic="dibao_edge", born="1945-06-01")
    points = [uuid.uuid4() for _ in range(3)]
    async with vouchers.client("service", user_id="svc:orders") as orders:
        for day in ("2026-03-12", "2026-03-13"):
            answers = await asyncio.gather(*(orders.post("/meal-subsidies", json=meal(elder, points[i % 3], day=day))
                                             for i in range(6)))
            assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
            subsidies = sorted(a.json()["subsidy_fen"] for a in answers)
            assert subsidies == [0, 0, 0, 0, 500, 500], (day, subsidies)
            assert all("每日上限 2 餐" in a.json()["reason_zh"] for a in answers if a.json()["subsidy_fen"] == 0)
    wallet = await vouchers.scalar(sa.select(LedgerAccountRow).where(
        LedgerAccountRow.code == f"wallet:community:{MONTH}:{elder}"))
    assert wallet.debits_posted == 2_000 and wallet.debits_pending == 0  # two days, two meals each


async def test_an_almost_empty_then_empty_wallet_is_self_paid_not_an_error(vouchers):
    vouchers.clock.now = datetime(2026, 3, 12, 11, 0, tzinfo=CITY_TZ)
    elder = await register(vouchers, economic="tekun", born=None)  # 特困: 300 yuan at 100 %
    await place_hold(vouchers, elder, 29_750)  # leaves 2.50 yuan
    point = uuid.uuid4()
    async with vouchers.client("service", user_id="svc:orders") as orders:
        some = (await orders.post("/meal-subsidies", json=meal(elder, point, day="2026-03-12"))).json()
        assert (some["subsidy_fen"], some["self_fen"], some["tier"]) == (250, 1250, "tekun")
        assert "余额仅剩 2.50 元" in some["reason_zh"]
        empty = await orders.post("/meal-subsidies", json=meal(elder, point, day="2026-03-12", kind="dinner"))
        assert empty.status_code == 200
        assert (empty.json()["subsidy_fen"], empty.json()["self_fen"]) == (0, 1500)
        assert "余额已用完" in empty.json()["reason_zh"]
        stranger = await orders.post("/meal-subsidies", json=meal(uuid.uuid4(), point, day="2026-03-12"))
        assert (stranger.status_code, stranger.json()["subsidy_fen"]) == (200, 0)  # no voucher: self-paid


async def test_meal_anomalies(vouchers):
    vouchers.clock.now = datetime(2026, 3, 20, 14, 0, tzinfo=CITY_TZ)
    elder = await register(vouchers, economic="dibao", born="1950-01-01")
    first, second, typed_point = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with vouchers.client("caregiver") as caregiver:
        assert (await caregiver.put(f"/meal-points/{first}/capacity", json={"meals_per_day": 1})).status_code == 403
    async with vouchers.client("officer", district=HAILING) as officer:
        set_ = await officer.put(f"/meal-points/{first}/capacity", json={"meals_per_day": 1})
        assert (set_.status_code, set_.json()["meals_per_day"]) == (200, 1)
    async with vouchers.client("service", user_id="svc:orders") as orders:
        day = "2026-03-20"
        for body in (meal(elder, first, day=day, at="2026-03-20T11:30:00+08:00"),
                     meal(elder, second, day=day, at="2026-03-20T11:50:00+08:00"),
                     meal(uuid.uuid4(), first, day=day, at="2026-03-20T12:10:00+08:00")):
            assert (await orders.post("/meal-subsidies", json=body)).status_code == 200
        for n in range(20):
            body = meal(uuid.uuid4(), typed_point, day=day, method="typed" if n < 11 else "scanned",
                        at="2026-03-20T12:00:00+08:00")
            assert (await orders.post("/meal-subsidies", json=body)).status_code == 200
    async with vouchers.client("city_officer") as city:
        findings = (await city.get("/anomalies", params={"month": MONTH})).json()
    [two_points] = [f for f in findings if f["rule"] == "meal_two_points" and f["elder_id"] == str(elder)]
    assert len(two_points["redemption_ids"]) == 2  # both meals subsidised: an auditor can reverse them
    [over] = [f for f in findings if f["rule"] == "meal_point_over_capacity"]
    assert over["provider_id"] == str(first) and "供餐 2 份" in over["explanation"]
    [typed] = [f for f in findings if f["rule"] == "meal_point_mostly_typed"]
    assert typed["provider_id"] == str(typed_point)
    assert typed["redemption_ids"] == []  # self-paid meals: nothing to reverse
