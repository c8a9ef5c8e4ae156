"""Routes of recurring orders: rules, pausing and ending them, a manual spawner run."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.orders import recurrence
from services.orders.runtime import Runtime
from services.orders.schemas import RecurringRuleIn, RecurringRuleOut
from shared.app import Ctx, CurrentPrincipal
from shared.auth import require_role

router = APIRouter(tags=["orders"])


@router.post("/recurring-orders", status_code=201, response_model=RecurringRuleOut,
             summary="新建周期服务（如工作日 11:00 助餐），提前一天自动下单")
async def post_rule(body: RecurringRuleIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await recurrence.create_rule(s, rt=rt, principal=principal, rule_in=body, now=ctx.now())


@router.get("/recurring-orders", response_model=list[RecurringRuleOut], summary="周期服务列表")
async def get_rules(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await recurrence.list_rules(s, principal=principal, elder_id=elder_id)


async def _set_status(ctx: Ctx, principal: CurrentPrincipal, rule_id: UUID, status: str) -> dict:
    async with ctx.db.transaction() as s:
        return await recurrence.set_status(s, principal=principal, rule_id=rule_id, status=status, now=ctx.now())


@router.delete("/recurring-orders/{rule_id}", response_model=RecurringRuleOut,
               summary="结束周期服务（已生成的订单保留，可逐单取消）")
async def end_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await _set_status(ctx, principal, rule_id, "ended")


@router.post("/recurring-orders/{rule_id}/pause", response_model=RecurringRuleOut, summary="暂停周期服务")
async def pause_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await _set_status(ctx, principal, rule_id, "paused")


@router.post("/recurring-orders/{rule_id}/resume", response_model=RecurringRuleOut, summary="恢复周期服务")
async def resume_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await _set_status(ctx, principal, rule_id, "active")


@router.post("/recurring-orders/spawn", summary="立即运行一次周期下单（管理员；平时每分钟自动运行）")
async def spawn_now(ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    require_role(principal, "admin")
    # the spawner opens its own transactions, one per occurrence placed (`recurrence.spawn_due`)
    return {"placed": await recurrence.spawn_due(rt, now=ctx.now())}
