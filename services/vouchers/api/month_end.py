"""HTTP routes for month end (expiry, statements) and the providers' settlements."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.vouchers import month_end
from services.vouchers.exports import Column, Format, download
from services.vouchers.schemas import MonthEndOut, MonthIn, SettlementOut, SettlementSummary
from services.vouchers.views import SETTLEMENT_STATUS_NAMES
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["civil affairs"])

SETTLEMENT_COLUMNS = [Column("结算月份", "month"), Column("区县", "district_name"), Column("服务商编号", "provider_id"),
                      Column("结算状态", "status_name"), Column("服务项目", "service_code"), Column("券种", "kind_name"),
                      Column("服务笔数", "redemption_count"), Column("核销金额（元）", "redeemed_fen", fen=True),
                      Column("冲正金额（元）", "reversed_fen", fen=True), Column("应付净额（元）", "net_fen", fen=True)]


@router.post("/month-end-runs", status_code=201, response_model=MonthEndOut, summary="月末处理：余额过期、生成结算单")
async def post_month_end_run(body: MonthIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await month_end.run_month_end(session, principal=principal, month=body.month,
                                             district_code=body.district_code, now=ctx.now())


@router.get("/settlements", response_model=list[SettlementOut], summary="服务商结算单（可导出 csv / xlsx）")
async def get_settlements(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Query(None, max_length=7),
                          provider_id: UUID | None = None, format: Format = "json"):
    async with ctx.db.sessions() as session:
        statements = await month_end.list_settlements(session, principal=principal, month=month,
                                                      provider_id=provider_id)
    if format == "json":
        return statements
    rows = [{**s, **line, "status_name": SETTLEMENT_STATUS_NAMES.get(s["status"], s["status"])}
            for s in statements for line in s["lines"]]
    return download(SETTLEMENT_COLUMNS, rows, fmt=format, filename=f"结算单-{month or '全部'}", sheet="结算单")


@router.post("/settlements/{settlement_id}/confirm", response_model=SettlementSummary, summary="确认结算单")
async def confirm_settlement(settlement_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await month_end.confirm_settlement(session, principal=principal, settlement_id=settlement_id,
                                                  now=ctx.now())


@router.post("/settlements/{settlement_id}/pay", response_model=SettlementSummary, summary="结算单付款")
async def pay_settlement(settlement_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await month_end.pay_settlement(session, principal=principal, settlement_id=settlement_id,
                                              now=ctx.now())
