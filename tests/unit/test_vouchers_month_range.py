"""The period of a monthly report (rules/calendar.check_month_range), at its boundaries."""
import pytest

from services.vouchers.rules.calendar import check_month_range
from shared.errors import Invalid


@pytest.mark.parametrize(("first", "last", "most", "months"), [
    ("2026-12", "2026-12", 1, 1),       # one month
    ("2026-11", "2027-01", 3, 3),       # across the year's end
    ("2024-01", "2026-12", 36, 36),     # exactly the cap
])
def test_a_period_within_the_cap_lists_its_months(first, last, most, months):
    got = check_month_range(first, last, max_months=most)
    assert len(got) == months and got[0] == first and got[-1] == last


@pytest.mark.parametrize(("first", "last", "most", "field_reason"), [
    ("2027-01", "2026-12", 36, "应不晚于结束月份"),  # reversed
    ("2023-12", "2026-12", 36, "最多 36 个月"),      # one past the cap
])
def test_a_reversed_or_too_long_period_is_422_on_from_month(first, last, most, field_reason):
    with pytest.raises(Invalid) as raised:
        check_month_range(first, last, max_months=most)
    assert [(e.field, e.reason) for e in raised.value.errors] == [("from_month", field_reason)]


def test_a_malformed_month_is_refused():
    with pytest.raises(Exception):
        check_month_range("2026-13", "2026-12", max_months=36)
