"""HTTP routes of complaints (投诉)."""
from __future__ import annotations

import hashlib
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from services.vouchers import complaints
from services.vouchers.rules.complaints import ComplaintStatus, ComplaintSubject
from services.vouchers.runtime import Runtime
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


@router.post("/complaints/{complaint_id}/photo", status_code=201, response_model=ComplaintOut,
             summary="为投诉添加一张照片（投诉人本人；JPEG/PNG，不超过 2 MB，自动去除位置等元数据）")
async def post_complaint_photo(complaint_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                               idempotency_key: IdempotencyKey, photo: UploadFile = File(description="照片文件")) -> dict:
    limit = rt.settings.complaint_photo_max_bytes
    data = await photo.read(limit + 1)  # one byte past the limit is enough to refuse
    now = ctx.now()

    async def work(session):
        return 201, await complaints.add_complaint_photo(session, principal=principal, storage=rt.storage,
                                                         complaint_id=complaint_id, data=data, max_bytes=limit, now=now)

    # a resent upload (the answer was lost) answers the first one again
    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:complaint-photo:{complaint_id}",
                                        body={"sha256": hashlib.sha256(data).hexdigest()}, work=work)
    return answer


@router.get("/complaints/{complaint_id}/photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "照片"}},
            summary="查看投诉照片（只有能查看该投诉的人可以打开）")
async def get_complaint_photo(complaint_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> Response:
    async with ctx.db.sessions() as session:
        data, content_type = await complaints.read_complaint_photo(session, principal=principal, storage=rt.storage,
                                                                   complaint_id=complaint_id)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, no-store",
                                                            "X-Content-Type-Options": "nosniff"})
