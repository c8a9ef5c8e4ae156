"""HTTP routes for the civil-affairs audit: spend reports, anomaly findings and the auditor's
actions on them, the ledger check."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query

from services.vouchers import audit
from services.vouchers.exports import Column, Format, download
from services.vouchers.runtime import Runtime
from services.vouchers.schemas import ActionIn, ActionOut, FindingOut, LedgerCheckOut, SpendByMonthOut, SpendReportOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["civil affairs"])
MONTH = Query(max_length=7, description="YYYY-MM")

GROUP_HEADERS = {"district": "区县", "kind": "券种", "service": "服务项目", "provider": "服务商编号"}
REPORT_COLUMNS = [Column("服务笔数", "redemption_count"), Column("订单金额（元）", "order_amount_fen", fen=True),
                  Column("券支付金额（元）", "voucher_fen", fen=True), Column("老人自付金额（元）", "elder_fen", fen=True),
                  Column("冲正金额（元）", "reversed_fen", fen=True), Column("券支付净额（元）", "net_fen", fen=True)]


@router.get("/reports/spend", response_model=SpendReportOut, summary="代金券消费统计（可导出 csv / xlsx）")
async def get_spend_report(ctx: Ctx, principal: CurrentPrincipal, month: str = MONTH,
                           group_by: Literal["district", "kind", "service", "provider"] = "district",
                           district_code: str | None = Query(None, max_length=12), format: Format = "json"):
    async with ctx.db.sessions() as session:
        report = await audit.spend_report(session, principal=principal, month=month, group_by=group_by,
                                          district_code=district_code)
    if format == "json":
        return report
    columns = [Column(GROUP_HEADERS[group_by], "name"), *REPORT_COLUMNS]
    rows = [*report["rows"], {"name": "合计", **report["totals"]}]
    return download(columns, rows, fmt=format, filename=f"代金券消费统计-{month}-{GROUP_HEADERS[group_by]}",
                    sheet=f"{month} 消费统计")


MONTHLY_COLUMNS = [Column("月份", "month"), Column("区县", "district_name"), Column("券种", "kind_name"), *REPORT_COLUMNS]


@router.get("/reports/spend/monthly", response_model=SpendByMonthOut,
            summary="代金券消费分月统计：月份 × 区县 × 券种（最多 36 个月，可导出 csv / xlsx）")
async def get_spend_by_month(ctx: Ctx, principal: CurrentPrincipal,
                             from_month: str = Query(max_length=7, description="起始月份 YYYY-MM"),
                             to_month: str = Query(max_length=7, description="结束月份 YYYY-MM（含）"),
                             district_code: str | None = Query(None, max_length=12), format: Format = "json"):
    async with ctx.db.sessions() as session:
        report = await audit.spend_by_month(session, principal=principal, from_month=from_month, to_month=to_month,
                                            district_code=district_code)
    if format == "json":
        return report
    rows = [*report["rows"], {"month": "合计", **report["totals"]}]
    return download(MONTHLY_COLUMNS, rows, fmt=format, filename=f"代金券消费分月统计-{from_month}至{to_month}",
                    sheet=f"{from_month}至{to_month}")


@router.get("/anomalies", response_model=list[FindingOut], summary="运行稽核规则并列出线索")
async def get_anomalies(ctx: Ctx, runtime: Runtime, principal: CurrentPrincipal, month: str = MONTH) -> list[dict]:
    async with ctx.db.transaction() as session:  # stores new findings
        return await audit.find_anomalies(session, principal=principal, month=month, now=ctx.now(),
                                          thresholds=runtime.anomaly_thresholds)


@router.post("/anomalies/{finding_id}/actions", status_code=201, response_model=ActionOut,
             summary="处理稽核线索：驳回、冻结服务商结算、冲正核销")
async def post_anomaly_action(finding_id: UUID, body: ActionIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await audit.act_on_finding(session, principal=principal, finding_id=finding_id, action=body.action,
                                          reason=body.reason, now=ctx.now())


@router.get("/ledger/check", response_model=LedgerCheckOut, summary="账本不变量检查")
async def get_ledger_check(ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await audit.ledger_check(session, principal=principal)

