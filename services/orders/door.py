"""Supervision at the door (issue 24): the caregiver sets off (出发), the elder's confirmation code,
the family's one-tap remote confirmation, how a check-out was confirmed, "老人不在家" (no-show),
photos at check-in and check-out, and the elders with repeated no-shows for the officer.

The confirmation code is derived (HMAC of the order id with a key from the settings), never
stored; wrong codes are counted in `door_records` under the order's row lock, so tries from two
phones at once count one by one. Check-out itself stays in `delivery.check_out`, which calls
`confirm_check_out` here. The numbers (code length, tries, the wait, the no-show window) are the
versioned policy data in `door_policy.json`.
"""
from __future__ import annotations

import asyncio
import functools
import io
import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import ELDER_ROLES, district_scope, load_order, require_assigned
from services.orders.events import OrderEnRoute, OrderNoShow, publish
from services.orders.models import DoorRecordRow, ElderRow, OrderPhotoRow, OrderRow, ServiceRecordRow
from services.orders.placement import order_details
from services.orders.rules.door import (
    PHOTO_STAGES,
    Confirmation,
    DoorPolicy,
    check_code,
    check_no_show_wait,
    choose_confirmation,
    confirmation_code,
    policy_from,
    policy_on,
    repeated_no_shows,
    sniff_image,
)
from services.orders.rules.lifecycle import Command, OrderState, transition
from services.orders.views import local_iso, photo_answer
from shared.auth import Principal
from shared.city import district_name, local_day
from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, PayloadTooLarge, invalid_field
from shared.storage import BlobStorage

POLICY_FILE = Path(__file__).with_name("door_policy.json")
CODE_STATES = (OrderState.ACCEPTED.value, OrderState.IN_SERVICE.value)  # the elder's page shows the code then
PHOTO_STATES = (OrderState.IN_SERVICE.value, OrderState.COMPLETED.value, OrderState.SETTLED.value,
                OrderState.NO_SHOW.value)
MAX_PIXELS = 40_000_000  # a bigger picture in 2 MB is a decompression bomb, not a photo


@functools.cache
def door_policies() -> tuple[DoorPolicy, ...]:
    """The versions of the door policy data, read once per process."""
    return tuple(policy_from(json.loads(POLICY_FILE.read_text(encoding="utf-8"))))


def door_policy(day: date) -> DoorPolicy:
    return policy_on(list(door_policies()), day)


async def door_record(s: AsyncSession, order: OrderRow) -> DoorRecordRow:
    """The order's door record (made on first use); the caller holds the order's row lock."""
    row = await s.get(DoorRecordRow, order.id)
    if row is None:
        row = DoorRecordRow(order_id=order.id, elder_id=order.elder_id, district_code=order.district_code,
                            code_attempts=0)
        s.add(row)
    return row


# ---- the code and the family's confirmation ---------------------------------------------------


def expected_code(key: bytes, order_id: uuid.UUID, *, now: datetime) -> str:
    return confirmation_code(key, order_id, door_policy(local_day(now)).code_digits)


async def show_code(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, key: bytes, now: datetime) -> dict:
    """The code the elder shows the caregiver: the elder and linked family only (another
    household's order: 404), while the order is accepted or in service."""
    if principal.role not in ELDER_ROLES:
        raise Forbidden("只有老人本人或已绑定的家属可以查看上门确认码")
    order = await load_order(s, principal, order_id)
    if order.state not in CODE_STATES:
        raise Conflict(f"订单当前状态为「{OrderState(order.state).label}」，没有需要确认的上门服务。",
                       current_state=order.state)
    policy = door_policy(local_day(now))
    row = await s.get(DoorRecordRow, order.id)
    return {"order_id": str(order.id), "code": confirmation_code(key, order.id, policy.code_digits),
            "state": order.state, "caregiver_name": order.caregiver_name,
            "family_confirmed": bool(row and row.family_confirmed_at),
            "code_locked": bool(row and row.code_locked_at)}


async def family_confirm(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, now: datetime) -> dict:
    """A linked family member confirms with one tap that the caregiver is serving (after check-in,
    before check-out). Tapping again changes nothing."""
    if principal.role != "family":
        raise Forbidden("只有已绑定的家属可以远程确认；老人本人请把确认码告诉护理员")
    order = await load_order(s, principal, order_id, lock=True)
    if order.state != OrderState.IN_SERVICE.value:
        raise Conflict(f"订单当前状态为「{OrderState(order.state).label}」，护理员签到后、签退前才能远程确认。",
                       current_state=order.state)
    row = await door_record(s, order)
    if row.family_confirmed_at is None:
        row.family_confirmed_at, row.family_confirmed_by = now, principal.user_id
    await s.flush()
    return await order_details(s, order=order, principal=principal)


