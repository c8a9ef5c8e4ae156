"""The audit rule 家庭养老床位本月无上门服务 at the edges of a month (Shanghai days)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.vouchers.rules.audit import HOME_BED_NO_VISIT
from services.vouchers.rules.home_beds import HomeBed, Visit, beds_without_visit, open_days
from shared.city import CITY_TZ

MONTH = "2026-03"  # 31 days


def bed(opened: date, closed: date | None = None, provider: str = "p1") -> HomeBed:
    return HomeBed(bed_id="b1", elder_id="e1", provider_id=provider, opened_on=opened, closed_on=closed,
                   visits_per_week=2)


def visit(at: datetime, provider: str = "p1", elder: str = "e1") -> Visit:
    return Visit(elder_id=elder, provider_id=provider, completed_at=at)


def flagged(b: HomeBed, visits=(), month: str = MONTH) -> bool:
    return bool(beds_without_visit([b], list(visits), month))


@pytest.mark.parametrize(
    ("opened", "closed", "span"),
    [
        (date(2026, 2, 1), None, (date(2026, 3, 1), date(2026, 3, 31))),
        (date(2026, 3, 31), None, (date(2026, 3, 31), date(2026, 3, 31))),  # opened on the 31st: one day
        (date(2026, 4, 1), None, None),  # opens next month
        (date(2026, 1, 5), date(2026, 3, 1), None),  # closed on the 1st: not open in March
        (date(2026, 1, 5), date(2026, 3, 2), (date(2026, 3, 1), date(2026, 3, 1))),
        (date(2026, 3, 10), date(2026, 3, 10), None),  # opened and closed the same day
        (date(2026, 1, 5), date(2026, 2, 20), None),
    ],
)
def test_the_days_a_bed_is_open_in_a_month(opened, closed, span):
    assert open_days(bed(opened, closed), MONTH) == span


def test_an_open_bed_without_a_visit_is_a_finding():
    [(found_bed, finding)] = beds_without_visit([bed(date(2026, 2, 1))], [], MONTH)
    assert finding.rule == HOME_BED_NO_VISIT and finding.title == "家庭养老床位本月无上门服务"
    assert finding.key == "home_bed_no_visit:b1|2026-03" and found_bed.bed_id == "b1"
    assert "2026-03-01 至 2026-03-31" in finding.explanation and "每周上门 2 次" in finding.explanation


def test_opened_on_the_31st():
    assert flagged(bed(date(2026, 3, 31)))  # open one day, owes the month a visit
    assert not flagged(bed(date(2026, 3, 31)), [visit(datetime(2026, 3, 31, 10, 0, tzinfo=CITY_TZ))])
    # a visit of the same provider before the bed opened is an ordinary order, not a visit to the bed
    assert flagged(bed(date(2026, 3, 31)), [visit(datetime(2026, 3, 30, 10, 0, tzinfo=CITY_TZ))])


def test_closed_on_the_1st_owes_nothing_that_month():
    assert not flagged(bed(date(2026, 1, 5), date(2026, 3, 1)))
    assert flagged(bed(date(2026, 1, 5), date(2026, 3, 1)), month="2026-02")


def test_a_last_visit_on_the_closing_day_counts():
    closing = bed(date(2026, 1, 5), date(2026, 3, 15))
    assert flagged(closing)
    assert not flagged(closing, [visit(datetime(2026, 3, 15, 9, 0, tzinfo=CITY_TZ))])
    assert flagged(closing, [visit(datetime(2026, 3, 16, 9, 0, tzinfo=CITY_TZ))])


@pytest.mark.parametrize(
    ("at", "counts"),
    [
        (datetime(2026, 3, 31, 23, 59, tzinfo=CITY_TZ), True),  # 23:59 on the last day, Shanghai
        (datetime(2026, 3, 31, 15, 59, tzinfo=UTC), True),  # the same instant in UTC
        (datetime(2026, 3, 31, 16, 0, tzinfo=UTC), False),  # 00:00 on 1 April in Shanghai
        (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), True),  # 00:00 on 1 March in Shanghai
        (datetime(2026, 2, 28, 15, 59, tzinfo=UTC), False),  # still February in Shanghai
    ],
)
def test_a_visit_belongs_to_its_shanghai_day(at, counts):
    assert flagged(bed(date(2026, 1, 5)), [visit(at)]) is not counts


def test_only_the_beds_provider_and_elder_count():
    b = bed(date(2026, 1, 5))
    march = datetime(2026, 3, 10, 10, 0, tzinfo=CITY_TZ)
    assert flagged(b, [visit(march, provider="p2")])
    assert flagged(b, [visit(march, elder="e2")])
    assert not flagged(b, [visit(march)])


def test_leap_february():
    b = bed(date(2028, 2, 29))
    assert open_days(b, "2028-02") == (date(2028, 2, 29), date(2028, 2, 29))
    assert not flagged(b, [visit(datetime(2028, 2, 29, 23, 59, tzinfo=CITY_TZ))], month="2028-02")
