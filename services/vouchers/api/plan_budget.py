"""HTTP route for a care plan's monthly budget (the assessment service on submit; officers)."""
from __future__ import annotations

from fastapi import APIRouter

from services.vouchers import plan_budget
from services.vouchers.rules.plan_budget import BudgetLine
from services.vouchers.schemas import PlanBudgetIn, PlanBudgetOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["vouchers"])


@router.post("/plan-budgets", response_model=PlanBudgetOut,
             summary="照护计划月度费用测算：券支付多少、老人自付多少、是否超出券额度")
async def post_plan_budget(body: PlanBudgetIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    lines = [BudgetLine(line.service_code, line.voucher_kind, line.unit_price_fen, line.occurrences)
             for line in body.lines]
    async with ctx.db.sessions() as session:  # reads only: nothing to make idempotent
        return await plan_budget.price_plan(session, principal=principal, elder_id=body.elder_id, month=body.month,
                                            lines=lines, now=ctx.now())
