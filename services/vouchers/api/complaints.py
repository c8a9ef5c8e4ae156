"""HTTP routes of complaints (投诉)."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter

from services.vouchers import complaints
from services.vouchers.rules.complaints import ComplaintStatus, ComplaintSubject
from services.vouchers.schemas import ComplaintIn, ComplaintMoveIn, ComplaintOut
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["oversight"])


@router.post("/complaints", status_code=201, response_model=ComplaintOut, summary="提交投诉（老人、家属或 12349 坐席）")
async def post_complaint(body: ComplaintIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 201, await complaints.file_complaint(
            session, principal=principal, subject=ComplaintSubject(body.subject), text=body.text,
            anonymous=body.anonymous, elder_id=body.elder_id, order_id=body.order_id, provider_id=body.provider_id,
            caregiver_id=body.caregiver_id, district_code=body.district_code, now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/complaints",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/complaints", response_model=list[ComplaintOut], summary="投诉列表（逾期的排在最前）")
async def get_complaints(ctx: Ctx, principal: CurrentPrincipal,
                         status: Literal["open", "in_progress", "resolved", "rejected"] | None = None) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await complaints.list_complaints(session, principal=principal,
                                                status=ComplaintStatus(status) if status else None, now=ctx.now())


@router.get("/complaints/{complaint_id}", response_model=ComplaintOut, summary="一条投诉")
async def get_complaint(complaint_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await complaints.get_complaint(session, principal=principal, complaint_id=complaint_id, now=ctx.now())


@router.post("/complaints/{complaint_id}/status", response_model=ComplaintOut,
             summary="办理投诉：受理、办结或不予受理（须答复）")
async def post_complaint_status(complaint_id: UUID, body: ComplaintMoveIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await complaints.move_complaint(session, principal=principal, complaint_id=complaint_id,
                                               status=ComplaintStatus(body.status), answer=body.answer, now=ctx.now())
