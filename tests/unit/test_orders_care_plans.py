"""Care plans on the orders side: frequencies as rule schedules, the plan's end as a departure,
planned against delivered at the month's edges (Asia/Shanghai: a month starts at 16:00 UTC the
day before)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.orders.rules.care_plans import (
    PER_WEEK_WEEKDAYS,
    Delivery,
    SpawnedOrder,
    below_floor,
    ended_reason,
    item_delivery,
    month_of,
    plan_ending,
    schedule_of,
    spread_month_days,
    summary_zh,
)
from services.orders.rules.dispatch import Candidate, prefer_provider
from services.orders.rules.recurrence import RecurrenceRule, YearMonth, local_to_utc
from shared.city import CITY_TZ
from shared.errors import Invalid

UTC = timezone.utc
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frequency", "weekdays", "month_days"),
    [
        ({"type": "weekly", "weekdays": [5, 1, 3, 3], "time": "09:00"}, (1, 3, 5), ()),
        ({"type": "per_week", "count": 1, "time": "09:00"}, (1,), ()),
        ({"type": "per_week", "count": 2, "time": "09:00"}, (1, 4), ()),
        ({"type": "per_week", "count": 3, "time": "09:00"}, (1, 3, 5), ()),
        ({"type": "per_week", "count": 4, "time": "09:00"}, (1, 2, 4, 5), ()),
        ({"type": "per_week", "count": 5, "time": "09:00"}, (1, 2, 3, 4, 5), ()),
        ({"type": "per_week", "count": 7, "time": "09:00"}, (1, 2, 3, 4, 5, 6, 7), ()),
        ({"type": "per_month", "count": 1, "time": "09:00"}, (), (15,)),
        ({"type": "per_month", "count": 2, "time": "09:00"}, (), (8, 22)),
        ({"type": "per_month", "count": 3, "time": "09:00"}, (), (5, 15, 24)),
        ({"type": "per_month", "count": 4, "time": "09:00"}, (), (4, 11, 18, 25)),
        ({"type": "per_month", "count": 30, "time": "09:00"}, (), tuple(range(1, 31))),
    ],
)
def test_frequencies_become_schedules(frequency, weekdays, month_days):
    schedule = schedule_of(frequency)
    assert (schedule.weekdays, schedule.month_days, schedule.local_time) == (weekdays, month_days, time(9, 0))


def test_per_week_days_are_distinct_and_working_days_first():
    for count, days in PER_WEEK_WEEKDAYS.items():
        assert len(set(days)) == count and all(1 <= d <= 7 for d in days)
        assert set(days) >= set(range(1, min(count, 5) + 1)) or count < 5


@pytest.mark.parametrize("count", range(1, 29))
def test_per_month_spread_gives_exactly_n_every_month_even_february(count):
    days = spread_month_days(count)
    assert len(set(days)) == count and max(days) <= 28
    rule = RecurrenceRule(frozenset(), time(9), date(2027, 1, 1), month_days=frozenset(days))
    for month in (YearMonth(2027, 2), YearMonth(2028, 2), YearMonth(2027, 4), YearMonth(2027, 12)):
        assert len(rule.occurrences(month.first_day, month.last_day)) == count


@pytest.mark.parametrize(
    "frequency",
    [
        None, {}, {"type": "daily", "time": "09:00"}, {"type": "weekly", "weekdays": [], "time": "09:00"},
        {"type": "weekly", "weekdays": [0, 8], "time": "09:00"}, {"type": "weekly", "weekdays": [1], "time": "9am"},
        {"type": "per_week", "count": 8, "time": "09:00"}, {"type": "per_week", "count": 0, "time": "09:00"},
        {"type": "per_month", "count": 32, "time": "09:00"}, {"type": "per_month", "count": True, "time": "09:00"},
        {"type": "per_month", "count": 2, "time": "25:00"},
    ],
)
def test_frequencies_outside_the_contract_are_refused(frequency):
    with pytest.raises(Invalid):
        schedule_of(frequency)


def test_a_month_day_rule_skips_days_a_month_does_not_have():
    rule = RecurrenceRule(frozenset(), time(9), date(2027, 1, 1), month_days=frozenset({30, 31}))
    assert len(rule.occurrences(date(2027, 2, 1), date(2027, 2, 28))) == 0
    assert len(rule.occurrences(date(2027, 4, 1), date(2027, 4, 30))) == 1
    assert len(rule.occurrences(date(2027, 5, 1), date(2027, 5, 31))) == 2


def test_a_plan_ending_is_a_departure_from_midnight_of_its_date():
    ending = plan_ending("照护计划已更新", "2026-03-10", now=NOW)
    assert ending.cutoff == datetime(2026, 3, 10, tzinfo=CITY_TZ) == datetime(2026, 3, 9, 16, tzinfo=UTC)
    assert ending.order_reason == "照护计划已更新（2026-03-10），订单自动取消"
    assert plan_ending("x", None, now=datetime(2026, 3, 19, 17, tzinfo=UTC)).status_date == date(2026, 3, 20)
    assert ended_reason("老人已故") == "照护计划已结束（老人已故）" and ended_reason(None) == "照护计划已结束"
    assert len(ended_reason("长" * 200)) == 100


def order(day: date, at: time, state: str, **kw) -> SpawnedOrder:
    start = local_to_utc(day, at)
    return SpawnedOrder(start, start + timedelta(hours=1), state, **kw)


EDGES = RecurrenceRule(frozenset(), time(0, 30), date(2024, 1, 1), month_days=frozenset({1, 29, 31}))
LATE = RecurrenceRule(frozenset(), time(23, 30), date(2024, 1, 1), month_days=frozenset({1, 29, 31}))


@pytest.mark.parametrize(
    ("rule", "month", "planned"),
    [
        (EDGES, YearMonth(2024, 1), 3),  # 1st at 00:30 local is 16:30 UTC on 31 Dec: still January
        (EDGES, YearMonth(2024, 2), 2),  # leap day 29 Feb 2024, no 31st
        (EDGES, YearMonth(2025, 2), 1),  # no 29th either
        (LATE, YearMonth(2024, 3), 3),  # 31 March at 23:30 local is 15:30 UTC the same day
        (EDGES, YearMonth(2024, 4), 2),
    ],
)
def test_planned_counts_local_months(rule, month, planned):
    instants = rule.occurrences(month.first_day - timedelta(days=3), month.last_day + timedelta(days=3))
    assert item_delivery(instants, [], month, now=NOW).planned == planned


def test_delivered_counts_by_the_local_month_of_the_window():
    jan, feb = YearMonth(2024, 1), YearMonth(2024, 2)
    orders = [
        order(date(2024, 1, 1), time(0, 30), "settled"),  # UTC 31 Dec: January
        order(date(2024, 1, 29), time(0, 30), "completed"),
        order(date(2024, 1, 31), time(23, 30), "cancelled"),  # UTC 31 Jan 15:30
        order(date(2024, 2, 1), time(0, 30), "cancelled", expired_unmatched=True),  # UTC 31 Jan 16:30: February
        order(date(2024, 2, 29), time(0, 30), "unmatched"),  # leap day, window passed
        order(date(2024, 2, 29), time(10, 0), "accepted"),
    ]
    now = datetime(2024, 3, 1, tzinfo=UTC)
    january = item_delivery(EDGES.occurrences(jan.first_day, jan.last_day), orders, jan, now=now)
    assert january.as_dict() == {"planned": 3, "due": 3, "placed": 3, "completed": 2,
                                 "missed": {"cancelled": 1, "unmatched": 0, "no_show": 0}, "ratio": 0.6667}
    february = item_delivery(EDGES.occurrences(feb.first_day, feb.last_day), orders, feb, now=now)
    assert february.as_dict() == {"planned": 2, "due": 2, "placed": 3, "completed": 0,
                                  "missed": {"cancelled": 0, "unmatched": 2, "no_show": 0}, "ratio": 0.0}


def test_an_unmatched_order_still_ahead_is_not_missed_and_future_occurrences_are_not_due():
    month = YearMonth(2026, 3)
    rule = RecurrenceRule(frozenset({1, 2, 3, 4, 5}), time(9), date(2026, 3, 1))
    ahead = order(date(2026, 3, 23), time(9), "unmatched")
    counts = item_delivery(rule.occurrences(month.first_day, month.last_day), [ahead], month, now=NOW)
    assert (counts.planned, counts.due, counts.placed) == (22, 15, 1)  # weekdays 2–20 March begun by 10:00 on the 20th
    assert counts.missed == {"cancelled": 0, "unmatched": 0, "no_show": 0} and counts.ratio == 0.0


def test_after_the_rules_last_day_nothing_counts():
    month = YearMonth(2026, 3)
    rule = RecurrenceRule(frozenset({1, 2, 3, 4, 5, 6, 7}), time(9), date(2026, 3, 1), date(2026, 3, 9))
    orders = [order(date(2026, 3, 9), time(9), "completed"), order(date(2026, 3, 10), time(9), "cancelled")]
    counts = item_delivery(rule.occurrences(month.first_day, month.last_day), orders, month, now=NOW,
                           until=date(2026, 3, 9))
    assert (counts.planned, counts.placed, counts.completed, counts.missed["cancelled"]) == (9, 1, 1, 0)


def test_ratios_floor_and_summary():
    a, b, c, d = Delivery(due=10, completed=7), Delivery(due=10, completed=8), Delivery(), Delivery(due=4)
    assert below_floor({"a": a, "b": b, "c": c, "d": d}) == ["d", "a"]
    total = Delivery()
    for x in (a, b):
        total.add(x)
    assert (total.due, total.completed, total.ratio) == (20, 15, 0.75)
    assert c.ratio is None and c.as_dict()["ratio"] is None
    assert summary_zh(8, 5) == "本月计划 8 次，已完成 5 次"


def test_month_of():
    assert str(month_of(None, now=datetime(2026, 2, 28, 16, tzinfo=UTC))) == "2026-03"
    assert str(month_of("2024-02", now=NOW)) == "2024-02"
    with pytest.raises(Invalid):
        month_of("2024-13", now=NOW)


def test_the_preferred_provider_goes_first_only_when_it_is_a_candidate():
    ranked = [Candidate("a", "1"), Candidate("b", "2"), Candidate("b", "3"), Candidate("c", "4")]
    assert prefer_provider(ranked, "b") == [Candidate("b", "2"), Candidate("b", "3"), Candidate("a", "1"),
                                            Candidate("c", "4")]
    assert prefer_provider(ranked, "z") == ranked
