"""Complaints, pure: the ticket's states and moves, and its deadline in working days (the
holidays and make-up working weekends are policy data, `oversight_policy.json`)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from shared.city import CITY_TZ
from shared.errors import Conflict, invalid_field


class ComplaintStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"

    @property
    def zh_name(self) -> str:
        return {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", "rejected": "不予受理"}[self.value]

    @property
    def closed(self) -> bool:
        return self in (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)


class ComplaintSubject(StrEnum):
    ORDER = "order"
    PROVIDER = "provider"
    CAREGIVER = "caregiver"

    @property
    def zh_name(self) -> str:
        return {"order": "服务订单", "provider": "服务机构", "caregiver": "护理员"}[self.value]


MOVES: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.OPEN: frozenset({ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED}),
    ComplaintStatus.IN_PROGRESS: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED}),
    ComplaintStatus.RESOLVED: frozenset(),
    ComplaintStatus.REJECTED: frozenset(),
}


def check_move(current: ComplaintStatus, to: ComplaintStatus, *, answer: str | None) -> None:
    """open → in_progress → resolved | rejected (an open ticket may be answered at once); an
    answer is required to close, and a closed ticket does not move."""
    if to not in MOVES[current]:
        raise Conflict(f"投诉当前为「{current.zh_name}」，不能改为「{to.zh_name}」", current_state=str(current))
    if to.closed and not (answer or "").strip():
        raise invalid_field("answer", "办结或不予受理须填写答复")


def is_working_day(day: date, *, holidays: Collection[date], make_up_workdays: Collection[date]) -> bool:
    """Monday to Friday unless a public holiday; a weekend day worked instead (调休) counts."""
    if day in make_up_workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def add_working_days(day: date, count: int, *, holidays: Collection[date], make_up_workdays: Collection[date]) -> date:
    """The `count`-th working day after `day` (`day` itself does not count)."""
    if count < 0:
        raise invalid_field("complaint_working_days", "工作日天数不能为负数")
    remaining = count
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, holidays=holidays, make_up_workdays=make_up_workdays):
            remaining -= 1
    return day


def complaint_deadline(filed_at: datetime, working_days: int, *, holidays: Collection[date],
                       make_up_workdays: Collection[date]) -> datetime:
    """A complaint filed at `filed_at` is due by the end (24:00, the city's time) of the
    `working_days`-th working day after the day it was filed. Returned as an aware instant."""
    if filed_at.tzinfo is None:
        raise ValueError("filed_at must be aware")
    filed_day = filed_at.astimezone(CITY_TZ).date()
    last = add_working_days(filed_day, working_days, holidays=holidays, make_up_workdays=make_up_workdays)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=CITY_TZ)


def is_overdue(status: ComplaintStatus, deadline: datetime, now: datetime) -> bool:
    return not status.closed and now >= deadline
