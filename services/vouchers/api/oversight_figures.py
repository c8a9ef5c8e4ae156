"""HTTP route of the bureau's oversight figures (return visits, complaints)."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.vouchers import oversight_figures
from services.vouchers.schemas import OversightFiguresOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["oversight"])


@router.get("/oversight-figures", response_model=OversightFiguresOut,
            summary="监管数据：回访覆盖率与失败率（按服务商）、投诉与办理时长（按区县和全市）")
async def get_oversight_figures(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(max_length=7),
                                district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as session:
        return await oversight_figures.oversight_figures(session, principal=principal, month=month,
                                                         district_code=district_code, now=ctx.now())
