"""Pure rules of the bureau's dashboard reports (assessment's part): who was on the platform on a
month's reference day, who had been assessed, whose reassessment was overdue. No I/O.

The reference day of a month is its last day, or today while the month is running (a part
month is counted as it stands). An elder is on the platform on day D when registered by D and
not departed (died, moved away) on or before D. Assessed: a finalised assessment by D. Overdue:
assessed, and the reassessment the latest of them made due fell before D
(`hardship.reassessment_due`). The counting is SQL (`reports.py`); these are its boundaries."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone

from services.assessment.rules.hardship import latest_finalisation_day_due
from shared.city import CITY_TZ
from shared.errors import FieldError, Invalid

MAX_MONTHS = 12


def _parse(text: str, field: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in text.split("-"))
        if not (1 <= month <= 12 and 1900 <= year <= 2999):
            raise ValueError
        return year, month
    except ValueError:
        raise Invalid("月份格式不正确，应为 YYYY-MM", errors=[FieldError(field, "应为 YYYY-MM，例如 2026-03")]) from None


def month_range(from_month: str, to_month: str) -> list[str]:
    first, last = _parse(from_month, "from_month"), _parse(to_month, "to_month")
    if first > last:
        raise Invalid("起始月份不能晚于结束月份", errors=[FieldError("from_month", "应不晚于结束月份")])
    months, (y, m) = [], first
    while (y, m) <= last:
        months.append(f"{y:04d}-{m:02d}")
        if len(months) > MAX_MONTHS:
            raise Invalid(f"一次最多统计 {MAX_MONTHS} 个月，请缩小月份范围",
                          errors=[FieldError("from_month", f"最多 {MAX_MONTHS} 个月")])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def reference_day(month: str, today: date) -> date | None:
    """The month's last day, today for the running month, None for a month still to come."""
    y, m = _parse(month, "month")
    first, last = date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
    if first > today:
        return None
    return min(last, today)


def day_end_utc(day: date) -> datetime:
    """The instant the city's `day` ends (its next midnight, Beijing time), in UTC: "by `day`"
    means before it."""
    return datetime.combine(day + timedelta(days=1), time(), CITY_TZ).astimezone(timezone.utc)


def overdue_before(day: date, *, months: int) -> datetime:
    """An elder whose latest finalised assessment is older than this instant is overdue on `day`:
    the reassessment fell due before `day` (`reassessment_due(f) < day`, i.e. by the day before)."""
    return day_end_utc(latest_finalisation_day_due(day - timedelta(days=1), months=months))
