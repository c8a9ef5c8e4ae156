"""The city's standard service catalogue (标准服务目录, with guide prices) and each provider's
own catalogue built on it.

The standard catalogue ships as `standard_catalogue.json`; at start-up every code missing from
the database is added from it and nothing else is touched, so an administrator's edits survive
restarts and new releases only ever add items.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import scoped_provider, sees_details
from services.providers.events import CatalogueChanged, CatalogueItem, publish
from services.providers.models import CatalogueItemRow, ServiceItemRow
from services.providers.rules.catalogue import catalogue_item_problems
from services.providers.rules.registry import MUTUAL_AID_KIND
from services.providers.views import item_view, service_item_view
from shared.auth import Principal, require_role
from shared.db import Database
from shared.errors import Conflict, FieldError, Invalid, NotFound

if TYPE_CHECKING:  # the bodies' types only: a use case does not depend on the HTTP layer
    from services.providers.schemas import CatalogueItemIn, CatalogueItemPatch, ServiceItemIn

STANDARD_FILE = Path(__file__).with_name("standard_catalogue.json")


def standard_items_from_file(path: Path = STANDARD_FILE) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["items"]


async def ensure_standard_catalogue(db: Database, *, now: datetime) -> int:
    """Add the shipped items whose code is not in the database yet; returns how many were added."""
    for _ in range(3):  # replicas starting together may race on the same codes: retry reads theirs
        try:
            async with db.transaction() as session:
                known = set((await session.execute(sa.select(ServiceItemRow.code))).scalars())
                missing = [item for item in standard_items_from_file() if item["code"] not in known]
                session.add_all(ServiceItemRow(**item, updated_by="system", updated_at=now) for item in missing)
            return len(missing)
        except IntegrityError:
            continue
    return 0


async def list_service_items(session: AsyncSession) -> list[dict]:
    rows = (await session.execute(sa.select(ServiceItemRow).order_by(ServiceItemRow.code))).scalars()
    return [service_item_view(r) for r in rows]


async def standard_item(session: AsyncSession, *, code: str, field: str | None = None) -> ServiceItemRow:
    """The standard item, or 404 (a path) / 422 naming `field` (a body or query value)."""
    row = await session.get(ServiceItemRow, code)
    if row is None:
        if field:
            raise Invalid(f"“{code}”不是标准服务目录中的项目", errors=[FieldError(field, "未知的服务项目")])
        raise NotFound(f"标准服务目录中没有“{code}”", resource="service_item")
    return row


async def put_service_item(session: AsyncSession, *, principal: Principal, code: str, body: ServiceItemIn,
                           now: datetime) -> dict:
    """Create or replace one standard item (admin). Guide prices are policy data, not code."""
    require_role(principal, "admin")
    row = await session.get(ServiceItemRow, code, with_for_update=True)
    values = body.model_dump() | {"updated_by": principal.user_id, "updated_at": now}
    if row is None:
        row = ServiceItemRow(code=code, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    await session.flush()
    return service_item_view(row)


# ---- a provider's own catalogue ----------------------------------------------------------------

async def list_catalogue(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID) -> list[dict]:
    """Anyone who may see the provider sees its active items; its staff and officers all of them."""
    provider = await scoped_provider(session, principal, provider_id, "public")
    query = sa.select(CatalogueItemRow).where(CatalogueItemRow.provider_id == provider_id)
    if not sees_details(principal, provider):
        query = query.where(CatalogueItemRow.active.is_(True))
    return [item_view(r) for r in (await session.execute(query.order_by(CatalogueItemRow.service_code))).scalars()]


async def add_item(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, body: CatalogueItemIn,
                   now: datetime) -> dict:
    provider = await scoped_provider(session, principal, provider_id, "manage", for_update=True)
    standard = await standard_item(session, code=body.service_code, field="service_code")
    exists = await session.scalar(sa.select(CatalogueItemRow.id).where(
        CatalogueItemRow.provider_id == provider_id, CatalogueItemRow.service_code == standard.code))
    if exists is not None:
        raise Conflict(f"已有“{standard.name}”这项服务，请修改原有条目", item_id=str(exists))
    kinds = body.voucher_kinds
    if kinds is None:  # by default the item takes every voucher the city allows for it (and may)
        kinds = (["mutual_aid"] if provider.kind == MUTUAL_AID_KIND and "mutual_aid" in standard.voucher_kinds
                 else list(standard.voucher_kinds))
    row = CatalogueItemRow(id=uuid.uuid4(), provider_id=provider_id, service_code=standard.code,
                           name=(body.name or standard.name).strip(), unit=standard.unit, price_fen=body.price_fen,
                           min_duration_min=standard.min_duration_min if body.min_duration_min is None
                           else body.min_duration_min, voucher_kinds=sorted(set(kinds)),
                           active=body.active, created_at=now, updated_at=now)
    _check_item(row, provider.kind, standard)
    session.add(row)
    await _publish_catalogue(session, provider_id=provider_id)
    return item_view(row)


async def patch_item(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, item_id: uuid.UUID,
                     body: CatalogueItemPatch, now: datetime) -> dict:
    provider = await scoped_provider(session, principal, provider_id, "manage", for_update=True)
    row = await session.get(CatalogueItemRow, item_id)
    if row is None or row.provider_id != provider_id:
        raise NotFound("这个服务商没有这项服务", resource="catalogue_item")
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name != "name":
            raise Invalid("不能清空此项", errors=[FieldError(name, "不能为空")])
        setattr(row, name, sorted(set(value)) if name == "voucher_kinds" else value)
    if changes.get("name") is None and "name" in changes:
        row.name = (await standard_item(session, code=row.service_code)).name
    _check_item(row, provider.kind, await standard_item(session, code=row.service_code))
    row.updated_at = now
    await _publish_catalogue(session, provider_id=provider_id)
    return item_view(row)


def _check_item(row: CatalogueItemRow, provider_kind: str, standard: ServiceItemRow) -> None:
    errors = catalogue_item_problems(provider_kind=provider_kind, price_fen=row.price_fen,
                                            voucher_kinds=list(row.voucher_kinds),
                                            guide_price_fen=standard.guide_price_fen,
                                            allowed_kinds=list(standard.voucher_kinds), name=standard.name)
    if row.min_duration_min < standard.min_duration_min:
        errors.append(FieldError("min_duration_min", f"不能短于标准目录的 {standard.min_duration_min} 分钟"))
    if errors:
        raise Invalid("服务条目有误，请按提示修改", errors=errors)


async def _publish_catalogue(session: AsyncSession, *, provider_id: uuid.UUID) -> None:
    """`catalogue_changed` carries the whole current list, so a consumer replaces, never merges."""
    await session.flush()
    rows = (await session.execute(sa.select(CatalogueItemRow).where(CatalogueItemRow.provider_id == provider_id)
                                  .order_by(CatalogueItemRow.service_code))).scalars()
    publish(session, CatalogueChanged(provider_id=provider_id, items=[
        CatalogueItem(item_id=r.id, service_code=r.service_code, name=r.name, unit=r.unit, price_fen=r.price_fen,
                      min_duration_min=r.min_duration_min, voucher_kinds=list(r.voucher_kinds), active=r.active)
        for r in rows]))
