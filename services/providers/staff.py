"""Caregivers (护理员) and neighbour volunteers: who they are, what they can do, where they start
from, when they work and how many orders a day they take. A volunteer is a caregiver of a
mutual-aid group (邻里互助点) and is trained only for items paid with 邻里互助券."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import scope_clauses, scoped_provider
from services.providers.geocoding import NOT_RECOGNISED
from services.providers.models import CaregiverRow, OrderLoadRow, ProviderRow, ServiceItemRow
from services.providers.nearest.rules.caregiver_index import MAX_SERVICE_RADIUS_M
from services.providers.rules.registry import MUTUAL_AID_KIND, location_problems
from services.providers.rules.staff import valid_hhmm
from services.providers.views import caregiver_view
from shared.auth import Principal
from shared.city import local_day
from shared.errors import FieldError, Invalid, NotFound

if TYPE_CHECKING:  # the bodies' types only: a use case does not depend on the HTTP layer
    from services.providers.schemas import CaregiverIn, CaregiverPatch


async def caregiver_problems(session: AsyncSession, *, row: CaregiverRow, provider: ProviderRow) -> list[FieldError]:
    errors: list[FieldError] = []
    standard = {code: kinds for code, kinds in (await session.execute(
        sa.select(ServiceItemRow.code, ServiceItemRow.voucher_kinds))).all()}
    unknown = [code for code in row.skills if code not in standard]
    if unknown:
        errors.append(FieldError("skills", f"不是标准服务目录中的项目：{'、'.join(unknown)}"))
    if provider.kind == MUTUAL_AID_KIND:
        paid_otherwise = [code for code in row.skills if code in standard and "mutual_aid" not in standard[code]]
        if paid_otherwise:
            errors.append(FieldError(
                "skills", f"邻里互助志愿者只提供可用邻里互助券的服务，不能登记：{'、'.join(paid_otherwise)}"))
    errors += location_problems(row.base_lat, row.base_lon, prefix="base_")
    if not 0 < row.service_radius_m <= MAX_SERVICE_RADIUS_M:
        errors.append(FieldError("service_radius_m", "应大于 0 且不超过 200 公里"))
    for i, entry in enumerate(row.working_hours or []):
        start, end = entry.get("start", ""), entry.get("end", "")
        if not (valid_hhmm(start) and valid_hhmm(end)) or start >= end:
            errors.append(FieldError(f"working_hours.{i}", "时间应为 HH:MM，且开始早于结束"))
        elif not entry.get("days") or any(d not in range(1, 8) for d in entry["days"]):
            errors.append(FieldError(f"working_hours.{i}.days", "星期应为 1（周一）到 7（周日）"))
    return errors


async def _today_loads(session: AsyncSession, *, caregiver_ids: list[uuid.UUID], today: date) -> dict[uuid.UUID, int]:
    if not caregiver_ids:
        return {}
    rows = await session.execute(
        sa.select(OrderLoadRow.caregiver_id, sa.func.count()).where(
            OrderLoadRow.caregiver_id.in_(caregiver_ids), OrderLoadRow.day == today,
            OrderLoadRow.cancelled.is_(False)).group_by(OrderLoadRow.caregiver_id))
    return dict(rows.all())


async def list_caregivers(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                          status: str | None, today: date) -> list[dict]:
    provider = await scoped_provider(session, principal, provider_id, "staff")
    query = sa.select(CaregiverRow).where(CaregiverRow.provider_id == provider_id)
    if status:
        query = query.where(CaregiverRow.status == status)
    rows = list((await session.execute(query.order_by(CaregiverRow.name, CaregiverRow.id))).scalars())
    loads = await _today_loads(session, caregiver_ids=[r.id for r in rows], today=today)
    return [caregiver_view(r, provider, loads.get(r.id, 0)) for r in rows]


async def add_caregiver(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, body: CaregiverIn,
                        now: datetime) -> dict:
    provider = await scoped_provider(session, principal, provider_id, "manage")
    row = CaregiverRow(id=uuid.uuid4(), provider_id=provider_id, name=body.name.strip(), gender=body.gender,
                       skills=sorted(set(body.skills)), certificate_level=body.certificate_level,
                       base_lat=body.base_lat, base_lon=body.base_lon, service_radius_m=body.service_radius_m,
                       working_hours=[h.model_dump() for h in body.working_hours], daily_limit=body.daily_limit,
                       status=body.status, rating_sum=0, rating_count=0, created_at=now, updated_at=now)
    errors = await caregiver_problems(session, row=row, provider=provider)
    if row.base_lat is None and row.base_lon is None and body.base_address:  # given, but not recognised
        errors = [FieldError("base_address", NOT_RECOGNISED) if e.field == "base_lat" else e for e in errors]
    if errors:
        raise Invalid("护理员信息有误，请按提示修改", errors=errors)
    session.add(row)
    await session.flush()
    return caregiver_view(row, provider, 0)


async def scoped_caregiver(session: AsyncSession, *, principal: Principal, caregiver_id: uuid.UUID, purpose: str,
                           for_update: bool = False) -> tuple[CaregiverRow, ProviderRow]:
    query = (sa.select(CaregiverRow, ProviderRow).join(ProviderRow, ProviderRow.id == CaregiverRow.provider_id)
             .where(CaregiverRow.id == caregiver_id, *scope_clauses(principal, purpose)))
    if for_update:
        query = query.with_for_update(of=CaregiverRow)
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound("没有这位护理员，或您无权查看", resource="caregiver")
    return found[0], found[1]


async def get_caregiver(session: AsyncSession, *, principal: Principal, caregiver_id: uuid.UUID,
                        today: date) -> dict:
    row, provider = await scoped_caregiver(session, principal=principal, caregiver_id=caregiver_id, purpose="staff")
    loads = await _today_loads(session, caregiver_ids=[row.id], today=today)
    return caregiver_view(row, provider, loads.get(row.id, 0))


async def patch_caregiver(session: AsyncSession, *, principal: Principal, caregiver_id: uuid.UUID,
                          body: CaregiverPatch,
                          now: datetime) -> dict:
    row, provider = await scoped_caregiver(session, principal=principal, caregiver_id=caregiver_id, purpose="manage",
                                           for_update=True)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name != "certificate_level":
            raise Invalid("不能清空此项", errors=[FieldError(name, "不能为空")])
        setattr(row, name, sorted(set(value)) if name == "skills" else value)
    errors = await caregiver_problems(session, row=row, provider=provider)
    if errors:
        raise Invalid("护理员信息有误，请按提示修改", errors=errors)
    row.updated_at = now
    await session.flush()
    loads = await _today_loads(session, caregiver_ids=[row.id], today=local_day(now))
    return caregiver_view(row, provider, loads.get(row.id, 0))
