"""How a care plan's "N a week" and "N a month" become days: one rule, so the plan's price
(assessment counts a month's visits) and its schedule (orders spawns them) always agree.

Part of the care-plan contract between the two services, like an event's fields: pure, no I/O.
"""
from __future__ import annotations

# N visits a week → which ISO weekdays (1 = Monday): working days first, the gaps as even as the
# week allows, then Saturday and Sunday
PER_WEEK_WEEKDAYS: dict[int, tuple[int, ...]] = {
    1: (1,),
    2: (1, 4),
    3: (1, 3, 5),
    4: (1, 2, 4, 5),
    5: (1, 2, 3, 4, 5),
    6: (1, 2, 3, 4, 5, 6),
    7: (1, 2, 3, 4, 5, 6, 7),
}
SPREAD_MONTH_DAYS = 28  # every month has these days, so every month holds exactly N


def spread_weekdays(count: int) -> tuple[int, ...]:
    """The ISO weekdays of `count` visits a week (1 to 7)."""
    return PER_WEEK_WEEKDAYS[count]


def spread_month_days(count: int) -> tuple[int, ...]:
    """`count` days of the month, evenly spread: each in the middle of its share of 28 days
    (1 → the 15th; 2 → 8th, 22nd; 4 → 4th, 11th, 18th, 25th). Above 28: the first `count` days."""
    if count > SPREAD_MONTH_DAYS:
        return tuple(range(1, count + 1))
    return tuple(1 + (SPREAD_MONTH_DAYS * (2 * i + 1)) // (2 * count) for i in range(count))
