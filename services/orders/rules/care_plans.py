"""Care plans on the orders side, decided without I/O: a plan item's frequency as a recurring
rule's schedule, what a plan's replacement or end does, and planned against delivered.

Schedules (docs/decisions.md, "Care plan items as recurring rules"):
- `weekly`: the item's ISO weekdays, as a person's rule has them.
- `per_week` N: N weekdays from `PER_WEEK_WEEKDAYS`, working days first and the gaps as even as
  the week allows (2 → Monday and Thursday).
- `per_month` N: N days of the month, each in the middle of its share of a 28-day month, so every
  month has exactly N (4 → the 4th, 11th, 18th and 25th) and the count the plan was priced on is
  the count delivered. More than 28 a month is the first N days (a short month has fewer).

Planned against delivered counts, per plan item and calendar month (Asia/Shanghai): the rule's
occurrences in the month (planned; those already begun are due), the orders spawned from it whose
window starts in the month (placed), completed or settled (completed), and the missed ones by
reason: cancelled, unmatched (the window passed with nobody found), no_show (no such state yet:
stays 0 until the life cycle has one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Hashable, Iterable, Mapping

from services.orders.rules.departure import Departure
from services.orders.rules.lifecycle import OrderState
from services.orders.rules.recurrence import YearMonth, local_date
from shared.city import CITY_TZ
from shared.errors import FieldError, Invalid

FREQUENCY_TYPES = ("weekly", "per_week", "per_month")
# N visits a week → which ISO weekdays (1 = Monday): Monday to Friday first, then Saturday, Sunday
PER_WEEK_WEEKDAYS: dict[int, tuple[int, ...]] = {
    1: (1,),
    2: (1, 4),
    3: (1, 3, 5),
    4: (1, 2, 4, 5),
    5: (1, 2, 3, 4, 5),
    6: (1, 2, 3, 4, 5, 6),
    7: (1, 2, 3, 4, 5, 6, 7),
}
SPREAD_MONTH_DAYS = 28  # every month has these days
MAX_PER_MONTH = 31
DELIVERY_RATIO_FLOOR = 0.8  # *policy default*: an elder under 80 % of the plan is listed for the bureau
REPLACED_REASON = "照护计划已更新"
ENDED_REASON = "照护计划已结束"
COMPLETED_STATES = frozenset({OrderState.COMPLETED.value, OrderState.SETTLED.value})
# a no-show state does not exist in the life cycle yet; once it does, it is counted here
NO_SHOW_STATES = frozenset(s.value for s in OrderState if s.value == "no_show")
MISSED_REASONS = ("cancelled", "unmatched", "no_show")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring rule's days and time for one plan item."""

    weekdays: tuple[int, ...]
    month_days: tuple[int, ...]
    local_time: time


def _invalid(reason: str) -> Invalid:
    return Invalid(f"照护计划的服务频次有误：{reason}", errors=[FieldError("frequency", reason)])


def _count(frequency: Mapping, most: int) -> int:
    count = frequency.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= most:
        raise _invalid(f"次数应为 1 到 {most} 的整数")
    return count


def spread_month_days(count: int) -> tuple[int, ...]:
    """`count` days of the month, evenly spread: each in the middle of its share of 28 days."""
    if count > SPREAD_MONTH_DAYS:
        return tuple(range(1, count + 1))
    return tuple(1 + (SPREAD_MONTH_DAYS * (2 * i + 1)) // (2 * count) for i in range(count))


def schedule_of(frequency: Mapping) -> Schedule:
    """The rule schedule of a plan item's frequency (`Invalid` for a shape the contract has not)."""
    if not isinstance(frequency, Mapping) or frequency.get("type") not in FREQUENCY_TYPES:
        raise _invalid("类型应为 weekly、per_week 或 per_month")
    try:
        hour, minute = (int(x) for x in str(frequency.get("time", "")).split(":"))
        at = time(hour, minute)
    except ValueError:
        raise _invalid("时间应为 HH:MM（北京时间）") from None
    kind = frequency["type"]
    if kind == "weekly":
        days = frequency.get("weekdays")
        if (not isinstance(days, list) or not days
                or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7 for d in days)):
            raise _invalid("星期应为 1（周一）到 7（周日），至少一天")
        return Schedule(tuple(sorted(set(days))), (), at)
    if kind == "per_week":
        return Schedule(PER_WEEK_WEEKDAYS[_count(frequency, 7)], (), at)
    return Schedule((), spread_month_days(_count(frequency, MAX_PER_MONTH)), at)


