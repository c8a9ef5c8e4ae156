"""Voucher months in Asia/Shanghai: edges at 16:00 UTC, working-day deadlines."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.vouchers.rules.calendar import (
    first_issue_deadline,
    is_future_month,
    month_end_utc,
    month_of,
    month_start_utc,
    months_between,
    next_month,
    parse_month,
    previous_month,
    validity_window,
)
from shared.errors import Invalid


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "month"),
    [
        (utc(2026, 10, 31, 15, 59, 59), "2026-10"),  # 23:59:59 in Shanghai
        (utc(2026, 10, 31, 16, 0, 0), "2026-11"),  # 00:00 on 1 Nov in Shanghai
        (utc(2026, 11, 30, 15, 59, 59, 999_999), "2026-11"),
        (utc(2026, 11, 30, 16, 0, 0), "2026-12"),
        (utc(2026, 12, 31, 16, 0, 0), "2027-01"),  # year boundary
        (datetime(2026, 11, 1, 0, 0, tzinfo=timezone(timedelta(hours=8))), "2026-11"),
    ],
)
def test_month_of(instant, month):
    assert month_of(instant) == month


def test_month_of_refuses_naive_time():
    with pytest.raises(ValueError):
        month_of(datetime(2026, 11, 1))


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2026-11", utc(2026, 10, 31, 16), utc(2026, 11, 30, 16)),
        ("2026-12", utc(2026, 11, 30, 16), utc(2026, 12, 31, 16)),
        ("2028-02", utc(2028, 1, 31, 16), utc(2028, 2, 29, 16)),  # leap year
    ],
)
def test_month_bounds(month, start, end):
    assert (month_start_utc(month), month_end_utc(month)) == (start, end)
    assert month_of(start) == month and month_of(end - timedelta(microseconds=1)) == month


def test_validity_window_is_the_month_half_open():
    window = validity_window("2026-11")
    assert window.contains(utc(2026, 10, 31, 16))
    assert not window.contains(utc(2026, 10, 31, 15, 59, 59))
    assert window.contains(utc(2026, 11, 30, 15, 59, 59))
    assert not window.contains(utc(2026, 11, 30, 16))


def test_validity_window_of_a_mid_month_issue_starts_at_issue():
    issued = utc(2026, 11, 12, 2)
    window = validity_window("2026-11", issued)
    assert window.starts_at == issued and not window.contains(issued - timedelta(seconds=1))
    with pytest.raises(Invalid):
        validity_window("2026-11", utc(2026, 11, 30, 16))


@pytest.mark.parametrize(
    ("approved", "working_days", "deadline"),
    [
        (date(2026, 11, 2), 5, date(2026, 11, 9)),  # Monday → next Monday
        (date(2026, 11, 4), 5, date(2026, 11, 11)),  # Wednesday → next Wednesday
        (date(2026, 11, 6), 5, date(2026, 11, 13)),  # Friday → next Friday
        (date(2026, 11, 7), 5, date(2026, 11, 13)),  # Saturday: Mon–Fri count
        (date(2026, 11, 8), 5, date(2026, 11, 13)),  # Sunday
        (date(2026, 11, 6), 1, date(2026, 11, 9)),  # Friday + 1 → Monday
        (date(2026, 11, 7), 0, date(2026, 11, 7)),
        (date(2026, 12, 29), 5, date(2027, 1, 5)),  # over the new year (holiday not modelled)
    ],
)
def test_first_issue_deadline(approved, working_days, deadline):
    assert first_issue_deadline(approved, working_days) == deadline


def test_first_issue_deadline_refuses_negative_days():
    with pytest.raises(Invalid):
        first_issue_deadline(date(2026, 11, 2), -1)


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        ("2026-11", "2026-11", ["2026-11"]),
        ("2026-11", "2027-02", ["2026-11", "2026-12", "2027-01", "2027-02"]),
        ("2026-11", "2026-10", []),
    ],
)
def test_months_between(first, last, months):
    assert months_between(first, last) == months


@pytest.mark.parametrize(("month", "after", "before"), [("2026-12", "2027-01", "2026-11"), ("2027-01", "2027-02", "2026-12")])
def test_next_and_previous_month(month, after, before):
    assert next_month(month) == after and previous_month(month) == before


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", None])
def test_parse_month_refuses(text):
    with pytest.raises(Invalid):
        parse_month(text)


def test_is_future_month_uses_shanghai_time():
    assert not is_future_month("2026-11", utc(2026, 10, 31, 16))
    assert is_future_month("2026-11", utc(2026, 10, 31, 15, 59))
    assert not is_future_month("2026-10", utc(2026, 10, 31, 15, 59))
