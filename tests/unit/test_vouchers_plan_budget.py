"""A care plan's month priced with the voucher rules (issue 21): the share per occurrence rounds
down to the fen, the month's cap is shared by a kind's lines, self-paid lines are the elder's,
and the sentence the elder reads."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest

from services.vouchers.rules.money import format_yuan_short
from services.vouchers.rules.plan_budget import (
    Allowance,
    BudgetLine,
    CapSource,
    budget_sentence,
    price_plan_month,
)
from services.vouchers.rules.policy import VoucherKind
from shared.errors import Invalid

COMMUNITY, MUTUAL_AID = VoucherKind.COMMUNITY, VoucherKind.MUTUAL_AID
DIBAO_GRADE_4 = {COMMUNITY: Allowance(9_000, 60_000)}  # 90%, 600 yuan a month (the default policy)


def line(price: int, times: int, kind: str = "community", code: str = "meal") -> BudgetLine:
    return BudgetLine(service_code=code, voucher_kind=kind, unit_price_fen=price, occurrences=times)


def times_in_month(month: str, weekdays: set[int], start: date | None = None) -> int:
    """What the assessment service counts for a weekly frequency (ISO weekdays) from a start date."""
    year, number = map(int, month.split("-"))
    first = date(year, number, 1)
    days = (first + timedelta(days=n) for n in range(calendar.monthrange(year, number)[1]))
    return sum(1 for d in days if d.isoweekday() in weekdays and (start is None or d >= start))


def test_the_contract_example():
    budget = price_plan_month("2026-11", [line(3_000, 20)], DIBAO_GRADE_4)
    assert (budget.occurrences, budget.total_fen, budget.voucher_fen, budget.self_fen) == (20, 60_000, 54_000, 6_000)
    assert not budget.over_budget and budget.over_budget_fen == 0
    assert budget.summary_zh == "每月计划 20 次，约 600 元：代金券 540 元，自付 60 元"


@pytest.mark.parametrize(
    ("price", "times", "share_bp", "voucher", "elder"),
    [
        (1, 10, 9_000, 0, 10),  # 0.9 fen a time rounds down every time: 0, not 9
        (9_999, 3, 7_000, 3 * 6_999, 3 * 3_000),  # 6999.3 → 6999 per occurrence
        (1_555, 4, 9_000, 4 * 1_399, 4 * 156),  # 1399.5 → 1399
        (3_000, 1, 10_000, 3_000, 0),  # tekun: the voucher pays all
        (0, 5, 9_000, 0, 0),  # a free item
    ],
)
def test_share_rounds_down_per_occurrence(price, times, share_bp, voucher, elder):
    budget = price_plan_month("2026-11", [line(price, times)], {COMMUNITY: Allowance(share_bp, 10_000_000)})
    assert (budget.voucher_fen, budget.self_fen) == (voucher, elder)
    assert not budget.over_budget


@pytest.mark.parametrize(
    ("cap", "voucher", "over", "cut"),
    [
        (54_000, 54_000, False, 0),  # exactly enough
        (53_999, 53_999, True, 1),  # one fen short: over budget by that fen
        (30_000, 30_000, True, 24_000),  # dibao edge grade 4: half the face value
        (0, 0, True, 54_000),  # a used-up wallet
    ],
)
def test_the_cap(cap, voucher, over, cut):
    budget = price_plan_month("2026-11", [line(3_000, 20)], {COMMUNITY: Allowance(9_000, cap, CapSource.WALLET)})
    assert (budget.voucher_fen, budget.self_fen) == (voucher, 60_000 - voucher)
    assert (budget.over_budget, budget.over_budget_fen) == (over, cut)
    assert budget.kinds[0].cut_fen == cut


def test_lines_of_one_kind_share_its_cap_in_line_order():
    budget = price_plan_month("2026-11", [line(3_000, 10, code="meal"), line(10_000, 4, code="bath")],
                              {COMMUNITY: Allowance(9_000, 40_000)})
    assert [(p.share_fen, p.voucher_fen) for p in budget.lines] == [(27_000, 27_000), (36_000, 13_000)]
    assert (budget.voucher_fen, budget.self_fen, budget.over_budget) == (40_000, 70_000 - 40_000, True)


def test_mixed_kinds_each_against_its_own_cap():
    allowances = {COMMUNITY: Allowance(9_000, 60_000), MUTUAL_AID: Allowance(9_000, 10_000)}
    budget = price_plan_month("2026-11", [line(3_000, 20), line(2_000, 8, "mutual_aid", "companionship")],
                              allowances)
    # community: 54000 of 60000; mutual aid: 8 × 1800 = 14400 cut to 10000
    assert [(k.kind, k.share_fen, k.voucher_fen) for k in budget.kinds] == [
        (COMMUNITY, 54_000, 54_000), (MUTUAL_AID, 14_400, 10_000)]
    assert (budget.total_fen, budget.voucher_fen, budget.self_fen) == (76_000, 64_000, 12_000)
    assert budget.over_budget and budget.over_budget_fen == 4_400
    # one kind's room never pays for another's lines
    assert price_plan_month("2026-11", [line(2_000, 8, "mutual_aid")],
                            {COMMUNITY: Allowance(9_000, 60_000), MUTUAL_AID: Allowance(9_000, 10_000)}).voucher_fen == 10_000


def test_self_paid_lines_are_the_elders_and_never_over_budget():
    budget = price_plan_month("2026-11", [line(3_000, 20), line(5_000, 4, "self_pay", "bath")], DIBAO_GRADE_4)
    assert (budget.total_fen, budget.voucher_fen, budget.self_fen) == (80_000, 54_000, 26_000)
    assert not budget.over_budget
    assert budget.lines[1].voucher_fen == 0 and [k.kind for k in budget.kinds] == [COMMUNITY]
    only_self = price_plan_month("2026-11", [line(5_000, 4, "self_pay")], {})
    assert (only_self.voucher_fen, only_self.self_fen, only_self.over_budget) == (0, 20_000, False)
    assert only_self.summary_zh == "每月计划 4 次，约 200 元：代金券 0 元，自付 200 元"


def test_a_kind_the_elder_has_no_voucher_of_is_over_budget():
    budget = price_plan_month("2026-11", [line(2_000, 4, "mutual_aid")], DIBAO_GRADE_4)
    assert (budget.voucher_fen, budget.self_fen) == (0, 8_000)
    assert budget.over_budget and budget.over_budget_fen == 8_000
    assert budget.kinds[0].allowance.source is CapSource.NONE


def test_a_plan_starting_mid_month_has_fewer_occurrences_under_the_same_cap():
    # meals Monday to Saturday at 3500 fen, 90%, cap 600 yuan; November 2026 starts on a Sunday
    weekdays = {1, 2, 3, 4, 5, 6}
    whole, from_16th = times_in_month("2026-11", weekdays), times_in_month("2026-11", weekdays, date(2026, 11, 16))
    assert (whole, from_16th) == (25, 13)
    full = price_plan_month("2026-11", [line(3_500, whole)], DIBAO_GRADE_4)
    half = price_plan_month("2026-11", [line(3_500, from_16th)], DIBAO_GRADE_4)
    assert (full.voucher_fen, full.over_budget) == (60_000, True)  # 25 × 3150 = 78750, capped
    assert (half.voucher_fen, half.self_fen, half.over_budget) == (13 * 3_150, 13 * 350, False)
    assert half.summary_zh == "每月计划 13 次，约 455 元：代金券 409.50 元，自付 45.50 元"


@pytest.mark.parametrize(
    ("month", "days", "voucher", "over"),
    [
        ("2026-04", 30, 54_000, False),  # 30 × 1800 = 54000: fits
        ("2026-03", 31, 55_800, False),  # the 31st day still fits under 600 yuan
        ("2026-02", 28, 50_400, False),
        ("2028-02", 29, 52_200, False),  # leap February
    ],
)
def test_daily_meals_by_the_length_of_the_month(month, days, voucher, over):
    times = times_in_month(month, {1, 2, 3, 4, 5, 6, 7})
    assert times == days
    budget = price_plan_month(month, [line(2_000, times)], DIBAO_GRADE_4)
    assert (budget.total_fen, budget.voucher_fen, budget.over_budget) == (2_000 * days, voucher, over)


def test_the_31st_day_is_what_breaks_a_tight_cap():
    tight = {COMMUNITY: Allowance(9_000, 54_000)}
    assert not price_plan_month("2026-04", [line(2_000, 30)], tight).over_budget
    march = price_plan_month("2026-03", [line(2_000, 31)], tight)
    assert (march.voucher_fen, march.self_fen, march.over_budget_fen) == (54_000, 8_000, 1_800)
    leap = price_plan_month("2028-02", [line(2_000, 29)], {COMMUNITY: Allowance(9_000, 50_400)})
    assert (leap.voucher_fen, leap.over_budget_fen) == (50_400, 1_800)


@pytest.mark.parametrize(
    ("fen", "text"), [(60_000, "600"), (60_050, "600.50"), (60_005, "600.05"), (5, "0.05"), (0, "0"), (100, "1")])
def test_yuan_in_sentences(fen, text):
    assert format_yuan_short(fen) == text


def test_the_sentence():
    assert budget_sentence(8, 40_950, 36_855, 4_095) == "每月计划 8 次，约 409.50 元：代金券 368.55 元，自付 40.95 元"


def test_bad_lines_are_refused():
    with pytest.raises(Invalid):
        price_plan_month("2026-11", [line(3_000, 2, "cash")], {})
    with pytest.raises(Invalid):
        price_plan_month("2026-11", [line(3_000, -1)], {})
