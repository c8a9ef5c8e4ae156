"""A care plan's month priced with the voucher rules (issue 21): what the plan costs, what the
vouchers pay and what the elder pays.

Each line is one plan item for the month: a service at the chosen provider's unit price, the
number of times it happens in the month (counted by the assessment service from the plan's
frequency and start date, so a plan starting mid-month simply has fewer), and how it is paid
(a voucher kind, or `self_pay`). Each occurrence becomes one order, held on its own, so the
voucher's share is taken per occurrence and rounded down to the fen (`rules/money.py`), exactly
as a quote or a hold would; the lines of one kind then share that kind's month allowance, the
cap. Holds take the wallet first come first served, and a kind's total is the same in any
order (min(sum of shares, cap)), so the cap is spread over the kind's lines in line order.

`over_budget`: the elder would pay more than their normal co-pay, because the cap cuts a kind's
voucher share or because a line counts on a voucher kind the elder has none of that month. A
plan over budget needs the elder's explicit consent to pay the rest (the assessment service
records it). `self_pay` lines are the elder's by choice and never make a plan over budget.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.vouchers.rules.money import format_yuan_short, voucher_share_fen
from services.vouchers.rules.policy import VoucherKind
from shared.errors import invalid_field

SELF_PAY = "self_pay"


class CapSource(StrEnum):
    """Where a kind's cap for the month comes from."""

    WALLET = "wallet"  # this month's voucher is issued: what the wallet can still pay
    VOUCHER = "voucher"  # a past month's issued voucher: its face value
    POLICY = "policy"  # not issued (yet): the face value the policy in force grants the elder
    NONE = "none"  # the elder gets no voucher of the kind that month


@dataclass(frozen=True)
class Allowance:
    """One voucher kind for the elder in the month: the share it pays of each purchase and the
    most it pays in the month."""

    share_bp: int
    cap_fen: int
    source: CapSource = CapSource.POLICY


NO_ALLOWANCE = Allowance(share_bp=0, cap_fen=0, source=CapSource.NONE)


@dataclass(frozen=True)
class BudgetLine:
    service_code: str
    voucher_kind: str  # a VoucherKind value or "self_pay"
    unit_price_fen: int
    occurrences: int


@dataclass(frozen=True)
class PricedLine:
    line: BudgetLine
    total_fen: int
    share_fen: int  # the voucher's share before the cap
    voucher_fen: int

    @property
    def self_fen(self) -> int:
        return self.total_fen - self.voucher_fen


@dataclass(frozen=True)
class KindBudget:
    kind: VoucherKind
    allowance: Allowance
    share_fen: int  # the kind's lines' shares before the cap
    voucher_fen: int

    @property
    def cut_fen(self) -> int:
        """What the cap takes off the voucher's share: the elder pays it on top of the co-pay."""
        return self.share_fen - self.voucher_fen


@dataclass(frozen=True)
class PlanBudget:
    month: str
    lines: tuple[PricedLine, ...]
    kinds: tuple[KindBudget, ...]
    over_budget: bool

    @property
    def occurrences(self) -> int:
        return sum(p.line.occurrences for p in self.lines)

    @property
    def total_fen(self) -> int:
        return sum(p.total_fen for p in self.lines)

    @property
    def voucher_fen(self) -> int:
        return sum(p.voucher_fen for p in self.lines)

    @property
    def self_fen(self) -> int:
        return self.total_fen - self.voucher_fen

    @property
    def over_budget_fen(self) -> int:
        """What the elder pays beyond the normal co-pay: the caps' cuts, and the whole of the
        lines whose kind the elder has no voucher of."""
        return sum(k.cut_fen if k.allowance.source is not CapSource.NONE else
                   sum(p.total_fen for p in self.lines if p.line.voucher_kind == k.kind) for k in self.kinds)

    @property
    def summary_zh(self) -> str:
        return budget_sentence(self.occurrences, self.total_fen, self.voucher_fen, self.self_fen)


def budget_sentence(occurrences: int, total_fen: int, voucher_fen: int, self_fen: int) -> str:
    """"每月计划 20 次，约 600 元：代金券 540 元，自付 60 元" (whole yuan without decimals)."""
    return (f"每月计划 {occurrences} 次，约 {format_yuan_short(total_fen)} 元："
            f"代金券 {format_yuan_short(voucher_fen)} 元，自付 {format_yuan_short(self_fen)} 元")


def _check(lines: Sequence[BudgetLine]) -> None:
    for index, line in enumerate(lines):
        if line.voucher_kind != SELF_PAY and line.voucher_kind not in VoucherKind.__members__.values():
            raise invalid_field(f"lines.{index}.voucher_kind", "支付方式应为代金券券种或 self_pay（自费）")
        if line.occurrences < 0:
            raise invalid_field(f"lines.{index}.occurrences", "次数不能为负数")


def price_plan_month(month: str, lines: Sequence[BudgetLine],
                     allowances: Mapping[VoucherKind, Allowance]) -> PlanBudget:
    """Price one month of a plan. `allowances` holds the elder's voucher kinds that month; a kind
    missing from it pays nothing."""
    _check(lines)
    remaining = {kind: allowances.get(kind, NO_ALLOWANCE).cap_fen for kind in VoucherKind}
    priced: list[PricedLine] = []
    for line in lines:
        total = line.unit_price_fen * line.occurrences
        if line.voucher_kind == SELF_PAY:
            priced.append(PricedLine(line, total_fen=total, share_fen=0, voucher_fen=0))
            continue
        kind = VoucherKind(line.voucher_kind)
        share = voucher_share_fen(line.unit_price_fen, allowances.get(kind, NO_ALLOWANCE).share_bp) * line.occurrences
        paid = min(share, max(remaining[kind], 0))
        remaining[kind] -= paid
        priced.append(PricedLine(line, total_fen=total, share_fen=share, voucher_fen=paid))
    kinds: list[KindBudget] = []
    for kind in VoucherKind:
        used = [p for p in priced if p.line.voucher_kind == kind]
        if used:
            kinds.append(KindBudget(kind, allowances.get(kind, NO_ALLOWANCE), share_fen=sum(p.share_fen for p in used),
                                    voucher_fen=sum(p.voucher_fen for p in used)))
    over = any(k.cut_fen > 0 or (k.allowance.source is CapSource.NONE and
                                 any(p.total_fen > 0 for p in priced if p.line.voucher_kind == k.kind))
               for k in kinds)
    return PlanBudget(month=month, lines=tuple(priced), kinds=tuple(kinds), over_budget=over)
