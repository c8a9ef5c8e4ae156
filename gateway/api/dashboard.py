"""Routes of the bureau's dashboard (`/bureau/dashboard`): the plan's indicators, the charts'
datasets, the map of unmet demand and one clicked cell, and every dataset as an .xlsx download
(`/api/dashboard/export?dataset=…`, Chinese headers, written here with openpyxl). Officers of a
district and of the city only; each service scopes its own report (`gateway/dashboard.py`)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway import dashboard
from gateway.api.pages import XLSX_TYPE, TableExport, table_xlsx
from gateway.runtime import Runtime
from shared.app import Ctx
from shared.city import local_day
from shared.errors import FieldError, Invalid

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])
MONTH = Query(None, pattern=r"^\d{4}-\d{2}$", description="统计月份 YYYY-MM（北京时间），默认本月")
DATASETS = ("indicators", "trend", "spend", "hours", "acceptance", "unmet")


async def _open(request: Request, ctx: Ctx, rt: Runtime, month: str | None) -> tuple[dashboard.Sources, str]:
    principal = await rt.sessions.principal(request)
    dashboard.require_dashboard(principal)
    today = local_day(ctx.now())
    return dashboard.Sources(rt, request, principal), dashboard.check_month(month or f"{today:%Y-%m}")


@router.get("/indicators", summary="规划指标：按区县和全市，对照目标；近 12 个月走势")
async def get_indicators(request: Request, ctx: Ctx, rt: Runtime, month: str | None = MONTH) -> dict:
    src, m = await _open(request, ctx, rt, month)
    return await dashboard.indicators(src, month=m, today=local_day(ctx.now()))


@router.get("/spend", summary="代金券发放与消费：近 12 个月按月份 × 区县 × 券种")
async def get_spend(request: Request, ctx: Ctx, rt: Runtime, month: str | None = MONTH) -> dict:
    src, m = await _open(request, ctx, rt, month)
    return await dashboard.spend(src, month=m)


@router.get("/activity", summary="本月订单按下单时刻和接单用时")
async def get_activity(request: Request, ctx: Ctx, rt: Runtime, month: str | None = MONTH) -> dict:
    src, m = await _open(request, ctx, rt, month)
    return await dashboard.activity(src, month=m)


@router.get("/unmet", summary="未满足需求地图：h3 单元里的无人接单订单和服务范围外的老人")
async def get_unmet(request: Request, ctx: Ctx, rt: Runtime, month: str | None = MONTH) -> dict:
    src, m = await _open(request, ctx, rt, month)
    return await dashboard.unmet(src, month=m)


@router.get("/unmet/{cell}", summary="地图单元详情：单元里的订单和最近的服务商及距离")
async def get_cell(cell: str, request: Request, ctx: Ctx, rt: Runtime, month: str | None = MONTH) -> dict:
    src, m = await _open(request, ctx, rt, month)
    return await dashboard.cell(src, month=m, cell_id=cell[:20])


@router.get("/export", summary="看板数据导出为 Excel（.xlsx，中文表头）",
            responses={200: {"content": {XLSX_TYPE: {}}, "description": "Excel 工作簿"}})
async def export(request: Request, ctx: Ctx, rt: Runtime,
                 dataset: str | None = Query(None, max_length=20, description="哪一组数据：" + "、".join(DATASETS)),
                 month: str | None = MONTH) -> Response:
    src, m = await _open(request, ctx, rt, month)  # who asks first: a refused role learns nothing of the parameters
    if dataset not in DATASETS:
        raise Invalid("请选择要导出的数据", errors=[FieldError("dataset", "应为 " + "、".join(DATASETS) + " 之一")])
    today = local_day(ctx.now())
    if dataset in ("indicators", "trend"):
        data = await dashboard.indicators(src, month=m, today=today)
    elif dataset == "spend":
        data = await dashboard.spend(src, month=m)
    elif dataset in ("hours", "acceptance"):
        data = await dashboard.activity(src, month=m)
    else:
        data = await dashboard.unmet(src, month=m)
    body = sheet(dataset, m, data)
    name = f"{body.filename}.xlsx"
    disposition = f"attachment; filename=\"dashboard-{dataset}-{m}.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(table_xlsx(body), media_type=XLSX_TYPE, headers={"content-disposition": disposition})


def _pct(value: float | None) -> str:
    return "无数据" if value is None else f"{value * 100:.1f}%"


def _met(met: bool | None) -> str:
    return "—" if met is None else "达标" if met else "未达标"


def _yuan(fen: int | None) -> str:
    return f"{(fen or 0) / 100:.2f}"


def sheet(dataset: str, month: str, data: dict) -> TableExport:
    """One dataset as a table with Chinese headers (money in yuan, exact)."""
    if dataset == "indicators":
        headers = ["区域", "指标", "分子", "分母", "数值", "目标", "是否达标", "定义"]
        rows = [[r["area"], i["name"], i["numerator"], i["denominator"], i["display"], i["target_display"], _met(i["met"]),
                 i["definition"]] for r in data["rows"] for i in r["indicators"]]
        return TableExport(filename=f"规划指标-{month}", sheet="规划指标", headers=headers, rows=rows)
    if dataset == "trend":
        headers = ["月份", "指标", "数值", "目标", "是否达标", "说明"]
        rows = [[t["month"], t["name"], t["display"], _pct(t["target"]) if t["target"] is not None else "规划未设目标",
                 _met(t["met"]), "截至今天" if t["part_month"] else ""] for t in data["trend"]]
        return TableExport(filename=f"指标走势-{month}", sheet="近12个月", headers=headers, rows=rows)
    if dataset == "spend":
        headers = ["月份", "区县", "券种", "发放金额（元）", "券支付净额（元）", "使用率"]
        rows = [[r["month"], r["district_name"], r["kind_name"], _yuan(r["issued_fen"]), _yuan(r["spent_fen"]),
                 _pct(r["uptake"])] for r in data["rows"]]
        return TableExport(filename=f"代金券发放与消费-{month}", sheet="发放与消费", headers=headers, rows=rows,
                           money_columns=[3, 4])
    if dataset == "hours":
        rows = [[f"{h['hour']:02d}:00–{h['hour']:02d}:59", h["orders"]] for h in data["by_hour"]]
        return TableExport(filename=f"订单下单时刻-{month}", sheet="下单时刻", headers=["下单时段", "订单数"], rows=rows)
    if dataset == "acceptance":
        rows = [[b["band"], b["orders"]] for b in data["acceptance"]]
        return TableExport(filename=f"接单用时-{month}", sheet="接单用时", headers=["从下单到接单", "订单数"], rows=rows)
    headers = ["地图单元（h3）", "中心纬度", "中心经度", "未匹配订单", "无人接单后取消", "在册老人", "服务范围外的老人", "合计"]
    rows = [[c["cell"], c["lat"], c["lon"], c["unmatched"], c["cancelled"], c["elders"], c["elders_out_of_reach"], c["total"]]
            for c in data["cells"]]
    return TableExport(filename=f"未满足需求-{month}", sheet="未满足需求", headers=headers, rows=rows)
