"""Routes of supervision at the door (issue 24): 出发, the elder's confirmation code, the family's
remote confirmation, 老人不在家, photos, and the elders with repeated no-shows."""
from __future__ import annotations

import hashlib
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from services.orders import door
from services.orders.runtime import Runtime
from services.orders.schemas import DoorCodeOut, NoShowEldersOut, OrderOut, PhotoOut
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["orders"])


@router.post("/orders/{order_id}/en-route", response_model=OrderOut, summary="护理员出发（接单后、签到前；重复点击不变）")
async def en_route(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await door.set_off(s, principal=principal, order_id=order_id, now=ctx.now())


@router.get("/orders/{order_id}/door-code", response_model=DoorCodeOut,
            summary="上门确认码（老人本人和绑定家属可见；护理员签退时输入）")
async def door_code(order_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await door.show_code(s, principal=principal, order_id=order_id, key=rt.door_code_key, now=ctx.now())


@router.post("/orders/{order_id}/family-confirm", response_model=OrderOut,
             summary="家属一键远程确认护理员正在上门服务（签到后、签退前）")
async def family_confirm(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await door.family_confirm(s, principal=principal, order_id=order_id, now=ctx.now())


@router.post("/orders/{order_id}/no-show", response_model=OrderOut,
             summary="登记老人不在家（签到后等待满规定时间；订单结束，不扣代金券）")
async def no_show(order_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                  idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(s):
        answer, _ = await door.mark_no_show(s, principal=principal, order_id=order_id, now=now)
        return 200, answer

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:no-show:{order_id}",
                                        body={}, work=work)
    hold = answer.get("hold_id")
    await rt.void_hold(UUID(hold) if hold else None)  # best effort: the no_show event releases it anyway
    return answer


@router.post("/orders/{order_id}/photos", status_code=201, response_model=PhotoOut,
             summary="上传签到或签退照片（JPEG/PNG，不超过 2 MB，自动去除位置等元数据）")
async def add_photo(order_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal, idempotency_key: IdempotencyKey,
                    stage: Literal["checkin", "checkout"] = Form(description="checkin 签到 / checkout 签退"),
                    photo: UploadFile = File(description="照片文件")) -> dict:
    data = await photo.read(rt.settings.photo_max_bytes + 1)  # one byte past the limit is enough to refuse
    now = ctx.now()

    async def work(s):
        return 201, await door.add_photo(s, principal=principal, storage=rt.storage, order_id=order_id, stage=stage,
                                         data=data, max_bytes=rt.settings.photo_max_bytes,
                                         per_stage=rt.settings.photos_per_stage, now=now)

    # a resent upload (the answer was lost) is the first photo again, not a second one
    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:photos:{order_id}",
                                        body={"stage": stage, "sha256": hashlib.sha256(data).hexdigest()}, work=work)
    return answer


@router.get("/orders/{order_id}/photos/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "照片"}},
            summary="查看签到或签退照片（只有能查看该订单的人可以打开）")
async def get_photo(order_id: UUID, photo_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> Response:
    async with ctx.db.sessions() as s:
        data, content_type = await door.read_photo(s, principal=principal, storage=rt.storage, order_id=order_id,
                                                   photo_id=photo_id)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, no-store",
                                                            "X-Content-Type-Options": "nosniff"})


@router.get("/no-show-elders", response_model=NoShowEldersOut,
            summary="多次「老人不在家」的老人（民政：本辖区；市级：全市或指定区县）")
async def no_show_elders(ctx: Ctx, principal: CurrentPrincipal,
                         district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await door.repeated_no_show_elders(s, principal=principal, district_code=district_code, now=ctx.now())
