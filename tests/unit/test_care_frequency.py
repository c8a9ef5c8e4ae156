"""The one spread of "N a week" / "N a month" that both the plan's price and its schedule use."""
import pytest

from shared.care_frequency import spread_month_days, spread_weekdays


@pytest.mark.parametrize("count, expected", [
    (1, (1,)), (2, (1, 4)), (3, (1, 3, 5)), (4, (1, 2, 4, 5)), (5, (1, 2, 3, 4, 5)), (7, (1, 2, 3, 4, 5, 6, 7))])
def test_per_week_fills_working_days_first(count, expected):
    assert spread_weekdays(count) == expected


@pytest.mark.parametrize("count, expected", [
    (1, (15,)), (2, (8, 22)), (4, (4, 11, 18, 25)), (28, tuple(range(1, 29))), (30, tuple(range(1, 31)))])
def test_per_month_days_sit_in_every_month(count, expected):
    days = spread_month_days(count)
    assert days == expected
    if count <= 28:  # February of a common year holds every one of them
        assert max(days) <= 28 and len(set(days)) == count
