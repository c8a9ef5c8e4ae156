"""A care plan's month priced for its consent (issue 21): the assessment service asks
`POST /plan-budgets` when a plan is submitted; officers may ask too. Nothing is written.

The allowance of each voucher kind for the month (`rules/plan_budget.py`): when the month's
voucher of the kind is issued, its share and, for the current month, what the wallet can still
pay (a past month: its face value); otherwise what the policy in force on the 1st of the month
grants the elder as this service knows them now (docs/decisions.md, the plan budget record).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import elder_readable_by
from services.vouchers.issuance.eligibility import facts_of
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import wallet_account
from services.vouchers.models import ElderRow, VoucherRow
from services.vouchers.policy import version_in_force
from services.vouchers.rules.calendar import month_of, parse_month
from services.vouchers.rules.plan_budget import Allowance, BudgetLine, CapSource, price_plan_month
from services.vouchers.rules.policy import VoucherKind, entitlements
from services.vouchers.views import plan_budget_answer
from shared.auth import Principal
from shared.errors import Forbidden, NotFound

BUDGET_ROLES = frozenset({"service", "officer", "city_officer", "admin"})


async def _allowances(session: AsyncSession, elder: ElderRow, month: str, now: datetime) -> dict[VoucherKind, Allowance]:
    issued = {VoucherKind(v.kind): v for v in (await session.execute(sa.select(VoucherRow).where(
        VoucherRow.elder_id == elder.elder_id, VoucherRow.month == month))).scalars()}
    allowances: dict[VoucherKind, Allowance] = {}
    if issued:
        current = month == month_of(now)
        codes = {kind: wallet_account(elder.elder_id, kind, month).code for kind in issued}
        balances = await ledger_store.wallet_balances(session, codes=codes.values()) if current else {}
        for kind, voucher in issued.items():
            if current:
                balance = balances.get(codes[kind])
                allowances[kind] = Allowance(voucher.share_bp, max(balance.available_fen, 0) if balance else 0,
                                             CapSource.WALLET)
            else:
                allowances[kind] = Allowance(voucher.share_bp, voucher.face_value_fen, CapSource.VOUCHER)
    facts = facts_of(elder)
    if facts is not None:
        year, number = parse_month(month)
        policy = await version_in_force(session, on=date(year, number, 1))
        for entitled in entitlements(policy, facts):
            allowances.setdefault(entitled.kind, Allowance(entitled.share_bp, entitled.face_value_fen, CapSource.POLICY))
    return allowances


async def price_plan(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, month: str,
                     lines: list[BudgetLine], now: datetime) -> dict:
    """The month's budget of a plan for one elder: the service (assessment, on submit), an
    officer for an elder of their district (another district's elder: 404), the city."""
    if principal.role not in BUDGET_ROLES:
        raise Forbidden("只有评估服务、民政经办人员可以测算照护计划的月度费用")
    parse_month(month)
    elder = (await session.execute(sa.select(ElderRow).where(
        ElderRow.elder_id == elder_id, elder_readable_by(principal, ElderRow.elder_id, ElderRow.district_code),
    ))).scalar_one_or_none()
    if elder is None:
        raise NotFound("没有找到这位老人的代金券信息，或不在您的查看范围内")
    budget = price_plan_month(month, lines, await _allowances(session, elder, month, now))
    return plan_budget_answer(elder_id, budget)
