"""HTTP routes for the policy tables: every version, the one in force, publishing a new one."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder

from services.vouchers import policy
from services.vouchers.rules.calendar import local_date
from services.vouchers.schemas import PolicyIn
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["vouchers"])


@router.get("/policies", summary="全部政策版本（含历史）")
async def get_policies(ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await policy.list_versions(session)


@router.get("/policies/current", summary="某日生效的政策版本（默认今天）")
async def get_current_policy(ctx: Ctx, principal: CurrentPrincipal, on: date | None = None) -> dict:
    async with ctx.db.sessions() as session:
        return await policy.current_version(session, on=on or local_date(ctx.now()))


@router.post("/policies", status_code=201, summary="发布新政策版本（管理员）")
async def post_policy(body: PolicyIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    # a version is a new row each time: a retried request (the gateway retries keyed writes)
    # must not publish the same version twice
    async def work(session):
        version = await policy.create_version(session, principal=principal,
                                                submitted=body.model_dump(mode="json"), now=ctx.now())
        return 201, jsonable_encoder(version)  # JSON-ready: a replay answers the stored copy

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/policies",
                                        body=body.model_dump(mode="json"), work=work)
    return answer
