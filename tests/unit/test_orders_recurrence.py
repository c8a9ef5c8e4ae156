"""Recurring orders and monthly visits, in Asia/Shanghai calendar terms (no DST, UTC+8)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.orders.rules.recurrence import (
    WEEKDAYS,
    RecurrenceRule,
    YearMonth,
    coverage_by_group,
    local_date,
    local_to_utc,
    plan_monthly_visits,
    visit_coverage,
)
from shared.errors import Invalid

UTC = timezone.utc
MEALS = RecurrenceRule(WEEKDAYS, time(11, 0), date(2024, 6, 3))  # 助餐, weekdays at 11:00 from Monday 3 June


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "expected"),
    [
        (date(2024, 6, 3), time(11, 0), utc(2024, 6, 3, 3, 0)),
        (date(2024, 1, 1), time(0, 0), utc(2023, 12, 31, 16, 0)),  # new year starts the day before in UTC
        (date(2024, 3, 31), time(2, 30), utc(2024, 3, 30, 18, 30)),  # Europe's DST night: nothing here
        (date(2024, 11, 3), time(1, 30), utc(2024, 11, 2, 17, 30)),  # America's: nothing either
    ],
)
def test_local_to_utc_is_always_eight_hours(day, at, expected):
    assert local_to_utc(day, at) == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2024, 6, 2, 15, 59, 59), date(2024, 6, 2)),
        (utc(2024, 6, 2, 16, 0), date(2024, 6, 3)),
    ],
)
def test_local_date_turns_at_16_utc(instant, expected):
    assert local_date(instant) == expected


def test_weekday_meals_at_eleven():
    instants = MEALS.occurrences(date(2024, 6, 3), date(2024, 6, 9))
    assert instants == [utc(2024, 6, d, 3, 0) for d in range(3, 8)]
    assert all(i.tzinfo is UTC for i in instants)


@pytest.mark.parametrize(
    ("day", "occurs"),
    [
        (date(2024, 6, 2), False),  # Sunday before the start
        (date(2024, 6, 3), True),  # the start date itself
        (date(2024, 6, 8), False),  # Saturday
        (date(2024, 6, 9), False),  # Sunday
        (date(2024, 6, 10), True),  # Monday
    ],
)
def test_weekday_boundaries(day, occurs):
    assert MEALS.occurs_on(day) is occurs


def test_skip_dates_and_make_up_working_days():
    rule = RecurrenceRule(
        WEEKDAYS,
        time(11, 0),
        date(2024, 9, 9),
        date(2024, 9, 22),
        skip_dates=frozenset({date(2024, 9, 16), date(2024, 9, 17)}),  # 中秋 holiday
        extra_dates=frozenset({date(2024, 9, 14)}),  # the Saturday worked in exchange (调休)
    )
    days = [local_date(i) for i in rule.occurrences(date(2024, 9, 1), date(2024, 9, 30))]
    assert days == [date(2024, 9, d) for d in (9, 10, 11, 12, 13, 14, 18, 19, 20)]


def test_eight_weeks_of_weekdays():
    rule = RecurrenceRule.for_weeks(WEEKDAYS, time(11, 0), date(2024, 6, 3), weeks=8)
    assert rule.end_date == date(2024, 7, 28)
    instants = rule.occurrences(date(2024, 1, 1), date(2024, 12, 31))
    assert len(instants) == 40
    assert instants[0] == utc(2024, 6, 3, 3, 0) and instants[-1] == utc(2024, 7, 26, 3, 0)


def test_end_date_is_inclusive_and_ending_early_never_extends():
    rule = RecurrenceRule(frozenset({3}), time(17, 30), date(2024, 6, 5), date(2024, 6, 19))  # Wednesdays
    assert [local_date(i) for i in rule.occurrences(date(2024, 6, 1), date(2024, 6, 30))] == [
        date(2024, 6, 5),
        date(2024, 6, 12),
        date(2024, 6, 19),
    ]
    assert rule.ended_after(date(2024, 6, 12)).end_date == date(2024, 6, 12)
    assert rule.ended_after(date(2024, 12, 31)).end_date == date(2024, 6, 19)
    assert rule.ended_after(date(2024, 6, 5)).occurrences(date(2024, 6, 1), date(2024, 6, 30)) == [utc(2024, 6, 5, 9, 30)]
    with pytest.raises(Invalid):
        rule.ended_after(date(2024, 6, 4))  # before it started: cancel the rule instead


def test_spawn_a_day_ahead_once():
    now = utc(2024, 6, 3, 2, 0)  # Monday 10:00 in Shanghai
    due = MEALS.due_for_spawn(now=now)
    assert due == [utc(2024, 6, 3, 3, 0)]  # today 11:00; Tuesday 11:00 is 25 hours away
    assert MEALS.due_for_spawn(now=now, spawned=due) == []  # a restart spawns nothing twice
    later = now + timedelta(hours=2)  # 12:00: Tuesday 11:00 is now within a day
    assert MEALS.due_for_spawn(now=later, spawned=due) == [utc(2024, 6, 4, 3, 0)]


def test_spawn_skips_occurrences_already_past():
    assert MEALS.due_for_spawn(now=utc(2024, 6, 3, 3, 0), lead=timedelta(hours=1)) == []


def test_spawned_instants_in_another_zone_still_match():
    shanghai = local_to_utc(date(2024, 6, 3), time(11)).astimezone(timezone(timedelta(hours=8)))
    assert MEALS.due_for_spawn(now=utc(2024, 6, 3, 2, 0), spawned=[shanghai]) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weekdays": frozenset()}, "weekdays"),
        ({"weekdays": frozenset({0, 8})}, "weekdays"),
        ({"end_date": date(2024, 6, 2)}, "end_date"),
        ({"end_date": date(2027, 1, 1)}, "end_date"),
        ({"local_time": time(11, 0, tzinfo=UTC)}, "local_time"),
    ],
)
def test_invalid_rules_are_refused_in_chinese(kwargs, field):
    base = {"weekdays": WEEKDAYS, "local_time": time(11, 0), "start_date": date(2024, 6, 3)}
    with pytest.raises(Invalid) as raised:
        RecurrenceRule(**{**base, **kwargs})
    assert raised.value.status == 422
    assert field in [e.field for e in raised.value.errors]
    assert raised.value.detail.startswith("周期服务规则有误")


def test_naive_now_is_rejected():
    with pytest.raises(ValueError):
        MEALS.due_for_spawn(now=datetime(2024, 6, 3, 10, 0))


# ---- months ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "month"),
    [
        (utc(2024, 1, 31, 15, 59, 59), YearMonth(2024, 1)),
        (utc(2024, 1, 31, 16, 0), YearMonth(2024, 2)),  # already 1 February in Shanghai
        (utc(2024, 12, 31, 16, 0), YearMonth(2025, 1)),
        (utc(2024, 2, 29, 12, 0), YearMonth(2024, 2)),
    ],
)
def test_the_shanghai_month_of_an_instant(instant, month):
    assert YearMonth.of(instant) == month


@pytest.mark.parametrize(
    ("month", "start", "end", "last_day"),
    [
        (YearMonth(2024, 2), utc(2024, 1, 31, 16), utc(2024, 2, 29, 16), date(2024, 2, 29)),
        (YearMonth(2023, 2), utc(2023, 1, 31, 16), utc(2023, 2, 28, 16), date(2023, 2, 28)),
        (YearMonth(2024, 12), utc(2024, 11, 30, 16), utc(2024, 12, 31, 16), date(2024, 12, 31)),
    ],
)
def test_month_bounds(month, start, end, last_day):
    assert month.bounds_utc() == (start, end)
    assert month.last_day == last_day
    assert month.contains(start) and not month.contains(end)
    assert str(month) == f"{month.year}-{month.month:02d}"


def test_plan_one_visit_per_elder_on_weekdays_of_the_month():
    month = YearMonth(2024, 6)
    elders = [f"elder-{i}" for i in range(200)]
    plan = plan_monthly_visits(elders + elders[:5], month)  # duplicates collapse
    assert [v.elder_id for v in plan] == elders
    for visit in plan:
        day = local_date(visit.scheduled_at)
        assert month.contains(visit.scheduled_at) and day.isoweekday() in WEEKDAYS
        assert visit.scheduled_at.astimezone(timezone(timedelta(hours=8))).time() == time(9, 30)
    assert len({local_date(v.scheduled_at) for v in plan}) > 10  # spread, not piled on the 1st
    assert plan == plan_monthly_visits(elders, month)  # stable


def test_plan_skips_elders_already_planned_and_respects_today():
    month = YearMonth(2024, 6)
    plan = plan_monthly_visits(["a", "b", "c"], month, already_planned={"b"}, not_before=date(2024, 6, 24))
    assert [v.elder_id for v in plan] == ["a", "c"]
    assert all(date(2024, 6, 24) <= local_date(v.scheduled_at) <= date(2024, 6, 28) for v in plan)


def test_plan_late_in_the_month_uses_the_weekend_if_nothing_else_is_left():
    plan = plan_monthly_visits(["a"], YearMonth(2024, 6), not_before=date(2024, 6, 29))  # a Saturday
    assert local_date(plan[0].scheduled_at) in (date(2024, 6, 29), date(2024, 6, 30))
    assert plan_monthly_visits(["a"], YearMonth(2024, 6), not_before=date(2024, 7, 1)) == []


def test_coverage_counts_each_due_elder_once_within_the_local_month():
    march = YearMonth(2024, 3)
    visits = [
        ("a", utc(2024, 3, 5, 2)),
        ("a", utc(2024, 3, 20, 2)),  # a second visit does not count twice
        ("b", utc(2024, 3, 31, 15, 59)),  # 23:59 on 31 March in Shanghai: March
        ("c", utc(2024, 3, 31, 16, 0)),  # 00:00 on 1 April in Shanghai: not March
        ("z", utc(2024, 3, 10, 2)),  # not due this month
    ]
    coverage = visit_coverage({"a", "b", "c", "d"}, visits, march)
    assert (coverage.required, coverage.visited, coverage.unvisited) == (4, 2, frozenset({"c", "d"}))
    assert coverage.ratio == 0.5


def test_coverage_with_nobody_due_has_no_ratio():
    assert visit_coverage([], [], YearMonth(2024, 3)).ratio is None


def test_coverage_per_district():
    required = {"a": "321202", "b": "321202", "c": "321281"}
    visits = [("a", utc(2024, 3, 5, 2)), ("c", utc(2024, 3, 6, 2))]
    by_district = coverage_by_group(required, visits, YearMonth(2024, 3))
    assert {d: c.ratio for d, c in by_district.items()} == {"321202": 0.5, "321281": 1.0}