def plan_ending(reason: str, effective_date: date | str | None, *, now: datetime) -> Departure:
    """What a plan's replacement or end does to its rules and orders: the same as a departure
    (`rules.departure`: rules end the day before, orders from midnight of the date that nobody
    started are cancelled), with the plan's reason. Without a date, the day the event arrives."""
    if isinstance(effective_date, str):
        effective_date = date.fromisoformat(effective_date[:10])
    day = effective_date or local_date(now)
    return Departure(reason, day, datetime.combine(day, time(0), tzinfo=CITY_TZ))


def ended_reason(reason: str | None) -> str:
    """A rule's end reason for `careplan.ended` (kept under the column's 100 characters)."""
    return (f"{ENDED_REASON}（{reason}）" if reason else ENDED_REASON)[:100]


# ---- planned against delivered ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpawnedOrder:
    """An order the plan's rule placed, as the count needs it."""

    window_start: datetime  # aware
    window_end: datetime
    state: str
    expired_unmatched: bool = False  # cancelled by dispatch: the window passed with nobody found


@dataclass(slots=True)
class Delivery:
    planned: int = 0  # occurrences in the month
    due: int = 0  # of those, begun by now
    placed: int = 0
    completed: int = 0
    missed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MISSED_REASONS, 0))

    @property
    def ratio(self) -> float | None:
        """completed / due; None when nothing was due yet (shown as "—")."""
        return delivery_ratio(self.completed, self.due)

    def add(self, other: Delivery) -> None:
        self.planned += other.planned
        self.due += other.due
        self.placed += other.placed
        self.completed += other.completed
        for reason, n in other.missed.items():
            self.missed[reason] = self.missed.get(reason, 0) + n

    def as_dict(self) -> dict:
        ratio = self.ratio
        return {"planned": self.planned, "due": self.due, "placed": self.placed, "completed": self.completed,
                "missed": dict(self.missed), "ratio": None if ratio is None else round(ratio, 4)}


def delivery_ratio(completed: int, due: int) -> float | None:
    return completed / due if due else None


def item_delivery(planned: Iterable[datetime], orders: Iterable[SpawnedOrder], month: YearMonth, *,
                  now: datetime, until: date | None = None) -> Delivery:
    """One plan item in one month: `planned` are its rule's occurrence instants (any range: only
    the month's count), `orders` the orders its rule spawned (likewise). `until` is the rule's
    last day: orders after it were cancelled because the plan was replaced or ended (or the elder
    left), not missed, so they do not count."""
    result = Delivery()
    for instant in planned:
        if month.contains(instant) and (until is None or local_date(instant) <= until):
            result.planned += 1
            result.due += instant <= now
    for order in orders:
        if not month.contains(order.window_start):
            continue
        if until is not None and local_date(order.window_start) > until:
            continue
        result.placed += 1
        if order.state in COMPLETED_STATES:
            result.completed += 1
        elif order.expired_unmatched or (order.state == OrderState.UNMATCHED.value and order.window_end <= now):
            result.missed["unmatched"] += 1
        elif order.state == OrderState.CANCELLED.value:
            result.missed["cancelled"] += 1
        elif order.state in NO_SHOW_STATES:
            result.missed["no_show"] += 1
    return result


def summary_zh(planned: int, completed: int) -> str:
    return f"本月计划 {planned} 次，已完成 {completed} 次"


def below_floor(deliveries: Mapping[Hashable, Delivery], floor: float = DELIVERY_RATIO_FLOOR) -> list[Hashable]:
    """Keys (elders) whose ratio of completed to due is under `floor`, worst first; nothing due
    yet is not under."""
    under = [(d.ratio, str(k), k) for k, d in deliveries.items() if d.ratio is not None and d.ratio < floor]
    return [k for _, _, k in sorted(under)]


def month_of(text: str | None, *, now: datetime) -> YearMonth:
    """`YYYY-MM`, or the month `now` falls in (Asia/Shanghai)."""
    if not text:
        return YearMonth.of(now)
    try:
        year, month = (int(x) for x in text.split("-"))
        return YearMonth(year, month)
    except ValueError:
        raise Invalid("月份应为 YYYY-MM", errors=[FieldError("month", "月份应为 YYYY-MM")]) from None


MAX_SCHEDULE_DAYS = 62


def check_schedule_range(first: date, last: date) -> None:
    if last < first:
        raise Invalid("结束日期不能早于开始日期", errors=[FieldError("to", "结束日期不能早于开始日期")])
    if last - first > timedelta(days=MAX_SCHEDULE_DAYS):
        reason = f"一次最多查询 {MAX_SCHEDULE_DAYS} 天"
        raise Invalid(reason, errors=[FieldError("to", reason)])
