"""Nearest-qualified candidates for dispatch: the in-memory `CaregiverIndex` (built from the
database, see `index_source`) and the answer to `GET /candidates`.

One index lookup applies skill, catalogue, voucher kind, the caregiver's own radius, today's
load and excluded providers. The rest is checked per candidate in distance order (the provider's
documents still valid today, its own service area, gender, working hours), fetching more until
the pool is full: the pool is exactly the first `candidate_pool` qualified caregivers by distance,
as an exhaustive scan would give, and the answer is the best `k` of the pool by `match_score`.

Keeping it current. This process applies its own writes right after they commit
(`refresh_provider` re-reads one provider) and the load and rating events it consumes
(`apply_load`, `apply_rating`). With several replicas each consumes only part of the events and
sees the others' writes only in the database, so every `index_refresh_s` (2 s by default) each
replica re-reads from the database every provider changed since its last look (`sync`), and
on the first look of a new day (Asia/Shanghai) it re-reads everything: loads start again from
zero and documents that ran out at midnight drop out. (A full re-read of a city's 100k
caregivers takes seconds of the event loop, too much for every 30 s; the per-provider re-read
costs a few indexed queries.) Changes that arrive while the database is being read are applied
again afterwards, so none is lost to a re-read.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta

from services.providers.nearest.index_source import (
    CaregiverFacts,
    OfferedItem,
    ProviderFacts,
    changed_loads,
    changed_providers,
    load_snapshot,
)
from services.providers.nearest.rules.caregiver_index import Caregiver, CaregiverIndex
from services.providers.nearest.rules.geodesy import ellipsoid_distance_m
from services.providers.nearest.rules.ranking import ScoreWeights, match_score
from services.providers.rules.catalogue import index_key
from services.providers.rules.registry import MUTUAL_AID_KIND, area_covers
from services.providers.rules.staff import works_at
from services.providers.views import rating_view
from shared.db import Database

# How far back each look reaches before the previous one began: covers replicas' clocks apart
# and transactions that took their time to commit after reading the clock. (60 s when the look
# came every 30 s; at every 2 s a provider changed is re-read for as long as this, so it is kept
# to what a slow commit can take — docs/decisions.md D62.)
SYNC_OVERLAP = timedelta(seconds=15)


class CandidateSearch:
    """The process's index and facts. Everything runs on the event loop except the first,
    CPU-heavy build of the index, which runs in a worker thread on a snapshot."""

    def __init__(self, db: Database, *, weights: ScoreWeights, pool_size: int, today: Callable[[], date]) -> None:
        self.db, self.weights, self.pool_size, self.today = db, weights, pool_size, today
        self.index = CaregiverIndex([])
        self.providers: dict[uuid.UUID, ProviderFacts] = {}
        self.caregivers: dict[uuid.UUID, CaregiverFacts] = {}
        self.by_provider: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        self.synced_at: datetime | None = None  # when the last look at the database began
        self.synced_day: date | None = None  # the day of the last full re-read
        self._sync_lock = asyncio.Lock()
        self._refresh_lock = asyncio.Lock()  # one provider's read and apply stay together and in order
        self._rebuilding = False
        self._touched: set[uuid.UUID] = set()  # providers changed while a full re-read was reading

    async def sync(self, *, now: datetime) -> None:
        """The periodic look: everything on a new day, else the providers and the loads changed since
        the last."""
        if self.synced_day != self.today() or self.synced_at is None:
            await self.rebuild(now=now)
            return
        async with self._sync_lock:
            since = self.synced_at - SYNC_OVERLAP
            async with self.db.sessions() as session:
                changed = await changed_providers(session, since=since)
                loads = await changed_loads(session, since=since, day=self.today())
            # Loads first: a provider re-read below reads its loads again, later. Only the counts
            # are read for a load written elsewhere, not its whole provider (D75): every accept
            # writes one, and re-reading each busy provider at every look cost a city's worth.
            for caregiver_id, load in loads.items():
                self.apply_load(caregiver_id, load)
            for provider_id in changed:
                await self.refresh_provider(provider_id)
            self.synced_at = now

    async def rebuild(self, *, now: datetime) -> int:
        """Re-read everything; returns the index's size. The first time (start-up) the index is built
        whole, in a worker thread; after that only the differences are applied, which keeps its cell
        tables and cached rings warm."""
        async with self._sync_lock:
            self._rebuilding, self._touched = True, set()
            try:
                today = self.today()
                async with self.db.sessions() as session:
                    snap = await load_snapshot(session, today=today)
                # built whole at start-up, with every list a search reads (docs/decisions.md D62,
                # D67): the first requests cost what later ones do
                fresh = (await asyncio.to_thread(lambda: CaregiverIndex(snap.records))
                         if self.synced_at is None else None)
                async with self._refresh_lock:
                    if fresh is not None:
                        self.index = fresh
                    else:
                        self._apply(snap.records, previous=set().union(*self.by_provider.values()))
                    self.providers, self.caregivers = snap.providers, snap.caregivers
                    self.by_provider = defaultdict(set)
                    for record in snap.records:
                        self.by_provider[record.provider_id].add(record.caregiver_id)
                    touched, self._touched = self._touched, set()
                    self.synced_at, self.synced_day = now, today
            finally:
                self._rebuilding = False
            for provider_id in touched:  # written while the snapshot was being read: read them again
                await self.refresh_provider(provider_id)
            return len(self.index)

    async def refresh_provider(self, provider_id: uuid.UUID) -> None:
        """Re-read one provider (status, documents, items, caregivers, loads) after a write."""
        async with self._refresh_lock:
            async with self.db.sessions() as session:
                snap = await load_snapshot(session, today=self.today(), provider_id=provider_id)
            previous = self.by_provider.pop(provider_id, set())
            self._apply(snap.records, previous=previous)
            for caregiver_id in previous:
                self.caregivers.pop(caregiver_id, None)
            self.providers.pop(provider_id, None)
            self.providers.update(snap.providers)
            self.caregivers.update(snap.caregivers)
            self.by_provider[provider_id] = {record.caregiver_id for record in snap.records}
            self._touch(provider_id)

    def _apply(self, records: Iterable[Caregiver], *, previous: set[uuid.UUID]) -> None:
        """Make the index hold exactly `records` where it held `previous`, touching only what changed."""
        wanted = {record.caregiver_id: record for record in records}
        for caregiver_id in previous - wanted.keys():
            self.index.remove(caregiver_id)
        for caregiver_id, record in wanted.items():
            current = self.index.get(caregiver_id)
            if current == record:
                continue
            if current is not None and replace(current, daily_load=record.daily_load) == record:
                self.index.set_load(caregiver_id, record.daily_load)  # the usual change: an order taken
            else:
                self.index.upsert(record)

    def apply_load(self, caregiver_id: uuid.UUID, load_today: int) -> None:
        record = self.index.get(caregiver_id)
        if record is not None:
            self.index.set_load(caregiver_id, load_today)
            self._touch(record.provider_id)

    def apply_rating(self, provider_id: uuid.UUID, provider_sums: tuple[int, int],
                     caregiver_id: uuid.UUID | None, caregiver_sums: tuple[int, int] | None) -> None:
        if provider_id in self.providers:
            self.providers[provider_id] = replace(self.providers[provider_id], rating_sum=provider_sums[0],
                                                  rating_count=provider_sums[1])
        if caregiver_id in self.caregivers and caregiver_sums is not None:
            self.caregivers[caregiver_id] = replace(self.caregivers[caregiver_id], rating_sum=caregiver_sums[0],
                                                    rating_count=caregiver_sums[1])
        self._touch(provider_id)

    def _touch(self, provider_id: uuid.UUID) -> None:
        if self._rebuilding:
            self._touched.add(provider_id)

    # ---- answering -----------------------------------------------------------------------------

    def candidates(self, *, service_code: str, lat: float, lon: float, k: int = 10,
                   exclude_providers: frozenset[uuid.UUID] = frozenset(), voucher_kind: str | None = None,
                   street: str | None = None, gender: str | None = None, at: datetime | None = None,
                   previous_caregivers: frozenset[uuid.UUID] = frozenset(), exhaustive: bool = False) -> list[dict]:
        """The best k of the nearest qualified pool, by score. `exhaustive` scans every caregiver
        instead of reading rings: the same answer, slower (tests and the benchmark compare)."""
        today = self.today()
        search = self.index.nearest_exhaustive if exhaustive else self.index.nearest
        key = index_key(service_code, voucher_kind)
        wanted = max(k, self.pool_size)
        fetch = wanted
        while True:
            found = search(lat, lon, skill=key, k=fetch, exclude_providers=exclude_providers)
            pool = [c for c in found if self._qualifies(c, today, lat, lon, street, gender, at)]
            if len(pool) >= wanted or len(found) < fetch:
                break
            fetch *= 4  # many near ones fail the per-candidate checks: read further out
        scored = [self._scored(c, service_code, previous_caregivers) for c in pool[:wanted]]
        scored.sort(key=lambda s: (-s[0].total, s[1].distance_m, s[1].caregiver_id))
        return [self._answer(score, c, item, lat, lon) for score, c, item in scored[:k]]

    def _qualifies(self, c, today: date, lat: float, lon: float, street: str | None, gender: str | None,
                   at: datetime | None) -> bool:
        provider, caregiver = self.providers.get(c.provider_id), self.caregivers.get(c.caregiver_id)
        if provider is None or caregiver is None or provider.documents_valid_until < today:
            return False
        if not area_covers(provider_lat=provider.lat, provider_lon=provider.lon,
                                  radius_m=provider.area_radius_m, streets=provider.area_streets,
                                  lat=lat, lon=lon, street=street):
            return False
        if gender and caregiver.gender != gender:
            return False
        return at is None or works_at(list(caregiver.working_hours), at)

    def _scored(self, c, service_code: str, previous: frozenset[uuid.UUID]):
        provider, caregiver = self.providers[c.provider_id], self.caregivers[c.caregiver_id]
        record = self.index.get(c.caregiver_id)
        # a caregiver's own reviews once they have any; until then the provider's reputation
        total, count = ((caregiver.rating_sum, caregiver.rating_count) if caregiver.rating_count
                        else (provider.rating_sum, provider.rating_count))
        score = match_score(c.distance_m, total / count if count else None, record.daily_load / record.daily_limit,
                            rating_count=count, served_before=c.caregiver_id in previous, weights=self.weights)
        return score, c, provider.items[service_code]

    def _answer(self, score, c, item: OfferedItem, lat: float, lon: float) -> dict:
        provider, caregiver = self.providers[c.provider_id], self.caregivers[c.caregiver_id]
        record = self.index.get(c.caregiver_id)
        total, count = ((caregiver.rating_sum, caregiver.rating_count) if caregiver.rating_count
                        else (provider.rating_sum, provider.rating_count))
        return {
            "provider_id": str(c.provider_id), "provider_name": provider.name,
            "caregiver_id": str(c.caregiver_id), "caregiver_name": caregiver.name,
            # ranking used the index's sphere; the answer shown to people is on the ellipsoid
            "distance_m": round(ellipsoid_distance_m(lat, lon, record.lat, record.lon), 1),
            "score": round(score.total, 4),
            "score_parts": {name: round(value, 4) for name, value in score.contributions.items()},
            "rating": rating_view(total, count), "rating_count": count,
            "price_fen": item.price_fen, "item_id": str(item.item_id), "voucher_kinds": list(item.voucher_kinds),
            "load_today": record.daily_load, "daily_limit": record.daily_limit,
            "volunteer": provider.kind == MUTUAL_AID_KIND,
        }
