"""The 12349 hotline desk's routes: who is calling, and the call log (gateway/hotline.py)."""
from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Query, Request

from gateway import hotline
from gateway.api.auth import Caller
from gateway.api.proxy import check_write
from gateway.rules.hotline import DESK_ROLES, LOG_READERS
from gateway.runtime import Runtime
from gateway.schemas import CallIn, CallOut, CallPage, LookupIn, LookupOut
from shared.app import Ctx, IdempotencyKey, PageOffset
from shared.auth import require_role
from shared.idempotency import run_idempotent

router = APIRouter(prefix="/api/hotline", tags=["hotline"])


@router.post("/lookups", response_model=LookupOut, summary="按来电号码查找老人或家属（坐席；只列出辖区内的老人，信息脱敏）")
async def lookup(body: LookupIn, request: Request, caller: Caller, ctx: Ctx, rt: Runtime) -> dict:
    require_role(caller, *DESK_ROLES)
    return await hotline.lookup_caller(ctx.db, rt=rt, principal=caller, phone=body.phone,
                                       authorization=request.headers["authorization"])


@router.post("/calls", status_code=201, response_model=CallOut, summary="记录一次来电（坐席；来电号码加密保存）")
async def record_call(body: CallIn, request: Request, caller: Caller, ctx: Ctx, rt: Runtime,
                      idempotency_key: IdempotencyKey) -> dict:
    require_role(caller, *DESK_ROLES)
    check_write(request, ctx.settings, rt, caller)
    elder = None
    if body.elder_id is not None:  # read before the transaction: the record says whose and which district
        elder = await hotline.elder_for_call(rt, authorization=request.headers["authorization"], elder_id=body.elder_id)
    fields, now = body.model_dump(), ctx.now()

    async def work(session):
        return 201, await hotline.record_call(session, cipher=rt.cipher, principal=caller, fields=fields, elder=elder,
                                              now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{caller.user_id}:POST:/hotline/calls",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/calls", response_model=CallPage,
            summary="来电记录（市级看全市，区县民政和区县坐席看本辖区；可按日期、区县、事由、号码查）")
async def list_calls(caller: Caller, ctx: Ctx, rt: Runtime,
                     date_from: date | None = Query(None, description="起始日（含）"),
                     date_to: date | None = Query(None, description="截止日（含）"),
                     district_code: str | None = Query(None, max_length=6),
                     reason: str | None = Query(None, max_length=20),
                     caller_phone: str | None = Query(None, max_length=20, description="来电号码（按盲索引查）"),
                     elder_id: uuid.UUID | None = None,
                     limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> dict:
    require_role(caller, *LOG_READERS)
    async with ctx.db.sessions() as s:
        return await hotline.list_calls(s, cipher=rt.cipher, principal=caller, date_from=date_from, date_to=date_to,
                                        district_code=district_code, reason=reason, caller_phone=caller_phone,
                                        elder_id=elder_id, limit=limit, offset=offset)
