"""The geocoding route: an address → an approximate point, for staff who record addresses."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.providers.geocoding import NOT_RECOGNISED
from services.providers.runtime import Runtime
from services.providers.schemas import GeocodeOut
from shared.app import CurrentPrincipal
from shared.auth import Principal, require_role
from shared.errors import NotFound

router = APIRouter(tags=["providers"])


async def geocoding_staff(principal: CurrentPrincipal) -> Principal:
    """Staff who record addresses only: with a map provider's key set, each call spends the city's
    quota. A dependency, so a refused role is refused before its query is even read."""
    require_role(principal, "provider_admin", "assessor", "officer", "city_officer", "admin")
    return principal


@router.get("/geocode", response_model=GeocodeOut, summary="按地址估算位置（WGS-84；内置地名表为近似位置）",
            responses={404: {"description": "无法识别这个地址"}})
async def get_geocode(runtime: Runtime, principal: Annotated[Principal, Depends(geocoding_staff)],
                      address: str = Query(..., min_length=2, max_length=300, description="地址")) -> dict:
    found = await runtime.locate(None, None, address)
    if found is None:
        raise NotFound(NOT_RECOGNISED, resource="address")
    return found.view()
