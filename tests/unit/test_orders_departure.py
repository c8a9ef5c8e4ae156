"""An elder's departure (death, move out of the city): which orders are cancelled and which
recurring rules end, at the Asia/Shanghai day boundaries of the real date."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.orders.rules.departure import (
    CANCELLABLE_STATES,
    OrderFacts,
    RuleFacts,
    departure_of,
    orders_to_cancel,
    rules_to_end,
)
from shared.city import CITY_TZ

UTC = timezone.utc
DIED = date(2026, 3, 5)  # a Thursday
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 on the Monday after, in Shanghai


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CITY_TZ)


def test_departure_of_reads_the_status_and_its_real_date():
    death = departure_of("deceased", "2026-03-05", now=NOW)
    assert death.reason == "老人已故" and death.status_date == DIED
    assert death.cutoff == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)  # midnight in Shanghai, not UTC
    assert death.order_reason == "老人已故（2026-03-05），订单自动取消"
    move = departure_of("moved_away", DIED, now=NOW)
    assert move.reason == "老人已迁出" and move.cutoff == local(2026, 3, 5)
    # an older event without the date: the day it arrives stands in for it
    assert departure_of("deceased", None, now=NOW).cutoff == local(2026, 3, 9)
    assert departure_of("deceased", None, now=datetime(2026, 3, 8, 17, 0, tzinfo=UTC)).status_date == date(2026, 3, 9)
    for still_here in ("active", None, "", "unknown"):
        assert departure_of(still_here, DIED, now=NOW) is None


def test_the_states_the_platform_cancels_are_those_before_service():
    assert CANCELLABLE_STATES == {"placed", "offered", "unmatched", "accepted"}


@pytest.mark.parametrize(("state", "window_start", "cancelled"), [
    # the window boundary: midnight of the real date in Shanghai
    ("placed", local(2026, 3, 5, 0, 0), True),
    ("placed", local(2026, 3, 4, 23, 59), False),
    ("accepted", local(2026, 3, 4, 11, 0), False),  # the day before: the elder was there
    ("accepted", local(2026, 3, 5, 11, 0), True),  # after the date but before now, never started
    ("offered", local(2026, 3, 6, 9, 0), True),
    ("unmatched", local(2026, 3, 7, 9, 0), True),
    ("placed", local(2026, 3, 10, 11, 0), True),  # still ahead of now
    ("accepted", local(2026, 4, 1, 11, 0), True),
    # a service that started or happened is settled as usual (vouchers' audit recovers the money)
    ("in_service", local(2026, 3, 9, 9, 30), False),
    ("disputed", local(2026, 3, 6, 9, 0), False),
    ("completed", local(2026, 3, 6, 9, 0), False),
    ("settled", local(2026, 3, 6, 9, 0), False),
    ("cancelled", local(2026, 3, 10, 9, 0), False),  # already cancelled: nothing twice
])
def test_orders_from_the_real_date_on_and_not_yet_in_service_are_cancelled(state, window_start, cancelled):
    order = OrderFacts(uuid.uuid4(), state, window_start.astimezone(UTC))
    departure = departure_of("deceased", DIED, now=NOW)
    assert orders_to_cancel(departure, [order]) == ([order.id] if cancelled else [])


def test_orders_are_cancelled_in_window_order():
    departure = departure_of("moved_away", DIED, now=NOW)
    later = OrderFacts(uuid.uuid4(), "placed", local(2026, 3, 12, 9))
    sooner = OrderFacts(uuid.uuid4(), "accepted", local(2026, 3, 10, 9))
    before = OrderFacts(uuid.uuid4(), "placed", local(2026, 3, 1, 9))
    assert orders_to_cancel(departure, [later, before, sooner]) == [sooner.id, later.id]


def test_a_date_today_cancels_the_rest_of_today_too():
    today = departure_of("deceased", date(2026, 3, 9), now=NOW)
    earlier_today = OrderFacts(uuid.uuid4(), "accepted", local(2026, 3, 9, 8, 0))  # before now, not started
    yesterday = OrderFacts(uuid.uuid4(), "accepted", local(2026, 3, 8, 18, 0))
    assert orders_to_cancel(today, [earlier_today, yesterday]) == [earlier_today.id]


START = date(2026, 3, 2)


@pytest.mark.parametrize(("status", "start_date", "end_date", "expected"), [
    ("active", START, None, ("ended", date(2026, 3, 4))),  # last day: the day before the death
    ("paused", START, None, ("ended", date(2026, 3, 4))),  # a paused rule ends too
    ("active", START, date(2026, 4, 26), ("ended", date(2026, 3, 4))),
    ("active", START, date(2026, 3, 3), ("ended", date(2026, 3, 3))),  # never extends an earlier end
    ("active", date(2026, 3, 5), None, ("ended", None)),  # begins on the date: it never ran, dates kept
    ("active", date(2026, 3, 16), date(2026, 5, 8), ("ended", date(2026, 5, 8))),
    ("active", date(2026, 3, 4), None, ("ended", date(2026, 3, 4))),  # one day ran
    ("ended", START, date(2026, 3, 20), None),  # a person ended it: left as it is
])
def test_open_rules_end_with_the_reason(status, start_date, end_date, expected):
    rule = RuleFacts(uuid.uuid4(), status, start_date, end_date)
    endings = rules_to_end(departure_of("deceased", DIED, now=NOW), [rule])
    if expected is None:
        assert endings == []
    else:
        [ending] = endings
        assert (ending.id, ending.end_date, ending.reason) == (rule.id, expected[1], "老人已故")


def test_a_move_ends_rules_with_its_own_reason():
    rule = RuleFacts(uuid.uuid4(), "active", START, None)
    [ending] = rules_to_end(departure_of("moved_away", DIED, now=NOW), [rule])
    assert ending.reason == "老人已迁出" and ending.end_date == DIED - timedelta(days=1)
