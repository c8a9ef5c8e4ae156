"""Recovery (追缴) after a death or move: which captures count, the amount per provider, how
stored findings follow a recomputation, and from which month no voucher is owed (issue 20)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.vouchers.rules.recovery import (
    Capture,
    Recovery,
    Stored,
    after_departure,
    explain,
    first_month_without_vouchers,
    plan_findings,
    recoveries,
    recovery_key,
    voucher_owed_in,
)
from shared.city import CITY_TZ


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CITY_TZ)


@pytest.mark.parametrize(("completed_at", "duration_min", "departed_on", "counts"), [
    ("2026-04-13 10:00", 45, date(2026, 4, 13), True),  # the day itself counts
    ("2026-04-12 23:59", 30, date(2026, 4, 13), False),  # the day before
    ("2026-04-13 00:20", 30, date(2026, 4, 13), False),  # started 23:50 the day before
    ("2026-04-13 00:20", None, date(2026, 4, 13), True),  # no check-out duration: its completion
    ("2026-04-14 08:00", 60, date(2026, 4, 13), True),
    ("2026-03-01 00:10", 5, date(2026, 2, 28), True),  # across a month end
    ("2024-02-29 09:00", 60, date(2024, 2, 29), True),  # leap day
    ("2026-12-31 23:30", 60, date(2027, 1, 1), False),  # across a year end
])
def test_which_captures_count_after_departure(completed_at, duration_min, departed_on, counts):
    capture = Capture("r", "p", 4500, _at(completed_at), duration_min)
    assert after_departure(capture, departed_on) is counts


def test_a_utc_instant_is_read_as_the_shanghai_day():
    # 16:30 UTC on the 12th is 00:30 on the 13th in Shanghai
    assert after_departure(Capture("r", "p", 1, datetime(2026, 4, 12, 16, 30, tzinfo=UTC), 10), date(2026, 4, 13))
    assert not after_departure(Capture("r", "p", 1, datetime(2026, 4, 12, 15, 30, tzinfo=UTC), 10), date(2026, 4, 13))


@pytest.mark.parametrize(("departed_on", "first_without"), [
    (date(2026, 3, 31), "2026-04"),  # a death on the 31st: nothing from the next month
    (date(2026, 4, 1), "2026-05"),  # on the 1st: that month's voucher is owed if already issued
    (date(2024, 2, 29), "2024-03"),  # leap day
    (date(2026, 12, 31), "2027-01"),  # December → January
    (date(2027, 1, 1), "2027-02"),
])
def test_vouchers_stop_the_month_after_the_date(departed_on, first_without):
    assert first_month_without_vouchers(departed_on) == first_without
    assert not voucher_owed_in(first_without, departed_on)
    assert voucher_owed_in(f"{departed_on.year:04d}-{departed_on.month:02d}", departed_on)


@pytest.mark.parametrize(("month", "departed_on", "owed"), [
    ("2026-04", None, True),  # still active
    ("2026-03", date(2026, 3, 31), True),
    ("2026-04", date(2026, 3, 31), False),
    ("2026-04", date(2026, 4, 1), True),
    ("2027-01", date(2026, 12, 31), False),
    ("2026-12", date(2026, 12, 31), True),
    ("2024-03", date(2024, 2, 29), False),
])
def test_voucher_owed_in_a_month(month, departed_on, owed):
    assert voucher_owed_in(month, departed_on) is owed


def _c(rid: str, provider: str, fen: int, at: str, reversed_fen: int = 0) -> Capture:
    return Capture(rid, provider, fen, _at(at), 45, reversed_fen)


@pytest.mark.parametrize(("captures", "departed_on", "expected"), [
    ([], date(2026, 4, 13), []),
    ([_c("a", "p1", 4500, "2026-04-14 10:00")], None, []),  # no date: nothing to recover
    ([_c("a", "p1", 4500, "2026-04-12 10:00"), _c("b", "p1", 4500, "2026-04-13 10:00"),
      _c("c", "p1", 3000, "2026-04-15 10:00"), _c("d", "p2", 4500, "2026-04-16 10:00")], date(2026, 4, 13),
     [Recovery("p1", ("b", "c"), 7500), Recovery("p2", ("d",), 4500)]),
    ([_c("a", "p1", 4500, "2026-04-14 10:00", reversed_fen=4500), _c("b", "p1", 4500, "2026-04-15 10:00")],
     date(2026, 4, 13), [Recovery("p1", ("b",), 4500)]),  # net of reversals
    ([_c("a", "p1", 4500, "2026-04-14 10:00", reversed_fen=4500)], date(2026, 4, 13), []),
    ([_c("late", "p1", 100, "2026-04-20 10:00"), _c("early", "p1", 200, "2026-04-14 10:00")], date(2026, 4, 13),
     [Recovery("p1", ("early", "late"), 300)]),  # in the order of the services
])
def test_amount_to_recover_per_provider(captures, departed_on, expected):
    assert recoveries(captures, departed_on) == expected


def test_key_is_per_elder_and_provider_and_the_explanation_names_the_date():
    assert recovery_key("e", "p") == "service_after_departure:e|p"
    text = explain(Recovery("p", ("a", "b"), 9000), departed_on=date(2026, 4, 13), status="deceased")
    assert text == "老人已于 2026-04-13 去世，此后该服务商仍核销 2 笔，共 90.00 元，应予追缴；自 2026-05 起不再发放代金券"
    assert "迁出本市" in explain(Recovery("p", ("a",), 1), departed_on=date(2026, 4, 13), status="moved_away")


R1 = Recovery("p1", ("a", "b"), 9000)
TEXT = {"k1": "t1", "k2": "t2"}


def _s(status: str, ids=("a", "b"), fen=9000, text="t1", month="2026-04") -> Stored:
    return Stored(status, ids, fen, text, month)


@pytest.mark.parametrize(("stored", "wanted", "insert", "update", "delete"), [
    ({}, {"k1": R1}, ["k1"], [], []),  # first time: created
    ({"k1": _s("open")}, {"k1": R1}, [], [], []),  # a redelivery: nothing
    ({"k1": _s("open", ids=("a",), fen=4500)}, {"k1": R1}, [], [("k1", "open")], []),  # a new capture
    ({"k1": _s("open", text="old")}, {"k1": R1}, [], [("k1", "open")], []),  # a new date, same captures
    ({"k1": _s("open")}, {}, [], [], ["k1"]),  # a later date or back to active: nothing left
    ({"k1": _s("dismissed")}, {"k1": Recovery("p1", ("a", "b", "c"), 13500)}, [], [], []),  # a dismissal sticks
    ({"k1": _s("dismissed")}, {}, [], [], []),
    ({"k1": _s("actioned")}, {}, [], [], []),  # reversed: kept as acted on
    ({"k1": _s("actioned")}, {"k1": R1}, [], [], []),  # frozen, not reversed: the same captures
    ({"k1": _s("actioned", text="old")}, {"k1": R1}, [], [], []),
    ({"k1": _s("actioned", ids=("a",))}, {"k1": Recovery("p1", ("b",), 4500)}, [], [("k1", "open")], []),  # new ones
    ({"k1": _s("open"), "k2": _s("open")}, {"k1": R1}, [], [], ["k2"]),
])
def test_stored_findings_follow_a_recomputation(stored, wanted, insert, update, delete):
    plan = plan_findings(stored, wanted, explanation=TEXT, month="2026-04")
    assert [key for key, _ in plan.insert] == insert
    assert [(c.key, c.status) for c in plan.update] == update
    assert plan.delete == delete
