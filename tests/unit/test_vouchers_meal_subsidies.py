"""The per-meal subsidy and the meal anomaly rules (services/vouchers/rules/meal_subsidies.py),
as tables at their boundaries."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.vouchers.rules.meal_subsidies import (
    MEAL_POINT_MOSTLY_TYPED,
    MEAL_POINT_OVER_CAPACITY,
    MEAL_TWO_POINTS,
    age_on,
    meal_subsidy,
    receipt_zh,
    run_meal_rules,
)
from services.vouchers.rules.policy import DEFAULT_POLICY, MealRules, PolicyVersion, parse_policy
from shared.city import CITY_TZ
from shared.errors import Invalid

RULES = DEFAULT_POLICY.meals
TODAY = date(2026, 3, 10)


def subsidy(status="none", born=date(1940, 1, 1), *, day=TODAY, price=1500, today=0, wallet=True, available=20_000,
            active=True):
    return meal_subsidy(RULES, economic_status=status, birth_date=born, meal_date=day, price_fen=price,
                        subsidised_today=today, has_wallet=wallet, available_fen=available, active=active)


@pytest.mark.parametrize(("born", "day", "age"), [
    (date(1946, 3, 10), date(2026, 3, 10), 80),  # the 80th birthday itself
    (date(1946, 3, 11), date(2026, 3, 10), 79),  # the 80th birthday is tomorrow
    (date(1944, 2, 29), date(2024, 2, 29), 80),  # leap day in a leap year
    (date(1944, 2, 29), date(2025, 2, 28), 80),  # common year: not yet on the 28th …
    (date(1944, 2, 29), date(2025, 3, 1), 81),  # … a year older on 1 March
    (date(1946, 2, 28), date(2026, 2, 28), 80),
])
def test_age_in_full_years(born, day, age):
    assert age_on(born, day) == age


@pytest.mark.parametrize(("case", "kwargs", "expected"), [
    ("特困 at any age", {"status": "tekun", "born": date(1960, 1, 1)}, (1000, 500, "tekun")),
    ("低保", {"status": "dibao"}, (800, 700, "dibao")),
    ("80th birthday today", {"born": date(1946, 3, 10)}, (500, 1000, "age_80")),
    ("80th birthday tomorrow", {"born": date(1946, 3, 11)}, (300, 1200, "age_60")),
    ("leap-day birth, 28 Feb of a common year", {"born": date(1944, 2, 29),
                                                 "day": date(2024, 2, 28)}, (300, 1200, "age_60")),
    ("leap-day birth, its day", {"born": date(1944, 2, 29), "day": date(2024, 2, 29)}, (500, 1000, "age_80")),
    ("under 60", {"born": date(1970, 1, 1)}, (0, 1500, "none")),
    ("birth date unknown: the lowest age tier", {"born": None}, (300, 1200, "age_60")),
    ("the 2nd meal of the day", {"today": 1}, (500, 1000, "age_80")),
    ("the 3rd meal of the day", {"today": 2}, (0, 1500, "age_80")),
    ("empty wallet", {"available": 0}, (0, 1500, "age_80")),
    ("2.50 left", {"available": 250}, (250, 1250, "age_80")),
    ("no voucher this month", {"wallet": False}, (0, 1500, "age_80")),
    ("meal cheaper than the subsidy", {"status": "tekun", "price": 800}, (800, 0, "tekun")),
    ("a free meal", {"price": 0}, (0, 0, "age_80")),
    ("elder no longer on the register", {"active": False}, (0, 1500, "age_80")),
])
def test_subsidy_table(case, kwargs, expected):
    result = subsidy(**kwargs)
    assert (result.subsidy_fen, result.self_fen, result.tier) == expected, case
    assert result.reason_zh


def test_reasons_name_what_the_elder_sees():
    assert "余额仅剩 2.50 元" in subsidy(available=250).reason_zh
    assert "每日上限 2 餐" in subsidy(today=2).reason_zh
    assert "余额已用完" in subsidy(available=0).reason_zh
    assert "按餐价补贴" in subsidy(status="tekun", price=800).reason_zh
    assert "出生日期未知" in subsidy(born=None).reason_zh
    assert receipt_zh(500, 1000) == "补贴 5.00 元，自付 10.00 元"


def test_meal_rules_are_policy_data():
    stored = DEFAULT_POLICY.model_dump(mode="json")
    assert stored["meals"]["subsidised_meals_per_day"] == 2
    older = {k: v for k, v in stored.items() if k != "meals"}  # a version stored before meals existed
    assert PolicyVersion.model_validate(older).meals == MealRules()
    tuned = parse_policy({**stored, "meals": {**stored["meals"], "subsidised_meals_per_day": 3}})
    assert meal_subsidy(tuned.meals, economic_status="none", birth_date=date(1940, 1, 1), meal_date=TODAY,
                        price_fen=1500, subsidised_today=2, has_wallet=True, available_fen=5000).subsidy_fen == 500
    with pytest.raises(Invalid) as bad:
        parse_policy({**stored, "meals": {**stored["meals"], "subsidised_meals_per_day": -1,
                                          "tiers": [stored["meals"]["tiers"][0]] * 2}})
    assert {e.field for e in bad.value.errors} == {"meals.subsidised_meals_per_day", "meals.tiers.1.code"}


NOON = datetime(2026, 3, 10, 11, 30, tzinfo=CITY_TZ)


def meal(n: int, *, elder="e1", point="p1", at=NOON, method="scanned", day=TODAY, paid=500) -> dict:
    return {"id": f"r{n}" if paid else None, "meal_id": f"m{n}", "elder_id": elder, "provider_id": point,
            "meal_date": day, "served_at": at, "method": method, "amount_fen": paid, "district_code": "321202"}


@pytest.mark.parametrize(("gap_min", "other_point", "found"), [
    (30, True, True),  # exactly the window
    (31, True, False),
    (5, False, False),  # the same point twice (lunch and a second serving): not this rule
])
def test_same_elder_at_two_points(gap_min, other_point, found):
    records = [meal(1), meal(2, point="p2" if other_point else "p1", at=NOON + timedelta(minutes=gap_min))]
    findings = [f for f in run_meal_rules(records, RULES, month="2026-03", capacity_by_provider={})
                if f.rule == MEAL_TWO_POINTS]
    assert bool(findings) == found
    if found:
        assert findings[0].title == "同一老人短时间内在两个助餐点用餐" and len(findings[0].records) == 2


@pytest.mark.parametrize(("capacity", "meals", "found"), [(None, 50, False), (3, 3, False), (3, 4, True)])
def test_point_past_its_capacity(capacity, meals, found):
    records = [meal(n, elder=f"e{n}") for n in range(meals)]
    capacities = {} if capacity is None else {"p1": capacity}
    findings = [f for f in run_meal_rules(records, RULES, month="2026-03", capacity_by_provider=capacities)
                if f.rule == MEAL_POINT_OVER_CAPACITY]
    assert bool(findings) == found
    if found:
        assert "超过申报的每日供餐能力 3 份" in findings[0].explanation


@pytest.mark.parametrize(("total", "typed", "found"), [
    (20, 11, True),  # > 50 % with 20 meals
    (20, 10, False),  # exactly half
    (19, 19, False),  # too few meals to say
])
def test_point_where_most_meals_are_typed(total, typed, found):
    records = [meal(n, elder=f"e{n}", method="typed" if n < typed else "scanned", paid=0 if n % 2 else 500,
                    at=NOON + timedelta(hours=n)) for n in range(total)]
    findings = [f for f in run_meal_rules(records, RULES, month="2026-03", capacity_by_provider={})
                if f.rule == MEAL_POINT_MOSTLY_TYPED]
    assert bool(findings) == found
    if found:
        assert len(findings[0].records) == typed
