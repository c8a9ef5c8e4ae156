"""The audit rule of 家庭养老床位 (issue 21): a bed open in a calendar month with no completed
visit of its provider in that month is a finding, `home_bed_no_visit`.

Days are Shanghai days. A bed is open from `opened_on` up to, not including, `closed_on` (the
day it closed is the first day without it), so a month owes a visit when the bed was open on
at least one of its days: a bed opened on the 31st owes that month a visit, one closed on the
1st does not. A visit is a completed order of the bed's provider for the bed's elder whose
completion falls on a day of the month from `opened_on` to `closed_on`, both included (a last
visit on the closing day counts). A month is judged once it is over.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.vouchers.rules.audit import HOME_BED_NO_VISIT, Finding
from services.vouchers.rules.calendar import local_date, parse_month


@dataclass(frozen=True)
class HomeBed:
    bed_id: Any
    elder_id: Any
    provider_id: Any
    opened_on: date
    closed_on: date | None = None
    visits_per_week: int | None = None


@dataclass(frozen=True)
class Visit:
    elder_id: Any
    provider_id: Any
    completed_at: datetime  # aware


def month_days(month: str) -> tuple[date, date]:
    year, number = parse_month(month)
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def open_days(bed: HomeBed, month: str) -> tuple[date, date] | None:
    """The first and last day of `month` the bed was open, or None when it was not open in it."""
    first, last = month_days(month)
    start = max(bed.opened_on, first)
    end = last if bed.closed_on is None else min(last, bed.closed_on - timedelta(days=1))
    return (start, end) if start <= end else None


def _visited(bed: HomeBed, visits: Iterable[Visit], start: date, month_last: date) -> bool:
    until = month_last if bed.closed_on is None else min(month_last, bed.closed_on)
    return any(v.elder_id == bed.elder_id and v.provider_id == bed.provider_id
               and start <= local_date(v.completed_at) <= until for v in visits)


def beds_without_visit(beds: Sequence[HomeBed], visits: Sequence[Visit], month: str) -> list[tuple[HomeBed, Finding]]:
    """Each bed open in `month` that its provider did not visit in it, with its finding (one per
    bed and month, so a dismissal sticks)."""
    _, month_last = month_days(month)
    found = []
    for bed in beds:
        span = open_days(bed, month)
        if span is None or _visited(bed, visits, span[0], month_last):
            continue
        start, end = span
        package = f"（服务包每周上门 {bed.visits_per_week} 次）" if bed.visits_per_week else ""
        found.append((bed, Finding(
            HOME_BED_NO_VISIT,
            f"家庭养老床位 {start.isoformat()} 至 {end.isoformat()} 开放期间，负责的服务商没有完成一次上门服务{package}",
            (), f"{bed.bed_id}|{month}")))
    return found
