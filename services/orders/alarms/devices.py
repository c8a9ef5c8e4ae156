"""Home terminals and watches: each bound to one elder by a token that an officer issues (shown
once, stored as its SHA-256) and revokes. The token, sent as `X-Device-Token`, lets the device
raise alarms for its own elder only (`raising.device_of`)."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import device_scope, require_device_issuer
from services.orders.models import AlarmDeviceRow, ElderRow
from services.orders.rules.alarms import new_device_token, token_hash
from services.orders.views import device_answer
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound


def _check_district(principal: Principal, elder: ElderRow | None, elder_id: uuid.UUID) -> None:
    if elder is None:
        raise NotFound("没有找到该老人的档案", elder_id=str(elder_id))
    if principal.role == "officer" and elder.district_code != principal.district:
        raise Forbidden("只能为本辖区的老人办理呼叫设备", elder_district=elder.district_code)


async def issue_device(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, label: str,
                       now: datetime) -> dict:
    """A new device for the elder (in this service's elder copy); the answer carries the token,
    this once."""
    require_device_issuer(principal)
    elder = await session.get(ElderRow, elder_id)
    _check_district(principal, elder, elder_id)
    token = new_device_token()
    device = AlarmDeviceRow(id=uuid.uuid4(), elder_id=elder_id, district_code=elder.district_code, label=label,
                            token_hash=token_hash(token), token_hint=token[:8], issued_by=principal.user_id,
                            issued_at=now)
    session.add(device)
    await session.flush()
    return device_answer(device, token=token)


async def list_devices(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict]:
    require_device_issuer(principal)
    rows = (await session.execute(sa.select(AlarmDeviceRow).where(
        AlarmDeviceRow.elder_id == elder_id, device_scope(principal, AlarmDeviceRow.district_code))
        .order_by(AlarmDeviceRow.issued_at.desc()))).scalars()
    return [device_answer(d) for d in rows]


async def revoke_device(session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, now: datetime) -> dict:
    require_device_issuer(principal)
    device = (await session.execute(sa.select(AlarmDeviceRow).where(
        AlarmDeviceRow.id == device_id, device_scope(principal, AlarmDeviceRow.district_code))
        .with_for_update())).scalar_one_or_none()
    if device is None:
        raise NotFound("没有找到该呼叫设备，或您无权查看", device_id=str(device_id))
    if device.revoked_at is not None:
        raise Conflict("该设备已停用")
    device.revoked_at, device.revoked_by = now, principal.user_id
    await session.flush()
    return device_answer(device)
