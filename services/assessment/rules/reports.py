"""Pure rules of the bureau's dashboard reports (assessment's part): who was on the platform on a
month's reference day, who had been assessed, whose reassessment was overdue. No I/O.

The reference day of a month is its last day, or today while the month is running (a part
month is counted as it stands). An elder is on the platform on day D when registered by D and
not departed (died, moved away) on or before D. Assessed: a finalised assessment by D. Overdue:
assessed, and the reassessment fell due before D (`hardship.reassessment_due`)."""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.assessment.rules.hardship import reassessment_due
from shared.city import local_day
from shared.errors import FieldError, Invalid

MAX_MONTHS = 12


@dataclass(frozen=True, slots=True)
class RosterElder:
    district_code: str
    registered_at: datetime
    departed_on: date | None  # None while active
    special_hardship: bool
    finalised: tuple[datetime, ...]  # when each finalised assessment was finalised


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


def roster_counts(elders: Iterable[RosterElder], day: date, *, months: int) -> dict[str, dict]:
    """district → {elders, hardship_elders, assessed, overdue} on `day`."""
    out: dict[str, dict] = {}
    for e in elders:
        if local_day(e.registered_at) > day or (e.departed_on is not None and e.departed_on <= day):
            continue
        row = out.setdefault(e.district_code, {"elders": 0, "hardship_elders": 0, "assessed": 0, "overdue": 0})
        row["elders"] += 1
        row["hardship_elders"] += e.special_hardship
        done: Sequence[datetime] = [f for f in e.finalised if local_day(f) <= day]
        if done:
            row["assessed"] += 1
            row["overdue"] += reassessment_due(max(done), months=months) < day
    return out
