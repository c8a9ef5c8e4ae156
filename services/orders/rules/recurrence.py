"""Recurring orders and the monthly home-visit schedule, in Asia/Shanghai calendar terms.

People speak in local dates and wall-clock times ("weekdays at 11:00", "once a month"); storage
is UTC. Everything here takes local dates in and gives aware UTC instants out. China has had no
daylight saving time since 1991, so a local time maps to exactly one instant; zoneinfo is still
used rather than a fixed +08:00 so the conversion stays right if that ever changes.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Hashable, Iterable, Mapping

from shared.city import CITY_TZ
from shared.errors import FieldError, Invalid

WEEKDAYS = frozenset({1, 2, 3, 4, 5})  # ISO: 1 = Monday … 7 = Sunday
WEEKDAY_LABELS = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
MAX_RULE_SPAN = timedelta(days=366 * 2)  # a longer rule is a typo more often than a plan


def local_to_utc(day: date, at: time) -> datetime:
    """The UTC instant of wall-clock `at` on local `day` in Asia/Shanghai."""
    return datetime.combine(day, at, tzinfo=CITY_TZ).astimezone(timezone.utc)


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    _require_aware(instant)
    return instant.astimezone(CITY_TZ).date()


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """E.g. 助餐 on weekdays at 11:00 from 3 June to 28 July, skipping the Dragon Boat holiday.

    `extra_dates` adds dates outside `weekdays` (a make-up working Saturday, 调休); `skip_dates`
    removes dates (public holidays, the elder away). `end_date` is inclusive; None runs until ended.
    `month_days` adds days of the month (a care plan's "4 times a month": `rules.care_plans`); a
    day the month does not have (the 31st in April) does not occur that month.
    """

    weekdays: frozenset[int]
    local_time: time
    start_date: date
    end_date: date | None = None
    skip_dates: frozenset[date] = field(default_factory=frozenset)
    extra_dates: frozenset[date] = field(default_factory=frozenset)
    month_days: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "skip_dates", frozenset(self.skip_dates))
        object.__setattr__(self, "extra_dates", frozenset(self.extra_dates))
        object.__setattr__(self, "month_days", frozenset(self.month_days))
        errors: list[FieldError] = []
        if not self.weekdays and not self.extra_dates and not self.month_days:
            errors.append(FieldError("weekdays", "请至少选择一天"))
        if any(not isinstance(d, int) or not 1 <= d <= 7 for d in self.weekdays):
            errors.append(FieldError("weekdays", "星期应为 1（周一）到 7（周日）"))
        if any(not isinstance(d, int) or not 1 <= d <= 31 for d in self.month_days):
            errors.append(FieldError("month_days", "每月的日期应为 1 到 31"))
        if self.local_time.tzinfo is not None:
            errors.append(FieldError("local_time", "时间按北京时间填写，不带时区"))
        if self.end_date is not None:
            if self.end_date < self.start_date:
                errors.append(FieldError("end_date", "结束日期不能早于开始日期"))
            elif self.end_date - self.start_date > MAX_RULE_SPAN:
                errors.append(FieldError("end_date", "周期服务最长两年，请缩短或到期后续订"))
        if errors:
            raise Invalid("周期服务规则有误：" + "；".join(e.reason for e in errors), errors=errors)

    @classmethod
    def for_weeks(
        cls, weekdays: Iterable[int], local_time: time, start_date: date, weeks: int, **options: object
    ) -> RecurrenceRule:
        """A rule lasting `weeks` whole weeks from `start_date` ("weekdays for 8 weeks")."""
        if weeks < 1:
            raise Invalid("周数至少为 1", errors=[FieldError("weeks", "周数至少为 1")])
        end = start_date + timedelta(weeks=weeks, days=-1)
        return cls(frozenset(weekdays), local_time, start_date, end, **options)  # type: ignore[arg-type]

    def ended_after(self, last_day: date) -> RecurrenceRule:
        """The rule ended by a person: nothing after `last_day` (never extends an earlier end)."""
        if last_day < self.start_date:
            reason = "该周期服务尚未开始，请直接取消，而不是设置结束日期"
            raise Invalid(reason, errors=[FieldError("end_date", reason)])
        end = last_day if self.end_date is None else min(self.end_date, last_day)
        return replace(self, end_date=end)

    def occurs_on(self, day: date) -> bool:
        if day < self.start_date or (self.end_date is not None and day > self.end_date):
            return False
        if day in self.skip_dates:
            return False
        return day.isoweekday() in self.weekdays or day.day in self.month_days or day in self.extra_dates

    def occurrences(self, first_day: date, last_day: date) -> list[datetime]:
        """UTC instants of the occurrences on local dates first_day … last_day (inclusive)."""
        day = max(first_day, self.start_date)
        if self.end_date is not None:
            last_day = min(last_day, self.end_date)
        instants = []
        while day <= last_day:
            if self.occurs_on(day):
                instants.append(local_to_utc(day, self.local_time))
            day += timedelta(days=1)
        return instants

    def due_for_spawn(
        self, *, now: datetime, lead: timedelta = timedelta(days=1), spawned: Iterable[datetime] = ()
    ) -> list[datetime]:
        """Occurrences to turn into orders now: within `lead` ahead of `now` and not spawned yet.

        Passing the instants already spawned makes the job idempotent across restarts; an
        occurrence already in the past is never spawned late.
        """
        _require_aware(now)
        done = {s.astimezone(timezone.utc) for s in spawned}
        horizon = now + lead
        return [
            instant
            for instant in self.occurrences(local_date(now), local_date(horizon))
            if now < instant <= horizon and instant not in done
        ]


# ---- monthly home visits (探访关爱) for special-hardship elders ----------------------------------


@dataclass(frozen=True, slots=True, order=True)
class YearMonth:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month out of range: {self.month}")

    @classmethod
    def of(cls, instant: datetime) -> YearMonth:
        """The Asia/Shanghai calendar month an aware instant falls in."""
        day = local_date(instant)
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> YearMonth:
        return YearMonth(self.year + 1, 1) if self.month == 12 else YearMonth(self.year, self.month + 1)

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """[start, end) of the local month as UTC instants (starts 16:00 UTC the day before)."""
        return local_to_utc(self.first_day, time(0)), local_to_utc(self.next().first_day, time(0))

    def contains(self, instant: datetime) -> bool:
        start, end = self.bounds_utc()
        return start <= instant < end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    elder_id: Hashable
    month: YearMonth
    scheduled_at: datetime  # UTC


def plan_monthly_visits(
    elder_ids: Iterable[Hashable],
    month: YearMonth,
    *,
    already_planned: Iterable[Hashable] = (),
    not_before: date | None = None,
    visit_time: time = time(9, 30),
) -> list[PlannedVisit]:
    """One visit this month for each elder not yet planned, spread over the month's weekdays.

    The day is a stable hash of the elder id, so re-planning gives the same day and visits do
    not pile up on the 1st. `not_before` (today, for an elder who becomes due mid-month) moves
    the spread to the days left; when no weekday is left, any remaining day is used.
    """
    days_left = [
        month.first_day + timedelta(days=i)
        for i in range(month.last_day.day)
        if not_before is None or month.first_day + timedelta(days=i) >= not_before
    ]
    working = [d for d in days_left if d.isoweekday() in WEEKDAYS] or days_left
    if not working:
        return []
    skip = set(already_planned)
    planned = []
    for elder_id in dict.fromkeys(elder_ids):  # one per elder even if listed twice
        if elder_id in skip:
            continue
        day = working[zlib.crc32(str(elder_id).encode()) % len(working)]
        planned.append(PlannedVisit(elder_id, month, local_to_utc(day, visit_time)))
    return planned


@dataclass(frozen=True, slots=True)
class Coverage:
    required: int
    visited: int
    unvisited: frozenset[Hashable]

    @property
    def ratio(self) -> float | None:
        """visited / required; None when nobody was due (shown as "—", not as 0% or 100%)."""
        return self.visited / self.required if self.required else None


def visit_coverage(
    required: Iterable[Hashable], completed_visits: Iterable[tuple[Hashable, datetime]], month: YearMonth
) -> Coverage:
    """How many of the elders due this month had a visit completed within the local month.

    Several visits to one elder count once; visits to elders not due do not count.
    """
    due = set(required)
    start, end = month.bounds_utc()
    visited = {elder for elder, at in completed_visits if elder in due and start <= at < end}
    return Coverage(len(due), len(visited), frozenset(due - visited))


def coverage_by_group(
    required: Mapping[Hashable, Hashable], completed_visits: Iterable[tuple[Hashable, datetime]], month: YearMonth
) -> dict[Hashable, Coverage]:
    """`visit_coverage` per group, e.g. `required` maps elder id → district code."""
    visits = list(completed_visits)
    groups: dict[Hashable, list[Hashable]] = {}
    for elder, group in required.items():
        groups.setdefault(group, []).append(elder)
    return {group: visit_coverage(elders, visits, month) for group, elders in sorted(groups.items())}


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime")
