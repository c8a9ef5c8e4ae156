"""Pure rules of care plans and home beds, table-tested: frequency checks (more visits than the
period has days → 422), occurrences in a month from the start date (mid-month start, 31-day month,
leap February), drafting from the policy table, the state machine, home-bed eligibility from the
versioned policy data and the missing prerequisites."""
from __future__ import annotations

from datetime import date

import pytest

from services.assessment.instruments import care_plan_policy, home_bed_policy
from services.assessment.rules import care_plans as rules
from services.assessment.rules import home_beds as beds
from shared.errors import Conflict

MWF = {"type": "weekly", "weekdays": [1, 3, 5], "time": "09:00"}


@pytest.mark.parametrize("freq, month, start, expected", [
    (MWF, "2026-12", date(2026, 12, 1), 13),            # December 2026: 31 days from a Tuesday
    (MWF, "2026-12", date(2026, 12, 16), 7),            # mid-month start (a Wednesday): the rest of the month
    (MWF, "2026-11", date(2026, 12, 1), 0),             # before the plan starts
    (MWF, "2028-02", date(2028, 1, 1), 12),             # leap February 2028: 29 days from a Tuesday
    (MWF, "2028-02", date(2028, 2, 29), 0),             # starts on the leap day, a Tuesday
    ({"type": "weekly", "weekdays": [2], "time": "09:00"}, "2028-02", date(2028, 2, 1), 5),  # 5 Tuesdays in 29 days
    (MWF, "2027-02", date(2027, 1, 1), 12),             # February 2027: 28 days
    ({"type": "weekly", "weekdays": [7], "time": "10:00"}, "2026-08", date(2026, 8, 1), 5),  # 31 days, 5 Sundays
    ({"type": "per_week", "count": 7, "time": "09:00"}, "2026-12", date(2026, 12, 1), 31),
    ({"type": "per_week", "count": 2, "time": "09:00"}, "2026-12", date(2026, 12, 1), 9),  # Mon + Thu
    ({"type": "per_month", "count": 4, "time": "09:00"}, "2026-12", date(2026, 12, 1), 4),
    ({"type": "per_month", "count": 4, "time": "09:00"}, "2026-12", date(2026, 12, 16), 2),  # days 1 8 16 24
    ({"type": "per_month", "count": 28, "time": "09:00"}, "2028-02", date(2028, 2, 1), 28),
    ({"type": "per_month", "count": 1, "time": "09:00"}, "2026-12", date(2026, 12, 2), 0),  # its day has passed
])
def test_occurrences_in_month(freq, month, start, expected):
    assert rules.occurrences_in_month(freq, month=month, start_date=start) == expected


@pytest.mark.parametrize("count, days, expected", [
    (1, 30, [1]), (4, 30, [1, 8, 16, 23]), (4, 31, [1, 8, 16, 24]), (28, 28, list(range(1, 29))),
    (2, 29, [1, 15]),
])
def test_spread_month_days(count, days, expected):
    assert rules.spread_month_days(count, days) == expected


@pytest.mark.parametrize("count, expected", [(1, [1]), (2, [1, 4]), (3, [1, 3, 5]), (5, [1, 2, 3, 5, 6]),
                                             (7, [1, 2, 3, 4, 5, 6, 7])])
def test_spread_weekdays(count, expected):
    assert rules.spread_weekdays(count) == expected


@pytest.mark.parametrize("freq, field, words", [
    ({"type": "per_week", "count": 8, "time": "09:00"}, "f.count", "一周只有 7 天"),
    ({"type": "per_month", "count": 29, "time": "09:00"}, "f.count", "二月只有 28 天"),
    ({"type": "weekly", "weekdays": [1, 8], "time": "09:00"}, "f.weekdays", "1（周一）到 7"),
    ({"type": "weekly", "weekdays": [1, 1], "time": "09:00"}, "f.weekdays", "重复"),
    ({"type": "weekly", "weekdays": [1], "time": "25:00"}, "f.time", "HH:MM"),
    ({"type": "daily", "time": "09:00"}, "f", "频次类型"),
    ({"type": "per_week", "time": "09:00"}, "f.count", "必填"),
])
def test_frequency_errors_in_chinese(freq, field, words):
    errors = rules.frequency_errors(freq, "f")
    assert errors and errors[0].field == field and words in errors[0].reason, errors


def test_sound_frequencies_have_no_errors():
    for freq in (MWF, {"type": "per_week", "count": 7, "time": "23:59"},
                 {"type": "per_month", "count": 28, "time": "00:00"}):
        assert rules.frequency_errors(freq, "f") == []


