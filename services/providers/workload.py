"""Each caregiver's load today, kept from the orders service's events (`order.accepted`,
`.completed`, `.cancelled` and `.returned`, read as plain dicts); ratings from `order.reviewed` are in `ratings`.

Each function runs inside the consumer's transaction (the kernel commits it with the inbox row,
so a redelivered event changes nothing) and is idempotent by itself too: a load is kept per
order, so the same order counted twice still counts once. Loads come with every order (accepted,
then completed or cancelled), so they are the consumer's hot path: they take a `FastTx` and run
statements built once (shared/fast_sql.py).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa

from services.providers.access import as_uuid
from services.providers.models import OrderLoadRow
from services.providers.rules.workload import service_day
from shared.city import local_day
from shared.fast_sql import FastTx, Query, insert_query

_LOADS = OrderLoadRow.__table__
LOAD = Query(sa.select(_LOADS.c.caregiver_id, _LOADS.c.cancelled).where(_LOADS.c.order_id == sa.bindparam("order_id")))
LOCK_LOAD = Query(LOAD.stmt.with_for_update())
INSERT_LOAD = insert_query(_LOADS)
# the order is bound as "order" in an UPDATE: there SQLAlchemy takes a parameter named after a column
# (order_id) for that column's new value, and refuses it in the WHERE clause (SQLite path)
MOVE_LOAD = Query(sa.update(_LOADS).where(_LOADS.c.order_id == sa.bindparam("order")).values(
    caregiver_id=sa.bindparam("caregiver_id"), provider_id=sa.bindparam("provider_id"), day=sa.bindparam("day"),
    cancelled=False, updated_at=sa.bindparam("updated_at")))
CANCEL_LOAD = Query(sa.update(_LOADS).where(_LOADS.c.order_id == sa.bindparam("order")).values(
    cancelled=True, updated_at=sa.bindparam("updated_at")))
# one caregiver's at a time: an IN list would be compiled per call, and fast_sql compiles once
LOAD_ON_DAY = Query(sa.select(sa.func.count().label("n")).select_from(_LOADS).where(
    _LOADS.c.caregiver_id == sa.bindparam("caregiver_id"), _LOADS.c.day == sa.bindparam("day"),
    _LOADS.c.cancelled.is_(False)))


async def record_accepted(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                          today: date) -> dict[uuid.UUID, int]:
    """The accepting caregiver takes the order on the day it is served (Asia/Shanghai): the
    event's `window_start`, or the day of the event where it has none (events from before the
    field, and `order.completed`). An order given back and accepted by someone else moves with
    it. Returns today's loads changed."""
    order_id, caregiver_id = as_uuid(data.get("order_id")), as_uuid(data.get("caregiver_id"))
    if order_id is None or caregiver_id is None:
        return {}
    day = service_day(data.get("window_start")) or local_day(at)
    row = await tx.row(LOCK_LOAD, order_id=order_id)
    changed = {caregiver_id}
    values = dict(caregiver_id=caregiver_id, provider_id=as_uuid(data.get("provider_id")), day=day, updated_at=now)
    if row is None:
        await tx.run(INSERT_LOAD, order_id=order_id, cancelled=False, **values)
    else:
        changed.add(row["caregiver_id"])
        await tx.run(MOVE_LOAD, order=order_id, **values)
    return await loads_today(tx, caregiver_ids=changed, today=today)


async def record_cancelled(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                           today: date) -> dict[uuid.UUID, int]:
    order_id = as_uuid(data.get("order_id"))
    row = await tx.row(LOCK_LOAD, order_id=order_id) if order_id else None
    if row is None or row["cancelled"]:
        return {}
    await tx.run(CANCEL_LOAD, order=order_id, updated_at=now)
    return await loads_today(tx, caregiver_ids={row["caregiver_id"]}, today=today)


async def record_completed(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                           today: date) -> dict[uuid.UUID, int]:
    """A completed order whose acceptance was never seen still took the caregiver's time."""
    order_id = as_uuid(data.get("order_id"))
    if order_id is not None and await tx.row(LOAD, order_id=order_id) is not None:
        return {}
    return await record_accepted(tx, data=data, at=at, now=now, today=today)


async def loads_today(tx: FastTx, *, caregiver_ids: set[uuid.UUID], today: date) -> dict[uuid.UUID, int]:
    """Each caregiver's orders on `today` not cancelled (at most two caregivers: one count each)."""
    return {cid: (await tx.row(LOAD_ON_DAY, caregiver_id=cid, day=today))["n"] for cid in caregiver_ids}
