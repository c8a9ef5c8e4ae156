"""What the providers service keeps from the orders service's events: ratings (per provider and
per caregiver, from `order.reviewed`) and each caregiver's load today (from `order.accepted`,
`.completed` and `.cancelled`). Events are read as plain dicts.

Each function runs inside the consumer's transaction (the kernel commits it with the inbox row,
so a redelivered event changes nothing) and is idempotent by itself too: a review and a load are
kept per order, so the same order counted twice still counts once. Loads come with every order
(accepted, then completed or cancelled), so they are the consumer's hot path: they take a `FastTx`
and run statements built once (shared/fast_sql.py); reviews keep the ORM.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers import domain
from services.providers.models import CaregiverRow, OrderLoadRow, ProviderRow, ReviewRow
from services.providers.service import as_uuid
from shared.fast_sql import FastTx, Query, insert_query

log = logging.getLogger("youfu.providers.orders")

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


@dataclass(frozen=True)
class RatingChange:
    provider_id: uuid.UUID
    provider_sums: tuple[int, int]
    caregiver_id: uuid.UUID | None
    caregiver_sums: tuple[int, int] | None


async def record_review(session: AsyncSession, *, data: dict, at: datetime, now: datetime) -> RatingChange | None:
    """Add a review's rating to its provider's and caregiver's sums; a later review of the same
    order replaces the earlier one (its rating is taken back out first)."""
    order_id, provider_id = as_uuid(data.get("order_id")), as_uuid(data.get("provider_id"))
    rating = data.get("rating")
    if order_id is None or not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValueError(f"order.reviewed without an order id or a rating 1–5: {data!r}")
    provider = await session.get(ProviderRow, provider_id, with_for_update=True) if provider_id else None
    if provider is None:
        log.warning("review of order %s names unknown provider %s; ignored", order_id, provider_id)
        return None
    caregiver_id = as_uuid(data.get("caregiver_id"))
    caregiver = await session.get(CaregiverRow, caregiver_id, with_for_update=True) if caregiver_id else None
    if caregiver is not None and caregiver.provider_id != provider.id:
        caregiver = None  # not this provider's: rate the provider only
    earlier = await session.get(ReviewRow, order_id, with_for_update=True)
    if earlier is not None:
        await _take_back(session, earlier, now)
        await session.delete(earlier)
        await session.flush()
    # updated_at is when this process wrote it (not the event's time): other replicas look for
    # rows written since their last look, and a late event must still be seen
    provider.rating_sum, provider.rating_count = provider.rating_sum + rating, provider.rating_count + 1
    provider.updated_at = now
    if caregiver is not None:
        caregiver.rating_sum, caregiver.rating_count = caregiver.rating_sum + rating, caregiver.rating_count + 1
        caregiver.updated_at = now
    session.add(ReviewRow(order_id=order_id, provider_id=provider.id, caregiver_id=caregiver.id if caregiver else None,
                          elder_id=as_uuid(data.get("elder_id")), rating=rating,
                          comment=(data.get("comment") or None) and str(data["comment"])[:1000], reviewed_at=at))
    return RatingChange(provider.id, (provider.rating_sum, provider.rating_count),
                        caregiver.id if caregiver else None,
                        (caregiver.rating_sum, caregiver.rating_count) if caregiver else None)


async def _take_back(session: AsyncSession, review: ReviewRow, now: datetime) -> None:
    provider = await session.get(ProviderRow, review.provider_id, with_for_update=True)
    if provider is not None:
        provider.rating_sum, provider.rating_count, provider.updated_at = (
            provider.rating_sum - review.rating, provider.rating_count - 1, now)
    if review.caregiver_id:
        caregiver = await session.get(CaregiverRow, review.caregiver_id, with_for_update=True)
        if caregiver is not None:
            caregiver.rating_sum, caregiver.rating_count, caregiver.updated_at = (
                caregiver.rating_sum - review.rating, caregiver.rating_count - 1, now)


async def record_accepted(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                          today: date) -> dict[uuid.UUID, int]:
    """The accepting caregiver takes the order on the day it is served (Asia/Shanghai): the
    event's `window_start`, or the day of the event where it has none (events from before the
    field, and `order.completed`). An order given back and accepted by someone else moves with
    it. Returns today's loads changed."""
    order_id, caregiver_id = as_uuid(data.get("order_id")), as_uuid(data.get("caregiver_id"))
    if order_id is None or caregiver_id is None:
        return {}
    day = service_day(data.get("window_start")) or domain.local_day(at)
    row = await tx.row(LOCK_LOAD, order_id=order_id)
    changed = {caregiver_id}
    values = dict(caregiver_id=caregiver_id, provider_id=as_uuid(data.get("provider_id")), day=day, updated_at=now)
    if row is None:
        await tx.run(INSERT_LOAD, order_id=order_id, cancelled=False, **values)
    else:
        changed.add(row["caregiver_id"])
        await tx.run(MOVE_LOAD, order=order_id, **values)
    return await loads_today(tx, changed, today)


def service_day(window_start: object) -> date | None:
    """The Asia/Shanghai day of an ISO instant with an offset; None if absent or unreadable."""
    if not isinstance(window_start, str):
        return None
    try:
        instant = datetime.fromisoformat(window_start)
    except ValueError:
        return None
    return domain.local_day(instant) if instant.tzinfo is not None else None


async def record_cancelled(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                           today: date) -> dict[uuid.UUID, int]:
    order_id = as_uuid(data.get("order_id"))
    row = await tx.row(LOCK_LOAD, order_id=order_id) if order_id else None
    if row is None or row["cancelled"]:
        return {}
    await tx.run(CANCEL_LOAD, order=order_id, updated_at=now)
    return await loads_today(tx, {row["caregiver_id"]}, today)


async def record_completed(tx: FastTx, *, data: dict, at: datetime, now: datetime,
                           today: date) -> dict[uuid.UUID, int]:
    """A completed order whose acceptance was never seen still took the caregiver's time."""
    order_id = as_uuid(data.get("order_id"))
    if order_id is not None and await tx.row(LOAD, order_id=order_id) is not None:
        return {}
    return await record_accepted(tx, data=data, at=at, now=now, today=today)


async def loads_today(tx: FastTx, caregiver_ids: set[uuid.UUID], today: date) -> dict[uuid.UUID, int]:
    """Each caregiver's orders on `today` not cancelled (at most two caregivers: one count each)."""
    return {cid: (await tx.row(LOAD_ON_DAY, caregiver_id=cid, day=today))["n"] for cid in caregiver_ids}
