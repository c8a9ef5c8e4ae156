"""Route of voucher uptake for the bureau's dashboard: what was issued (read-only)."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.vouchers import uptake
from services.vouchers.schemas import IssuedByMonthOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["civil affairs"])
MONTH = r"^\d{4}-\d{2}$"


@router.get("/reports/issued", response_model=IssuedByMonthOut,
            summary="代金券发放统计：按月 × 区县 × 券种（民政看板的券使用率）")
async def get_issued(ctx: Ctx, principal: CurrentPrincipal, from_month: str = Query(pattern=MONTH),
                     to_month: str = Query(pattern=MONTH), district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as session:
        return await uptake.issued_by_month(session, principal=principal, from_month=from_month, to_month=to_month,
                                            district_code=district_code)
