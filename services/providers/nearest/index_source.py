"""What the candidate index is built from: a snapshot of the database (all providers, or one),
and which providers changed since a moment, so a replica can catch up with the others' writes
without re-reading everything.

In the index: the active caregivers of approved providers whose required documents are valid,
each under the keys `code` and `code@voucher_kind` of the items they can do and their provider
actively offers (`rules.catalogue.index_keys`).
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.models import CaregiverRow, CatalogueItemRow, DocumentRow, OrderLoadRow, ProviderRow
from services.providers.nearest.rules.caregiver_index import Caregiver
from services.providers.registry import latest_expiries
from services.providers.rules.catalogue import index_keys
from services.providers.rules.registry import MUTUAL_AID_KIND, document_state


@dataclass(frozen=True, slots=True)
class OfferedItem:
    item_id: uuid.UUID
    price_fen: int
    voucher_kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    provider_id: uuid.UUID
    name: str
    kind: str
    lat: float
    lon: float
    area_radius_m: float | None
    area_streets: frozenset[str]
    documents_valid_until: date
    items: dict[str, OfferedItem]
    rating_sum: int
    rating_count: int


@dataclass(frozen=True, slots=True)
class CaregiverFacts:
    caregiver_id: uuid.UUID
    provider_id: uuid.UUID
    name: str
    gender: str
    working_hours: tuple
    rating_sum: int
    rating_count: int


@dataclass
class Snapshot:
    providers: dict[uuid.UUID, ProviderFacts] = field(default_factory=dict)
    caregivers: dict[uuid.UUID, CaregiverFacts] = field(default_factory=dict)
    records: list[Caregiver] = field(default_factory=list)


async def load_snapshot(session: AsyncSession, *, today: date, provider_id: uuid.UUID | None = None) -> Snapshot:
    """Everything the index needs, for all providers or one."""
    snap = Snapshot()
    query = sa.select(ProviderRow).where(ProviderRow.status == "approved")
    if provider_id is not None:
        query = query.where(ProviderRow.id == provider_id)
    providers = {p.id: p for p in (await session.execute(query)).scalars()}
    expiries = await latest_expiries(session, provider_ids=providers)
    items: dict[uuid.UUID, dict[str, OfferedItem]] = defaultdict(dict)
    for item in (await session.execute(sa.select(CatalogueItemRow).where(
            CatalogueItemRow.active.is_(True), *_of(CatalogueItemRow.provider_id, provider_id)))).scalars():
        items[item.provider_id][item.service_code] = OfferedItem(item.id, item.price_fen, tuple(item.voucher_kinds))
    for p in providers.values():
        docs = document_state(p.kind, expiries[p.id], today)
        if docs.ok:
            snap.providers[p.id] = ProviderFacts(
                p.id, p.legal_name, p.kind, p.lat, p.lon, p.area_radius_m, frozenset(p.area_streets or ()),
                docs.valid_until, dict(items.get(p.id, {})), p.rating_sum, p.rating_count)
    loads = await loads_on(session, day=today, provider_id=provider_id)
    # Plain rows, not ORM objects: a city has 100k caregivers and this runs on the event loop.
    c = CaregiverRow
    rows = await session.execute(
        sa.select(c.id, c.provider_id, c.name, c.gender, c.skills, c.base_lat, c.base_lon, c.service_radius_m,
                  c.working_hours, c.daily_limit, c.rating_sum, c.rating_count)
        .where(c.status == "active", *_of(c.provider_id, provider_id)))
    offered_by = {pid: {code: list(item.voucher_kinds) for code, item in p.items.items()}
                  for pid, p in snap.providers.items()}
    for (cid, pid, name, gender, skills, lat, lon, radius, hours, limit, rating_sum, rating_count) in rows:
        provider = snap.providers.get(pid)
        if provider is None:
            continue
        keys = index_keys(set(skills), offered_by[pid], volunteer=provider.kind == MUTUAL_AID_KIND)
        if keys:
            snap.caregivers[cid] = CaregiverFacts(cid, pid, name, gender, tuple(hours or ()), rating_sum, rating_count)
            snap.records.append(Caregiver(cid, pid, lat, lon, keys, radius, True, loads.get(cid, 0), limit))
    return snap


async def loads_on(session: AsyncSession, *, day: date, provider_id: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """Orders each caregiver (of one provider, or all) took on `day` and still has."""
    query = (sa.select(OrderLoadRow.caregiver_id, sa.func.count())
             .where(OrderLoadRow.day == day, OrderLoadRow.cancelled.is_(False)).group_by(OrderLoadRow.caregiver_id))
    if provider_id is not None:
        query = query.where(OrderLoadRow.caregiver_id.in_(
            sa.select(CaregiverRow.id).where(CaregiverRow.provider_id == provider_id)))
    return dict((await session.execute(query)).all())


async def changed_providers(session: AsyncSession, *, since: datetime) -> set[uuid.UUID]:
    """Providers with anything the index reads about them written at or after `since`: the
    provider itself (status, area, ratings), its caregivers, catalogue or documents. Loads are
    not among them: `changed_loads` reads those caregiver by caregiver (D75)."""
    queries = [
        sa.select(ProviderRow.id).where(ProviderRow.updated_at >= since),
        sa.select(CaregiverRow.provider_id).where(CaregiverRow.updated_at >= since),
        sa.select(CatalogueItemRow.provider_id).where(CatalogueItemRow.updated_at >= since),
        sa.select(DocumentRow.provider_id).where(DocumentRow.uploaded_at >= since),
    ]
    return set((await session.execute(sa.union(*queries))).scalars())


async def changed_loads(session: AsyncSession, *, since: datetime, day: date) -> dict[uuid.UUID, int]:
    """The load on `day` of every caregiver with an order load written at or after `since` (an
    accept, a cancellation, a hand-back; on any day), 0 where none is left: another replica's
    consumer took those events. One short range of ix_order_loads_updated_at, then each such
    caregiver's rows of the day (ix_order_loads_caregiver_day)."""
    o = OrderLoadRow
    changed = sa.select(o.caregiver_id).where(o.updated_at >= since).distinct().subquery("changed")
    of_the_day = o.__table__.alias("of_the_day")
    kept = sa.and_(of_the_day.c.caregiver_id == changed.c.caregiver_id, of_the_day.c.day == day,
                   of_the_day.c.cancelled.is_(False))
    query = (sa.select(changed.c.caregiver_id, sa.func.count(of_the_day.c.order_id))
             .select_from(changed.outerjoin(of_the_day, kept)).group_by(changed.c.caregiver_id))
    return dict((await session.execute(query)).all())


def _of(column, provider_id: uuid.UUID | None) -> list:
    return [] if provider_id is None else [column == provider_id]
