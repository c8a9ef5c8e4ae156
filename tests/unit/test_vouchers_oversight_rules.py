"""The pure rules of return visits and complaints (services/vouchers/rules/return_visits.py,
rules/complaints.py): sample sizes at the rate's edges, the seeded draw, working-day deadlines
around weekends, month ends, the Spring Festival and a leap day, and the ticket's moves."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.vouchers.oversight_policy import oversight_policy
from services.vouchers.rules.complaints import (
    ComplaintStatus,
    add_working_days,
    check_move,
    complaint_deadline,
    is_overdue,
)
from services.vouchers.rules.return_visits import (
    CompletedOrder,
    ProviderVisits,
    check_oversight_month,
    coverage_figures,
    draw_sample,
    sample_size,
    summarise,
)
from shared.city import CITY_TZ
from shared.errors import Conflict, Invalid

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("completed", "rate_bp", "minimum", "size"), [
    (0, 500, 3, 0), (1, 500, 3, 1), (2, 500, 3, 2), (3, 500, 3, 3),   # fewer than the minimum: all
    (4, 500, 3, 3), (60, 500, 3, 3),                                  # 5 % of 60 = 3
    (61, 500, 3, 4),                                                  # 3.05 rounds up
    (100, 500, 3, 5), (1000, 500, 3, 50), (10, 10_000, 3, 10), (10, 0, 3, 3), (10, 0, 0, 0), (7, 2000, 1, 2),
])
def test_sample_size(completed, rate_bp, minimum, size):
    assert sample_size(completed, rate_bp=rate_bp, minimum=minimum) == size


@pytest.mark.parametrize(("rate_bp", "minimum"), [(-1, 3), (500, -1), (10_001, 3)])
def test_sample_size_refuses_bad_policy(rate_bp, minimum):
    with pytest.raises(Invalid):
        sample_size(10, rate_bp=rate_bp, minimum=minimum)


def orders(provider: str, count: int) -> list[CompletedOrder]:
    return [CompletedOrder(order_id=f"{provider}-{i:03d}", provider_id=provider, completed_at=T0 + timedelta(hours=i))
            for i in range(count)]


def test_the_draw_reproduces_from_its_seed_whatever_the_input_order():
    population = orders("a", 60) + orders("b", 61) + orders("c", 2) + orders("d", 0)
    first = draw_sample(population, seed=42, rate_bp=500, minimum=3)
    again = draw_sample(list(reversed(population)), seed=42, rate_bp=500, minimum=3)
    assert first == again
    by_provider = {p: [o for o in first if o.provider_id == p] for p in "abc"}
    assert [len(by_provider[p]) for p in "abc"] == [3, 4, 2]
    assert all(o in population for o in first) and len({o.order_id for o in first}) == len(first)
    assert by_provider["c"] == orders("c", 2)  # fewer than the minimum: every order


def test_a_different_seed_draws_differently_and_providers_do_not_disturb_each_other():
    population = orders("a", 60) + orders("b", 61)
    samples = {tuple(o.order_id for o in draw_sample(population, seed=s, rate_bp=500, minimum=3)) for s in range(8)}
    assert len(samples) > 1
    alone = [o for o in draw_sample(orders("a", 60), seed=7, rate_bp=500, minimum=3)]
    together = [o for o in draw_sample(population + orders("z", 5), seed=7, rate_bp=500, minimum=3) if o.provider_id == "a"]
    assert alone == together


def test_the_shipped_policy_is_the_issue_default():
    policy = oversight_policy(date(2026, 12, 5))
    assert (policy.sample_rate_bp, policy.sample_minimum, policy.complaint_working_days) == (500, 3, 3)
    assert date(2026, 2, 17) in policy.holidays and date(2026, 2, 28) in policy.make_up_workdays


SPRING = frozenset(date(2026, 2, d) for d in range(15, 24))   # 春节 2026: 15–23 February
MAKE_UP = frozenset({date(2026, 2, 14), date(2026, 2, 28)})   # Saturdays worked instead


@pytest.mark.parametrize(("filed", "days", "last_day"), [
    (date(2026, 11, 2), 3, date(2026, 11, 5)),    # Monday → Thursday
    (date(2026, 11, 6), 3, date(2026, 11, 11)),   # Friday → over the weekend → Wednesday
    (date(2026, 11, 7), 3, date(2026, 11, 11)),   # filed on a Saturday: Mon, Tue, Wed
    (date(2026, 12, 31), 3, date(2027, 1, 5)),    # the 31st, into the new year (no 2027 holidays listed)
    (date(2026, 3, 31), 1, date(2026, 4, 1)),     # a month end
    (date(2026, 2, 12), 3, date(2026, 2, 24)),    # Thu: Fri 13, Sat 14 (worked), then the festival → Tue 24
    (date(2026, 2, 20), 3, date(2026, 2, 26)),    # during the festival: Tue 24, Wed 25, Thu 26
    (date(2026, 2, 26), 2, date(2026, 2, 28)),    # Thu: Fri 27, Sat 28 (worked)
    (date(2028, 2, 28), 3, date(2028, 3, 2)),     # leap year: Tue 29 Feb counts
    (date(2028, 2, 29), 0, date(2028, 2, 29)),
])
def test_working_days(filed, days, last_day):
    assert add_working_days(filed, days, holidays=SPRING, make_up_workdays=MAKE_UP) == last_day


def test_the_deadline_is_the_end_of_the_last_working_day_in_the_city():
    filed = datetime(2026, 11, 6, 23, 30, tzinfo=CITY_TZ)  # Friday, late evening
    due = complaint_deadline(filed, 3, holidays=(), make_up_workdays=())
    assert due == datetime(2026, 11, 12, 0, 0, tzinfo=CITY_TZ)  # Wednesday 24:00
    # 16:30 UTC on Friday is already Saturday in Shanghai
    assert complaint_deadline(datetime(2026, 11, 6, 16, 30, tzinfo=timezone.utc), 3, holidays=(),
                              make_up_workdays=()) == due
    assert is_overdue(ComplaintStatus.OPEN, due, due) and not is_overdue(ComplaintStatus.OPEN, due, due - timedelta(seconds=1))
    assert not is_overdue(ComplaintStatus.RESOLVED, due, due + timedelta(days=9))


@pytest.mark.parametrize(("current", "to", "answer", "error"), [
    ("open", "in_progress", None, None),
    ("open", "resolved", "已处理", None),
    ("in_progress", "rejected", "不属于受理范围", None),
    ("in_progress", "resolved", "  ", Invalid),
    ("in_progress", "in_progress", None, Conflict),
    ("resolved", "in_progress", None, Conflict),
    ("rejected", "resolved", "改判", Conflict),
])
def test_ticket_moves(current, to, answer, error):
    if error is None:
        check_move(ComplaintStatus(current), ComplaintStatus(to), answer=answer)
    else:
        with pytest.raises(error):
            check_move(ComplaintStatus(current), ComplaintStatus(to), answer=answer)


def test_months_before_the_platform_are_typos():
    check_oversight_month(2026)
    with pytest.raises(Invalid):
        check_oversight_month(1)


def test_coverage_and_summaries():
    figures = coverage_figures(ProviderVisits(completed=40, sampled=3, called=3, reached=2, not_delivered=1, dissatisfied=0))
    assert (figures["coverage"], figures["failure_rate"]) == (0.05, 0.5)
    assert coverage_figures(ProviderVisits(0, 0, 0, 0, 0, 0))["coverage"] is None
    assert summarise([]) == (None, None)
    assert summarise([3.0, 1.0, 2.0]) == (2.0, 2.0)
    assert summarise([1.0, 2.0, 3.0, 10.0]) == (2.5, 4.0)
