"""This service's copy of the elders (home, district, special hardship): kept from assessment's
`elder.*` events, or fetched once when an order comes before the elder's event."""
from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import parse_uuid
from services.orders.models import ElderRow
from services.orders.queries import ELDER, snapshot
from services.orders.runtime import OrdersRuntime
from shared.errors import NotFound
from shared.fast_sql import fast_reads


def apply_elder_facts(row: ElderRow, data: dict) -> None:
    for name in ("name", "district_code", "street", "address", "lat", "lon"):
        if name in data:
            setattr(row, name, data[name])
    if "special_hardship" in data:
        row.special_hardship = bool(data["special_hardship"])
    if data.get("status"):
        row.status = str(data["status"])


async def record_elder(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`elder.registered` / `elder.updated`, in the consumer's transaction."""
    elder_id = parse_uuid(data.get("elder_id"))
    if elder_id is None:
        return
    row = await session.get(ElderRow, elder_id)
    if row is None:
        row = ElderRow(elder_id=elder_id, special_hardship=False, status="active", source="event", updated_at=now)
        session.add(row)
    apply_elder_facts(row, data)
    row.source, row.updated_at = "event", now


async def ensure_elder(rt: OrdersRuntime, elder_id: uuid.UUID) -> ElderRow | SimpleNamespace:
    """The elder from this service's copy (an ElderRow or its `queries.snapshot`); when an order
    comes before the elder's event, the record is fetched once from assessment and kept (later
    events overwrite it). Read before the caller's transaction; the fetched copy is a cache fill
    with a short transaction of its own, not part of any use case's effect."""
    async with fast_reads(rt.db) as r:  # read on every order placed
        row = snapshot(await r.row(ELDER, elder_id=elder_id))
    if row is not None:
        return row
    try:
        data = await rt.client("assessment").get(f"/elders/{elder_id}")
    except NotFound:
        raise NotFound("没有找到该老人的档案，请先在评估服务登记", elder_id=str(elder_id)) from None
    fetched = ElderRow(elder_id=elder_id, source="fetched", updated_at=rt.now(), special_hardship=False,
                       status="active")
    apply_elder_facts(fetched, data or {})
    try:
        async with rt.db.transaction() as s:
            s.add(fetched)
    except IntegrityError:  # the elder's event arrived meanwhile: it wins
        async with rt.db.sessions() as s:
            return await s.get(ElderRow, elder_id)
    return fetched