async def confirm_check_out(s: AsyncSession, *, order: OrderRow, expected_code: str | None, typed_code: str | None,
                            reason: str | None, now: datetime) -> tuple[Confirmation, str | None, DomainError | None]:
    """In check-out's transaction (the order locked): how the service is confirmed, or the refusal
    to raise once a wrong try has been stored (422 with the tries left, 409 once locked). A
    refusal without a stored change (no code, no reason) is raised at once."""
    row = await door_record(s, order)
    family = row.family_confirmed_at is not None
    code_ok = False
    if typed_code and not family:
        policy = door_policy(local_day(now))
        result = check_code(typed_code, expected_code or "", attempts=row.code_attempts or 0,
                            max_attempts=policy.code_max_attempts)
        if result.error is not None:
            row.code_attempts = result.attempts
            if result.locked and row.code_locked_at is None:
                row.code_locked_at = now
            if not (reason or "").strip() or not result.locked:
                return Confirmation.UNCONFIRMED, None, result.error
            # locked, and the caregiver also said why: check out unconfirmed
        code_ok = result.ok
    confirmation, why = choose_confirmation(code_ok=code_ok, family_confirmed=family, reason=reason)
    row.confirmation, row.unconfirmed_reason = confirmation.value, why
    return confirmation, why, None


# ---- on the way, not at home ------------------------------------------------------------------


async def set_off(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, now: datetime) -> dict:
    """The assigned caregiver taps 出发 (→ order.en_route, once)."""
    order = await load_order(s, principal, order_id, lock=True)
    require_assigned(principal, order, "出发")
    if order.state != OrderState.ACCEPTED.value:
        raise Conflict(f"订单当前状态为「{OrderState(order.state).label}」，接单后、签到前才能出发。",
                       current_state=order.state)
    row = await door_record(s, order)
    if row.en_route_at is None:
        row.en_route_at, row.en_route_by = now, principal.user_id
        publish(s, OrderEnRoute(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                                district_code=order.district_code, caregiver_id=order.caregiver_id,
                                at=now.isoformat()))
    await s.flush()
    return await order_details(s, order=order, principal=principal)


async def mark_no_show(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, now: datetime,
                       ) -> tuple[dict, uuid.UUID | None]:
    """"老人不在家": the caregiver checked in and waited the policy's minutes; the order ends as
    no_show and nothing is captured. Returns the answer and the hold to void once committed."""
    order = await load_order(s, principal, order_id, lock=True)
    require_assigned(principal, order, "登记老人不在家")
    new_state = transition(order.state, Command.MARK_NO_SHOW)
    record = await s.get(ServiceRecordRow, order.id)
    check_no_show_wait(arrived_at=record.checkin_at, now=now, wait_min=door_policy(local_day(now)).no_show_wait_min)
    row = await door_record(s, order)
    row.no_show_at, row.no_show_by = now, principal.user_id
    order.state, order.updated_at, order.next_dispatch_at = new_state.value, now, None
    publish(s, OrderNoShow(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                           district_code=order.district_code, hold_id=order.hold_id, caregiver_id=order.caregiver_id,
                           at=now.isoformat()))
    await s.flush()
    answer = await order_details(s, order=order, principal=principal)
    return answer, order.hold_id


async def repeated_no_show_elders(s: AsyncSession, *, principal: Principal, district_code: str | None,
                                  now: datetime) -> dict:
    """Elders with repeated no-shows in the policy's window, for the officer of their district
    (another district: 403) and the city."""
    district = district_scope(principal, district_code)
    policy = door_policy(local_day(now))
    query = (sa.select(DoorRecordRow.elder_id, DoorRecordRow.no_show_at)
             .join(OrderRow, OrderRow.id == DoorRecordRow.order_id)
             .where(OrderRow.state == OrderState.NO_SHOW.value,
                    DoorRecordRow.no_show_at >= now - timedelta(days=policy.repeat_no_show_days),
                    DoorRecordRow.no_show_at <= now))
    if district:
        query = query.where(DoorRecordRow.district_code == district)
    flagged = repeated_no_shows((await s.execute(query)).all(), now=now, count=policy.repeat_no_show_count,
                                days=policy.repeat_no_show_days)
    elders = {e.elder_id: e for e in (await s.execute(sa.select(ElderRow).where(
        ElderRow.elder_id.in_(list(flagged))))).scalars()} if flagged else {}
    rows = []
    for elder_id, ats in sorted(flagged.items(), key=lambda kv: (-len(kv[1]), kv[1][0]), reverse=False):
        elder = elders.get(elder_id)
        code = elder.district_code if elder else None
        rows.append({"elder_id": str(elder_id), "name": elder.name if elder else None, "district_code": code,
                     "district_name": district_name(code) if code else None,
                     "street": elder.street if elder else None, "no_shows": len(ats),
                     "last_no_show_at": local_iso(ats[0]), "no_show_at": [local_iso(a) for a in ats]})
    return {"district_code": district, "window_days": policy.repeat_no_show_days,
            "threshold": policy.repeat_no_show_count, "elders": rows, "as_of": local_iso(now)}


