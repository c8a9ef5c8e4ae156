"""The bureau's dashboard, gathered: the gateway asks each service for its report with the
caller's own token (so each service scopes its answer: a district officer's district, the city
for city officers) and hands the counts to the pure arithmetic (`indicators.py`, `demand_map.py`).
A service that does not answer leaves its indicators "无数据" and is named in `missing`; the rest
of the page still works. The routes are `api/dashboard.py`; the page `templates/dashboard.html`."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from functools import lru_cache
from pathlib import Path

import aiohttp
from fastapi import Request

from gateway.rules import demand_map
from gateway.rules.indicators import (
    INDICATORS,
    TargetsPolicy,
    indicator_table,
    merge_facts,
    month_state,
    months_back,
    ratio,
    trend,
)
from gateway.runtime import GatewayRuntime
from shared.auth import Principal
from shared.city import DISTRICTS
from shared.errors import FieldError, Forbidden, Invalid, NotFound, Unauthorized
from shared.http import NAMES_ZH
from shared.observability import current_request_id

log = logging.getLogger("youfu.gateway.dashboard")
DASHBOARD_ROLES = frozenset({"officer", "city_officer", "admin"})
TREND_MONTHS = 12


TARGETS_FILE = Path(__file__).with_name("dashboard_targets.json")  # policy data, read once


@lru_cache(maxsize=1)
def targets_policy() -> TargetsPolicy:
    return TargetsPolicy.parse(TARGETS_FILE.read_text(encoding="utf-8"))


def require_dashboard(principal: Principal) -> None:
    if principal.role not in DASHBOARD_ROLES:
        raise Forbidden("只有民政工作人员可以查看民政看板")


class Sources:
    """The services' reports, read with the caller's token."""

    def __init__(self, rt: GatewayRuntime, request: Request, principal: Principal) -> None:
        self.rt = rt
        # a district officer's own district (the services scope to it; the tables show it alone)
        self.district = principal.district if principal.role == "officer" else None
        self.headers = {"authorization": request.headers.get("authorization", ""),
                        "x-request-id": current_request_id() or "", "accept": "application/json"}
        self.missing: list[str] = []

    async def get(self, service: str, path: str, **params: str) -> dict | None:
        url = f"{self.rt.upstream_url[service]}/{path}"
        query = {k: v for k, v in params.items() if v is not None}
        try:
            async with self.rt.upstream[service].get(url, params=query, headers=self.headers) as r:
                status, body = r.status, await r.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("dashboard: %s /%s unreachable: %s", service, path, type(exc).__name__)
            return self._lost(service)
        if status == 200:
            return json.loads(body)
        detail = _detail(body)
        if status == 401:
            raise Unauthorized(detail or "请先登录")
        if status == 403:
            raise Forbidden(detail or "当前账号没有权限查看该数据")
        if status in (400, 422):
            raise Invalid(detail or "请求参数不正确")
        log.warning("dashboard: %s /%s answered %s", service, path, status)
        return self._lost(service)

    def _lost(self, service: str) -> None:
        name = NAMES_ZH.get(service, service)
        if name not in self.missing:
            self.missing.append(name)
        return None


def _detail(body: bytes) -> str | None:
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return found.get("detail") if isinstance(found, dict) else None


def check_month(month: str) -> str:
    try:
        months_back(month, 1)
    except ValueError:
        raise Invalid("月份格式不正确，应为 YYYY-MM", errors=[FieldError("month", "应为 YYYY-MM，例如 2026-03")]) from None
    return month


async def indicators(src: Sources, *, month: str, today: date) -> dict:
    """The month's indicators per district and city-wide, and each indicator over the 12 months
    that end with `month`."""
    months = months_back(month, TREND_MONTHS)
    span = {"from_month": months[0], "to_month": months[-1]}
    roster, activity, issued, spent, capacity, streets = await asyncio.gather(
        src.get("assessment", "reports/indicators", **span), src.get("orders", "reports/indicators", **span),
        src.get("vouchers", "reports/issued", **span), src.get("vouchers", "reports/spend/monthly", **span),
        src.get("providers", "bed-capacity"), src.get("providers", "reports/coverage"))
    rows = {"roster": (roster or {}).get("rows", []), "activity": (activity or {}).get("rows", []),
            "issued": (issued or {}).get("rows", []), "spent": (spent or {}).get("rows", [])}
    beds = (capacity or {}).get("districts") if capacity else None
    street_rows = (streets or {}).get("districts") if streets else None
    kinds = {r["kind"]: r["kind_name"] for r in rows["issued"] + rows["spent"]}
    nursing_target = (capacity or {}).get("nursing_share_target")
    by_month = {m: merge_facts(m, today, **rows, beds=beds, streets=street_rows) for m in months}
    policy = targets_policy()
    version = policy.for_month(month)
    state = month_state(month, today)
    return {"month": month, "state": state, "part_month": state == "current", "today": today.isoformat(),
            "targets_version": version.version, "missing": src.missing,
            "rows": indicator_table(by_month[month], version.targets, kinds=kinds, nursing_target=nursing_target,
                                    district=src.district),
            "trend": trend(months, today, by_month, policy, nursing_target=nursing_target),
            "indicators": [{"key": i.key, "name": i.name, "definition": i.definition} for i in INDICATORS]}


async def spend(src: Sources, *, month: str) -> dict:
    """Voucher money by month × district × kind over 12 months: issued, spent (net) and uptake."""
    months = months_back(month, TREND_MONTHS)
    span = {"from_month": months[0], "to_month": months[-1]}
    issued, spent = await asyncio.gather(src.get("vouchers", "reports/issued", **span),
                                         src.get("vouchers", "reports/spend/monthly", **span))
    table: dict[tuple, dict] = {}
    for r in (issued or {}).get("rows", []):
        key = (r["month"], r["district_code"] or "", r["kind"])
        table.setdefault(key, {"issued_fen": 0, "spent_fen": 0, "kind_name": r["kind_name"]})["issued_fen"] += r["issued_fen"]
    for r in (spent or {}).get("rows", []):
        key = (r["month"], r["district_code"] or "", r["kind"])
        table.setdefault(key, {"issued_fen": 0, "spent_fen": 0, "kind_name": r["kind_name"]})["spent_fen"] += r["net_fen"]
    rows = [{"month": m, "district_code": d or None, "district_name": DISTRICTS.get(d, d or "未知"), "kind": k,
             **v, "uptake": None if (u := ratio(v["spent_fen"], v["issued_fen"])) is None else round(u, 4)}
            for (m, d, k), v in sorted(table.items())]
    return {"months": months, "rows": rows, "missing": src.missing}


async def activity(src: Sources, *, month: str) -> dict:
    found = await src.get("orders", "reports/activity", month=month)
    return (found or {"month": month, "orders": 0, "accepted": 0, "by_hour": [], "acceptance": [],
                      "median_acceptance_min": None}) | {"missing": src.missing}


async def _unmet_inputs(src: Sources, month: str) -> tuple[dict, dict]:
    unmet, coverage = await asyncio.gather(src.get("orders", "reports/unmet", month=month),
                                           src.get("providers", "reports/coverage"))
    return unmet or {"orders": [], "elder_points": []}, coverage or {"districts": [], "providers": []}


async def unmet(src: Sources, *, month: str) -> dict:
    version = targets_policy().for_month(month)
    found, coverage = await _unmet_inputs(src, month)
    providers = [p for p in coverage["providers"] if p.get("lat") is not None]
    cells = demand_map.unmet_cells(found["orders"], found["elder_points"], providers,
                                   resolution=version.h3_resolution, reach_m=version.reach_m)
    centres = [{"district_code": d["district_code"], "district_name": d["district_name"], "lat": d["lat"], "lon": d["lon"]}
               for d in coverage["districts"] if d.get("lat") is not None]
    return {"month": month, "resolution": version.h3_resolution, "reach_m": version.reach_m, "cells": cells,
            "centres": centres, "orders": len(found["orders"]), "providers": len(providers), "missing": src.missing}


async def cell(src: Sources, *, month: str, cell_id: str) -> dict:
    version = targets_policy().for_month(month)
    found, coverage = await _unmet_inputs(src, month)
    providers = [p for p in coverage["providers"] if p.get("lat") is not None]
    try:
        detail = demand_map.cell_detail(cell_id, found["orders"], providers, reach_m=version.reach_m)
    except ValueError:
        raise NotFound("没有这个地图单元", cell=cell_id) from None
    return detail | {"month": month, "missing": src.missing}

