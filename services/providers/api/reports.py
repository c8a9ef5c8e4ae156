"""Route of the bureau's dashboard reports (providers' part): read-only, officers and the city."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.providers import reports
from services.providers.schemas import StreetCoverageOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["providers"])


@router.get("/reports/coverage", response_model=StreetCoverageOut,
            summary="街道居家养老服务中心覆盖和已通过服务商的位置（民政看板）")
async def get_street_coverage(ctx: Ctx, principal: CurrentPrincipal,
                              district_code: str | None = Query(None, pattern=r"^[0-9]{6}$")) -> dict:
    async with ctx.db.sessions() as session:
        return await reports.street_coverage(session, principal=principal, district_code=district_code)