# ---- photos -----------------------------------------------------------------------------------


def clean_image(data: bytes, content_type: str) -> tuple[bytes, int, int]:
    """Re-encode the picture with Pillow so nothing but pixels is kept (EXIF with GPS, XMP,
    comments, text chunks): upright as the camera meant (EXIF orientation applied first).
    CPU-bound: run it in a worker thread."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise invalid_field("photo", "照片像素过大，请用手机相机的普通尺寸拍照")
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise invalid_field("photo", "照片文件已损坏或不完整，请重新拍照") from None
    out = io.BytesIO()
    if content_type == "image/jpeg":
        pixels = upright if upright.mode in ("RGB", "L") else upright.convert("RGB")
        pixels.save(out, format="JPEG", quality=85, optimize=True)  # no exif=, icc_profile=: none written
    else:
        pixels = upright if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else upright.convert("RGBA")
        pixels.save(out, format="PNG", optimize=True)  # no pnginfo=, exif=: no text or eXIf chunk
    return out.getvalue(), upright.width, upright.height


def check_photo(data: bytes, *, max_bytes: int) -> str:
    """413 past the size limit, 422 unless JPEG or PNG by its first bytes; the content type."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"照片太大（上限 {max_bytes // (1024 * 1024)} MB），请压缩后再上传",
                              errors=[invalid_field("photo", "照片不能超过 2 MB").errors[0]], limit_bytes=max_bytes)
    if not data:
        raise invalid_field("photo", "请选择要上传的照片")
    kind = sniff_image(data[:16])
    if kind is None:
        raise Invalid("只能上传 JPEG 或 PNG 格式的照片", errors=[invalid_field("photo", "照片须为 JPEG 或 PNG 格式").errors[0]])
    return kind


async def add_photo(s: AsyncSession, *, principal: Principal, storage: BlobStorage, order_id: uuid.UUID,
                    stage: str, data: bytes, max_bytes: int, per_stage: int, now: datetime) -> dict:
    """The assigned caregiver adds a photo at check-in or check-out: checked, stripped, stored
    in the blob store and recorded; a refused photo stores nothing."""
    if stage not in PHOTO_STAGES:
        raise invalid_field("stage", "应为 checkin（签到）或 checkout（签退）")
    kind = check_photo(data, max_bytes=max_bytes)
    order = await load_order(s, principal, order_id, lock=True)
    require_assigned(principal, order, "上传照片")
    if order.state not in PHOTO_STATES:
        raise Conflict(f"订单当前状态为「{OrderState(order.state).label}」，签到后才能上传照片。", current_state=order.state)
    taken = (await s.execute(sa.select(sa.func.count()).select_from(OrderPhotoRow).where(
        OrderPhotoRow.order_id == order.id, OrderPhotoRow.stage == stage))).scalar()
    if taken >= per_stage:
        raise Conflict(f"{PHOTO_STAGES[stage]}照片最多 {per_stage} 张", reason="too_many_photos")
    clean, width, height = await asyncio.to_thread(clean_image, data, kind)
    photo_id = uuid.uuid4()
    key = f"orders/photos/{order.id}/{photo_id}.{'jpg' if kind == 'image/jpeg' else 'png'}"
    await storage.put(key, clean, kind)
    row = OrderPhotoRow(id=photo_id, order_id=order.id, stage=stage, blob_key=key, content_type=kind,
                        size_bytes=len(clean), width=width, height=height, taken_by=principal.user_id, created_at=now)
    s.add(row)
    try:
        await s.flush()
    except Exception:
        await storage.delete(key)  # the row was not written: leave no blob behind
        raise
    return photo_answer(row)


async def read_photo(s: AsyncSession, *, principal: Principal, storage: BlobStorage, order_id: uuid.UUID,
                     photo_id: uuid.UUID) -> tuple[bytes, str]:
    """The photo's bytes, for whoever may read the order (others: 404, as if there were none)."""
    order = await load_order(s, principal, order_id)
    row = (await s.execute(sa.select(OrderPhotoRow).where(OrderPhotoRow.id == photo_id,
                                                          OrderPhotoRow.order_id == order.id))).scalar_one_or_none()
    if row is None:
        raise NotFound("没有找到该照片", photo_id=str(photo_id))
    try:
        return await storage.get(row.blob_key), row.content_type
    except KeyError:
        raise NotFound("照片文件已不存在", photo_id=str(photo_id)) from None
