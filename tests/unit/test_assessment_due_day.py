"""The due-list cutoff: the latest finalisation day whose reassessment is due, checked against
`add_months` day by day (month ends clamp, so the cutoff is not simply today minus N months)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.assessment.rules.hardship import add_months, latest_finalisation_day_due


@pytest.mark.parametrize(("today", "months", "cutoff"), [
    (date(2025, 2, 28), 6, date(2024, 8, 31)),  # 08-29…08-31 all fall due on 02-28
    (date(2025, 3, 1), 6, date(2024, 9, 1)),
    (date(2024, 2, 29), 6, date(2023, 8, 31)),
    (date(2025, 7, 15), 6, date(2025, 1, 15)),
])
def test_cutoff_at_month_ends(today, months, cutoff):
    assert latest_finalisation_day_due(today, months=months) == cutoff


@pytest.mark.parametrize("months", [1, 6, 12])
def test_cutoff_separates_due_from_not_due_every_day_of_two_years(months):
    today = date(2024, 1, 1)
    while today < date(2026, 1, 1):
        cutoff = latest_finalisation_day_due(today, months=months)
        for offset in range(-35, 35):
            day = cutoff + timedelta(days=offset)
            assert (add_months(day, months) <= today) == (day <= cutoff), (today, day)
        today += timedelta(days=1)


def test_months_must_be_positive():
    with pytest.raises(ValueError):
        latest_finalisation_day_due(date(2025, 1, 1), months=0)
