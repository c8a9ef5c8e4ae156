"""Pure rules of the bureau's dashboard reports (orders' part): the month range asked for, orders
by hour of the day, the time from placing to acceptance in bands, and elder positions rounded to
about 100 m (the gateway turns them into h3 cells). No I/O."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from services.orders.rules.recurrence import YearMonth
from shared.city import CITY_TZ
from shared.errors import FieldError, Invalid

MAX_MONTHS = 12
MIN_YEAR, MAX_YEAR = 1900, 2999  # a month the calendar arithmetic can always handle
# (upper bound in minutes, zh label); the last band is open-ended
ACCEPTANCE_BANDS: tuple[tuple[float, str], ...] = (
    (5, "5 分钟内"), (15, "5–15 分钟"), (30, "15–30 分钟"), (60, "30–60 分钟"), (120, "1–2 小时"),
    (360, "2–6 小时"), (1440, "6–24 小时"), (float("inf"), "超过 24 小时"),
)


def parse_year_month(text: str, field: str) -> YearMonth:
    try:
        year, month = (int(x) for x in text.split("-"))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(text)
        return YearMonth(year, month)
    except ValueError:
        raise Invalid("月份格式不正确，应为 YYYY-MM", errors=[FieldError(field, "应为 YYYY-MM，例如 2026-03")]) from None


def month_range(from_month: str, to_month: str) -> list[YearMonth]:
    """The months from `from_month` to `to_month`, both included, at most `MAX_MONTHS`."""
    first, last = parse_year_month(from_month, "from_month"), parse_year_month(to_month, "to_month")
    if first > last:
        raise Invalid("起始月份不能晚于结束月份", errors=[FieldError("from_month", "应不晚于结束月份")])
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
        if len(months) > MAX_MONTHS:
            raise Invalid(f"一次最多统计 {MAX_MONTHS} 个月，请缩小月份范围",
                          errors=[FieldError("from_month", f"最多 {MAX_MONTHS} 个月")])
    return months


def by_local_hour(instants: Iterable[datetime]) -> list[int]:
    """24 counts: how many instants fall in each hour of the city's wall clock."""
    hours = [0] * 24
    for instant in instants:
        hours[instant.astimezone(CITY_TZ).hour] += 1
    return hours


def acceptance_bands(pairs: Iterable[tuple[datetime, datetime]]) -> tuple[list[dict], float | None]:
    """(placed, accepted) pairs → the count in each band of `ACCEPTANCE_BANDS`, and the median
    minutes (None without any). An acceptance recorded before its placing counts as 0 minutes."""
    minutes = sorted(max(0.0, (accepted - placed).total_seconds() / 60) for placed, accepted in pairs)
    counts = [0] * len(ACCEPTANCE_BANDS)
    for m in minutes:
        counts[next(k for k, (upper, _) in enumerate(ACCEPTANCE_BANDS) if m < upper)] += 1
    bands = [{"band": label, "upper_min": None if upper == float("inf") else upper, "orders": n}
             for (upper, label), n in zip(ACCEPTANCE_BANDS, counts, strict=True)]
    if not minutes:
        return bands, None
    mid = len(minutes) // 2
    median = minutes[mid] if len(minutes) % 2 else (minutes[mid - 1] + minutes[mid]) / 2
    return bands, round(median, 1)


def rounded_points(points: Iterable[tuple[float | None, float | None]], places: int = 3) -> list[dict]:
    """Positions rounded to `places` decimals (0.001° ≈ 100 m) with how many fall on each: an
    elder's own address never leaves the service, only a neighbourhood count."""
    counts = Counter((round(lat, places), round(lon, places)) for lat, lon in points if lat is not None and lon is not None)
    return [{"lat": lat, "lon": lon, "elders": n} for (lat, lon), n in sorted(counts.items())]
