"""The nearest-qualified candidates route (dispatch's question): checks the query, then answers
from this process's in-memory search (`nearest/candidates.py`)."""
from __future__ import annotations

import time
import uuid
from datetime import datetime

from fastapi import APIRouter, Query

from services.providers import catalogue
from services.providers.access import as_uuid
from services.providers.rules.registry import location_problems
from services.providers.runtime import ProvidersRuntime, Runtime
from services.providers.schemas import CandidatesOut, Gender, VoucherKind
from shared.app import Ctx, CurrentPrincipal, ServiceContext
from shared.auth import require_role
from shared.errors import FieldError, Invalid

router = APIRouter(tags=["providers"])


@router.get("/candidates", response_model=CandidatesOut, summary="就近合格的服务人员（派单用），按综合得分排序")
async def get_candidates(
    ctx: Ctx, principal: CurrentPrincipal, rt: Runtime,
    service_code: str = Query(..., max_length=40), lat: float = Query(...), lon: float = Query(...),
    k: int = Query(10, ge=1, le=50), exclude_providers: str | None = Query(None, max_length=4000),
    voucher_kind: VoucherKind | None = None,
    street: str | None = Query(None, max_length=100, description="老人所在街道（服务商按街道划定服务范围时用）"),
    gender: Gender | None = Query(None, description="只要这一性别的服务人员"),
    at: datetime | None = Query(None, description="服务时间：只要这时在班的服务人员"),
    previous_caregivers: str | None = Query(None, max_length=4000, description="曾为该老人服务的人员（优先）"),
) -> dict:
    require_role(principal, "service", "officer", "city_officer", "admin")
    errors = location_problems(lat, lon)
    excluded, excluded_errors = _uuid_list(exclude_providers, "exclude_providers")
    previous, previous_errors = _uuid_list(previous_caregivers, "previous_caregivers")
    if at is not None and at.tzinfo is None:
        errors.append(FieldError("at", "时间需要带时区"))
    if errors + excluded_errors + previous_errors:
        raise Invalid("查询条件有误", errors=errors + excluded_errors + previous_errors)
    await _check_standard_item(ctx, rt, service_code)
    found = rt.search.candidates(service_code=service_code, lat=lat, lon=lon, k=k, exclude_providers=excluded,
                                      voucher_kind=voucher_kind, street=street, gender=gender, at=at,
                                      previous_caregivers=previous)
    return {"candidates": found}


KNOWN_ITEM_S = 60.0  # a code seen in the catalogue is trusted this long without a read


async def _check_standard_item(ctx: ServiceContext, runtime: ProvidersRuntime, code: str) -> None:
    """422 for a code not in the standard catalogue. Dispatch asks for candidates once or more
    per order, always with a code it got from this catalogue, so a code found is remembered for
    a minute: that read was the only database work of a candidates call (the search is in memory)."""
    known = runtime.known_item_codes
    now = time.monotonic()
    if known.get(code, 0.0) > now:
        return
    async with ctx.db.sessions() as session:
        await catalogue.standard_item(session, code=code, field="service_code")
    known[code] = now + KNOWN_ITEM_S


def _uuid_list(text: str | None, field: str) -> tuple[frozenset[uuid.UUID], list[FieldError]]:
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    ids = [as_uuid(p) for p in parts]
    if None in ids:
        return frozenset(), [FieldError(field, "应为逗号分隔的编号")]
    return frozenset(ids), []