def test_describe():
    assert rules.describe(MWF) == "每周一、三、五 09:00"
    assert rules.describe({"type": "per_month", "count": 4, "time": "10:00"}) == "每月 4 次 10:00"


def test_drafting_from_the_policy_table_follows_the_grade():
    policy = care_plan_policy()
    assert policy["version"]
    for grade in range(5):
        items = rules.policy_items(policy, grade)
        per_week = sum(len(i["frequency"]["weekdays"]) if i["frequency"]["type"] == "weekly"
                       else i["frequency"]["count"] for i in items)
        assert per_week == policy["by_grade"][str(grade)]["visits_per_week"], grade
        assert rules.item_errors(items) == [] or grade == 0
        assert all(i["provider_id"] is None for i in items)
    assert rules.policy_items(policy, 9) == []


def test_item_errors_name_each_item():
    items = [{"service_code": "clean", "frequency": MWF, "duration_min": 5, "voucher_kind": "gold"}]
    fields = [e.field for e in rules.item_errors(items, require_providers=True)]
    assert fields == ["items.0.voucher_kind", "items.0.duration_min", "items.0.provider_id"]
    assert rules.item_errors([])[0].field == "items"


def test_budget_lines_count_from_the_start_date():
    items = [{"service_code": "clean", "voucher_kind": "community", "unit_price_fen": 4000, "frequency": MWF}]
    assert rules.budget_lines(items, month="2026-12", start_date=date(2026, 12, 16)) == [
        {"service_code": "clean", "voucher_kind": "community", "unit_price_fen": 4000, "occurrences": 7}]


@pytest.mark.parametrize("state, action, after", [
    ("draft", "edit", "draft"), ("draft", "submit", "awaiting_consent"), ("awaiting_consent", "consent", "active"),
    ("active", "review", "to_review"), ("active", "replace", "replaced"), ("to_review", "replace", "replaced"),
    ("to_review", "end", "ended"), ("draft", "end", "ended"),
])
def test_state_machine_allows(state, action, after):
    assert rules.next_state(state, action) == after


@pytest.mark.parametrize("state, action", [
    ("awaiting_consent", "edit"), ("active", "submit"), ("draft", "consent"), ("to_review", "review"),
    ("replaced", "end"), ("ended", "consent"), ("draft", "replace"),
])
def test_state_machine_refuses_with_409(state, action):
    with pytest.raises(Conflict) as refused:
        rules.next_state(state, action)
    assert refused.value.extra["current_state"] == state


POLICY = home_bed_policy()


@pytest.mark.parametrize("grade, living, age, eligible", [
    (4, "with_family", 70, True), (3, "with_family", 65, True), (2, "alone", 80, True), (2, "alone", 79, False),
    (2, "empty_nest", 85, False), (1, "alone", 90, False), (None, "alone", 90, False), (0, "alone", 90, False),
])
def test_home_bed_eligibility_from_the_policy(grade, living, age, eligible):
    answer = beds.eligibility(POLICY, grade=grade, living_situation=living, age=age)
    assert answer.eligible is eligible and answer.policy_version == POLICY["version"] and answer.reason_zh


def test_a_city_policy_is_data():
    strict = {"version": "2027-01", "eligible_when": [{"grades": [4], "reason_zh": "4 级"}]}
    assert not beds.eligibility(strict, grade=3, living_situation="alone", age=90).eligible
    assert beds.eligibility(strict, grade=4, living_situation="alone", age=60).policy_version == "2027-01"


@pytest.mark.parametrize("facts, codes", [
    (dict(adaptation_done=False, waived=False, devices=0, eligible=False, anchor_ok=False),
     ["adaptation", "device", "eligibility", "anchor_provider"]),
    (dict(adaptation_done=False, waived=True, devices=1, eligible=True, anchor_ok=True), []),
    (dict(adaptation_done=True, waived=False, devices=0, eligible=True, anchor_ok=True), ["device"]),
    (dict(adaptation_done=True, waived=False, devices=2, eligible=True, anchor_ok=False), ["anchor_provider"]),
])
def test_missing_prerequisites(facts, codes):
    missing = beds.missing_prerequisites(**facts)
    assert [m["code"] for m in missing] == codes and all(m["reason"] for m in missing)


def test_anchor_kinds():
    assert beds.anchor_ok(POLICY, kind="home_care_centre", status="approved")
    assert not beds.anchor_ok(POLICY, kind="meal_point", status="approved")
    assert not beds.anchor_ok(POLICY, kind="care_institution", status="suspended")
