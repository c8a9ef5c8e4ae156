"""Voucher months. A voucher is valid for one calendar month in Asia/Shanghai, while instants are
stored in UTC, so a month starts at 16:00 UTC on the last day of the previous month.

Months are "YYYY-MM" strings: the form events, URLs and account codes carry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from shared.city import CITY_TZ
from shared.city import local_day as local_date  # noqa: F401 - the one definition, under the name callers here use
from shared.errors import FieldError, Invalid, invalid_field

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        # A naive time is ambiguous between UTC and local; guessing would shift a month edge by 8h.
        raise ValueError("instant must be timezone-aware")
    return instant


def parse_month(month: str) -> tuple[int, int]:
    """"2026-11" → (2026, 11); anything else is an `Invalid` naming the field `month`."""
    match = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise invalid_field("month", "月份格式应为 YYYY-MM，例如 2026-11")
    return int(match.group(1)), int(match.group(2))


def format_month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def month_of_date(day: date) -> str:
    return format_month(day.year, day.month)


def month_of(instant: datetime) -> str:
    """The Shanghai calendar month an instant falls in."""
    return month_of_date(_require_aware(instant).astimezone(CITY_TZ).date())


def next_month(month: str) -> str:
    year, number = parse_month(month)
    return format_month(year + number // 12, number % 12 + 1)


def previous_month(month: str) -> str:
    year, number = parse_month(month)
    return format_month(year - 1, 12) if number == 1 else format_month(year, number - 1)


def month_start_utc(month: str) -> datetime:
    """00:00 Asia/Shanghai on the 1st, as a UTC instant."""
    year, number = parse_month(month)
    return datetime.combine(date(year, number, 1), time(0), tzinfo=CITY_TZ).astimezone(UTC)


def month_end_utc(month: str) -> datetime:
    """Exclusive end: the start of the next month. Half-open [start, end) leaves no gap for the
    last second of a month and no overlap between months."""
    return month_start_utc(next_month(month))


@dataclass(frozen=True)
class ValidityWindow:
    month: str
    starts_at: datetime  # UTC, inclusive
    ends_at: datetime  # UTC, exclusive

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= _require_aware(instant) < self.ends_at


def validity_window(month: str, issued_at: datetime | None = None) -> ValidityWindow:
    """When a voucher for `month` may be spent: that calendar month only ("当月券当月用"). A
    voucher issued mid-month (first month after approval) is valid from its issue on."""
    start, end = month_start_utc(month), month_end_utc(month)
    if issued_at is not None:
        issued = _require_aware(issued_at).astimezone(UTC)
        if not start <= issued < end:
            raise invalid_field("issued_at", f"发放时间不在 {month} 月内")
        start = issued
    return ValidityWindow(month=month, starts_at=start, ends_at=end)


def is_working_day(day: date) -> bool:
    """Monday to Friday. Public holidays and the make-up working weekends (调休) are NOT modelled:
    they are announced yearly by the State Council, so a deadline over a holiday comes out early,
    which errs on the side of the elder."""
    return day.weekday() < 5


def first_issue_deadline(approval_date: date, working_days: int = 5) -> date:
    """The last day by which an elder's first voucher must be issued: `working_days` working days
    after the approval day (the approval day itself does not count). 0 means the same day."""
    if working_days < 0:
        raise invalid_field("working_days", "工作日天数不能为负数")
    day, remaining = approval_date, working_days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included; empty when `last` is before `first`."""
    first_year, first_number = parse_month(first)
    last_year, last_number = parse_month(last)
    count = (last_year - first_year) * 12 + (last_number - first_number) + 1
    index = first_year * 12 + first_number - 1
    return [format_month(i // 12, i % 12 + 1) for i in range(index, index + max(count, 0))]


def is_future_month(month: str, now: datetime) -> bool:
    """True when `month` has not begun in Shanghai at `now` (a run for it must be refused)."""
    return parse_month(month) > parse_month(month_of(now))


def check_month_range(from_month: str, to_month: str, *, max_months: int) -> list[str]:
    """The months of a report's period, first to last; 422 for a bad month, a reversed period or
    more than `max_months` months (every monthly report of this service asks the same)."""
    parse_month(from_month)
    parse_month(to_month)
    if from_month > to_month:
        raise Invalid("起始月份不能晚于结束月份", errors=[FieldError("from_month", "应不晚于结束月份")])
    months = months_between(from_month, to_month)
    if len(months) > max_months:
        raise Invalid(f"一次最多统计 {max_months} 个月，请缩小月份范围",
                      errors=[FieldError("from_month", f"最多 {max_months} 个月")])
    return months
