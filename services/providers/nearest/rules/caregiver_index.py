"""Nearest-qualified-caregiver search: an h3 cell index read nearest first, and its baseline.

A caregiver qualifies for a request at point P when they are active, have the skill, have load
left today, their own service radius reaches P, their provider is not excluded, and (optionally)
they are within `max_distance_m`. `nearest` returns the k closest qualified caregivers, ordered by
distance and then caregiver id, and is exactly what `nearest_exhaustive` (a numpy scan of all of
them) returns: the property test and the benchmark check that on every query.

How the index stays exact. A search starts from a cell o near the query point P (the cell holding
P or a neighbour: points are located through a grid computed at build, without h3:
`CellTable.locate`) and reads, nearest first, the list of the caregivers with the skill around o,
sorted by their distance from o's centre (`discs`: one per skill and cell within reach of the
caregivers, all built with the index). The list of o covers its rings 0..K and is complete to
    C(K) = gap(K+1) − the largest circumradius,
where gap(K+1) is the least distance from o's centre to a centre of its ring K+1: ring K+1
separates rings 0..K from everything outside them, so anyone outside is at least C(K) from o's
centre, and the list holds everyone nearer than that. By the triangle inequality, nobody not read
yet is closer to P than
    lb = min(the next listed distance, C(K)) − distance(P, o's centre) (less a 0.5 m margin
         for rounding),
and the search stops once lb is beyond the k-th qualified distance found, or beyond both
`max_distance_m` and the largest service radius of anyone with the skill (no one further out
can qualify). Until then it reads on down the list to where the k-th found could still be beaten
(or, short of k, further in proportion). It first reads to where 3k are listed (about four in
five qualify), which settles most searches at once. Where no list serves (a cell outside the
caregivers' area, a list an update made stale, a search past C(K) on the last level), it reads the
cells of rings 0..K themselves (`cell_lists`), K growing until the same bound, with the next
listed distance left out, settles it.

Levels. Towns are searched from fine cells (res 8, ~0.7 km²): P is about a cell's circumradius
from o's centre at most, so a top-10 reads a few dozen caregivers. How many with the skill sit in
the next coarser cell around the point says how far the k-th probably is; where that is beyond what
this level's lists cover from a typical point (`RingLevel.reach_m`), the search starts a level up
(res 7, ~5 km², then res 6, ~36 km²: the countryside, a rare skill), where the same radius is a
ring or two. Each level is exact on its own: the choice changes the cost, never the answer.

First searches cost what later ones do (issue 27). Nothing a search reads is computed by a search:
cell geometry, rings, the locating grid, the per-cell lists and the nearest-first lists are all
built with the index, and updates keep them current (or mark lists stale) as they happen.

Why chords. Distances are compared as squared chord lengths between unit vectors computed once
per caregiver: chord² = (x−qx)² + (y−qy)² + (z−qz)² is monotone in the great-circle distance and
uses only IEEE-exact +, −, ×, so the indexed and the exhaustive paths get bit-identical values
(no SIMD transcendental functions whose last bit may depend on the array's length). Radii and
limits are converted to chord² once; metres are computed only for the answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Hashable, Iterable, NamedTuple

import numpy as np
from h3.api import basic_int as h3i

from services.providers.nearest.rules.cell_rings import CellTable, footprint_box, footprint_cells
from services.providers.nearest.rules.geodesy import (  # noqa: F401 - the geometry is part of this module's API
    EARTH_MEAN_RADIUS_M,
    chord2_of_metres,
    ellipsoid_distance_m,
    metres_of_chord2,
    unit_vector,
)
from services.providers.nearest.rules.ring_search import Found, RingLevel, _kth

_PROVIDER = itemgetter(1)  # a Candidate's provider_id

# (resolution, rings a search reads there at most before moving to the next, coarser level; the
# nearest-first lists cover min(that, discs.MAX_DISC_RINGS)), finest first; tuned by bench/matching.py
DEFAULT_LEVELS = ((8, 2), (7, 2), (6, 1_000))
MAX_SERVICE_RADIUS_M = 200_000.0  # beyond this a radius is a data error; it also bounds every search


@dataclass(frozen=True, slots=True)
class Caregiver:
    caregiver_id: Hashable  # all ids in one index must be of one comparable type (ties sort by id)
    provider_id: Hashable
    lat: float
    lon: float
    skills: frozenset[str]
    service_radius_m: float
    active: bool = True
    daily_load: int = 0
    daily_limit: int = 8

    @property
    def has_capacity(self) -> bool:
        return self.active and self.daily_load < self.daily_limit


class Candidate(NamedTuple):
    caregiver_id: Hashable
    provider_id: Hashable
    distance_m: float


class CaregiverIndex:
    """In-memory index of caregivers; rebuilt from the database on start, kept current by events."""

    def __init__(
        self,
        caregivers: Iterable[Caregiver] = (),
        *,
        levels: tuple[tuple[int, int], ...] = DEFAULT_LEVELS,
        prewarm: bool = True,
    ) -> None:
        """Builds, with the caregivers, the per-cell and nearest-first lists every search reads
        (`ring_search`). `prewarm` also computes cell geometry, rings and the grid locating query
        points for the caregivers' area now (seconds for a city) so that first searches there are
        as fast as later ones; without it they are computed on first use (and points located with
        h3). Answers are the same either way."""
        self._levels = [RingLevel(resolution, max_rings) for resolution, max_rings in levels]
        self._level_pairs = tuple(zip(self._levels, [*self._levels[1:], None]))  # (finer, coarser)
        self._records: list[Caregiver | None] = []  # by slot
        self._ids: list[Hashable] = []  # by slot, the records' caregiver_id and provider_id (answers
        self._provider_ids: list[Hashable] = []  # read these without touching the records)
        self._slot_of: dict[Hashable, int] = {}
        self._free: list[int] = []
        capacity = 1024
        # x, y, z, and the chord² the caregiver reaches now: their service radius, or −1 while
        # they are inactive or fully booked, so one comparison applies radius and capacity.
        self._points = np.zeros((capacity, 4))
        self._open = np.zeros(capacity, dtype=bool)  # active and load left
        self._provider_codes = np.zeros(capacity, dtype=np.int32)  # half the cache lines of int64
        self._provider_code_of: dict[Hashable, int] = {}
        # By slot, caregiver_id and provider_id while all are ints (else None): answers read no objects.
        self._id_pairs: np.ndarray | None = np.zeros((capacity, 2), dtype=np.int64)
        self._skill_masks: dict[str, np.ndarray] = {}
        self._max_radius_chord2: dict[str, float] = {}
        caregivers = list(caregivers)
        for caregiver in caregivers:
            _check(caregiver)
        core_cells: dict[int, int] = {}  # by resolution: cells numbered 0..n-1 are the caregivers' area
        if caregivers and prewarm:
            # Where queries come from, and every cell a bound may need to measure.
            core_box = footprint_box(caregivers, 1_000.0)
            wide_box = footprint_box(caregivers, max(c.service_radius_m for c in caregivers) + 5_000)
            for level in self._levels:
                core = footprint_cells(core_box, level.table.resolution)
                level.table.add(core)  # first, so they get the low numbers prewarm covers
                level.table.add(footprint_cells(wide_box, level.table.resolution))
                level.table.prewarm(len(core), level.prewarm_rings)
                core_cells[level.table.resolution] = len(core)
                if core:
                    level.table.build_grid(*core_box)
        if caregivers:
            self._grow(max(capacity, len(caregivers)))
            # Slots in h3 order of the finest level: a search then reads a few contiguous runs of
            # `_points` instead of rows scattered over megabytes (fewer cache misses).
            finest = self._levels[0].table.resolution
            caregivers.sort(key=lambda c: h3i.latlng_to_cell(c.lat, c.lon, finest))
            for caregiver in caregivers:
                if caregiver.caregiver_id in self._slot_of:
                    raise ValueError(f"duplicate caregiver id {caregiver.caregiver_id!r}")
                self._write(caregiver)
            for level in self._levels:
                level.bulk_insert(self._records, self._points, core_cells.get(level.table.resolution, 0))

    # ---- keeping the index current ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, caregiver_id: object) -> bool:
        return caregiver_id in self._slot_of

    def get(self, caregiver_id: Hashable) -> Caregiver | None:
        slot = self._slot_of.get(caregiver_id)
        return None if slot is None else self._records[slot]

    def upsert(self, caregiver: Caregiver) -> None:
        if caregiver.caregiver_id in self._slot_of:
            self.remove(caregiver.caregiver_id)
        slot = self._write(caregiver)
        for level in self._levels:
            level.insert(slot, caregiver)

    def remove(self, caregiver_id: Hashable) -> None:
        slot = self._slot_of.pop(caregiver_id)
        record = self._records[slot]
        assert record is not None
        for level in self._levels:
            level.remove(slot, record)
        for skill in record.skills:
            self._skill_masks[skill][slot] = False
        self._records[slot] = None
        self._open[slot] = False
        self._points[slot, 3] = -1.0
        self._free.append(slot)

    def set_load(self, caregiver_id: Hashable, daily_load: int) -> None:
        self._update(caregiver_id, daily_load=daily_load)

    def set_active(self, caregiver_id: Hashable, active: bool) -> None:
        self._update(caregiver_id, active=active)

    def _update(self, caregiver_id: Hashable, **changes: object) -> None:
        slot = self._slot_of[caregiver_id]
        updated = replace(self._records[slot], **changes)  # type: ignore[arg-type]
        self._records[slot] = updated
        self._open[slot] = updated.has_capacity
        self._points[slot, 3] = _reach_chord2(updated)

    def _write(self, caregiver: Caregiver) -> int:
        _check(caregiver)
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._records)
            self._records.append(None)
            self._ids.append(None)
            self._provider_ids.append(None)
            if slot >= len(self._open):
                self._grow(2 * len(self._open))
        radius_chord2 = chord2_of_metres(caregiver.service_radius_m)
        self._records[slot] = caregiver
        self._ids[slot], self._provider_ids[slot] = caregiver.caregiver_id, caregiver.provider_id
        pair = (caregiver.caregiver_id, caregiver.provider_id)
        if self._id_pairs is not None:  # None for good once an id is not an int64
            if all(type(i) is int and -(2**63) <= i < 2**63 for i in pair):  # type: ignore[operator]
                self._id_pairs[slot] = pair
            else:
                self._id_pairs = None
        self._slot_of[caregiver.caregiver_id] = slot
        self._points[slot] = (*unit_vector(caregiver.lat, caregiver.lon), _reach_chord2(caregiver))
        self._open[slot] = caregiver.has_capacity
        code = self._provider_code_of.setdefault(caregiver.provider_id, len(self._provider_code_of))
        self._provider_codes[slot] = code
        for skill in caregiver.skills:
            mask = self._skill_masks.get(skill)
            if mask is None:
                mask = self._skill_masks[skill] = np.zeros(len(self._open), dtype=bool)
            mask[slot] = True
            # Kept as an upper bound (not lowered on removal): it only decides when to stop looking.
            self._max_radius_chord2[skill] = max(self._max_radius_chord2.get(skill, 0.0), radius_chord2)
        return slot

    def _grow(self, capacity: int) -> None:
        def grown(array: np.ndarray) -> np.ndarray:
            bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
            bigger[: len(array)] = array
            return bigger

        self._points, self._open, self._provider_codes = map(grown, (self._points, self._open, self._provider_codes))
        self._skill_masks = {skill: grown(mask) for skill, mask in self._skill_masks.items()}
        if self._id_pairs is not None:
            self._id_pairs = grown(self._id_pairs)

    # ---- search ---------------------------------------------------------------------------------

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        skill: str,
        k: int = 10,
        max_distance_m: float | None = None,
        exclude_providers: Iterable[Hashable] = (),
    ) -> list[Candidate]:
        """The k nearest qualified caregivers, by distance then caregiver id (see module doc)."""
        max_radius_chord2 = self._max_radius_chord2.get(skill)
        if k <= 0 or max_radius_chord2 is None:
            return []
        excluded = set(exclude_providers) if exclude_providers else None
        # Excluded providers are checked on the answer: searched without them, the first k hold
        # none (the answer: all other qualified sort after them), or they are dropped from what
        # was read, which answers if the search's stop rule holds for the rest; else search again.
        query = _Query(self, lat, lon, max_distance_m, ())
        reach_chord2 = min(query.max_chord2, max_radius_chord2)  # no one further can qualify
        chord2, slots, kth_chord2, unread_m = self._search(query, skill, k, reach_chord2)
        answer = self._answer(chord2, slots, k, kth_chord2) if chord2.size else []
        if excluded and not excluded.isdisjoint(map(_PROVIDER, answer)):
            query = _Query(self, lat, lon, max_distance_m, excluded)
            chord2, slots = query.qualified(slots)
            kth_chord2 = _kth(chord2, k) if chord2.size >= k else None
            stop_m = metres_of_chord2(reach_chord2 if kth_chord2 is None else min(reach_chord2, kth_chord2))
            if unread_m <= stop_m:  # someone unread may be nearer, or qualify at all
                chord2, slots, kth_chord2, _ = self._search(query, skill, k, reach_chord2)
            answer = self._answer(chord2, slots, k, kth_chord2) if chord2.size else []
        return answer

    def _search(self, query: _Query, skill: str, k: int, reach_chord2: float) -> Found:
        """What the levels read for the query's filters (`ring_search.Found`)."""
        expected_m = math.inf
        for finer, coarser in self._level_pairs:
            # The coarser cell around the point tells how dense caregivers with the skill are
            # here, so how far the k-th is likely to be: where that is beyond what this level's
            # lists cover, start at the coarser level instead (running out of list costs a second
            # search, at the coarser level).
            if coarser is not None:
                expected_m = coarser.expected_kth_m(query, skill, k)
                if expected_m > finer.reach_m:
                    continue
            elif finer is self._levels[0]:  # one level: its own cell tells
                expected_m = finer.expected_kth_m(query, skill, k)
            found = finer.search(query, skill, k, reach_chord2, expected_m, last=coarser is None)
            if found is not None:
                return found
        raise AssertionError("the last level always answers")

    def nearest_exhaustive(
        self,
        lat: float,
        lon: float,
        *,
        skill: str,
        k: int = 10,
        max_distance_m: float | None = None,
        exclude_providers: Iterable[Hashable] = (),
    ) -> list[Candidate]:
        """Same answer as `nearest`, by scanning every caregiver with numpy (the baseline)."""
        mask = self._skill_masks.get(skill)
        if k <= 0 or mask is None:
            return []
        query = _Query(self, lat, lon, max_distance_m, exclude_providers)
        chord2, slots = query.qualified(np.flatnonzero(mask & self._open))
        return self._top(chord2, slots, k) if slots.size else []

    def _top(self, chord2: np.ndarray, slots: np.ndarray, k: int, kth_chord2: float | None = None) -> list[Candidate]:
        """The answer from the qualified (chord², slot) pairs, and the k-th chord² if known."""
        if chord2.size > k:
            # Keep every tie with the k-th distance: the id decides among them below.
            if kth_chord2 is None:
                kth_chord2 = float(np.partition(chord2, k - 1)[k - 1])
            keep = chord2 <= kth_chord2
            chord2, slots = chord2[keep], slots[keep]
        return self._candidates(chord2.tolist(), slots.tolist(), k)

    def _answer(self, chord2: np.ndarray, slots: np.ndarray, k: int, kth_chord2: float | None) -> list[Candidate]:
        """`_top`'s answer, the ids from one array where all are ints (no Python object read)."""
        pairs = self._id_pairs
        if pairs is None or kth_chord2 is None and chord2.size > k:
            return self._top(chord2, slots, k, kth_chord2)
        if chord2.size > k:
            keep = chord2 <= kth_chord2  # every tie with the k-th: the id decides among them
            chord2, slots = chord2[keep], slots[keep]
        rows = sorted(zip(chord2.tolist(), pairs.take(slots, axis=0).tolist()))  # ids are unique
        del rows[k:]
        diameter, asin, sqrt, new = 2.0 * EARTH_MEAN_RADIUS_M, math.asin, math.sqrt, tuple.__new__  # as `_candidates`
        return [new(Candidate, (ids[0], ids[1], diameter * asin(sqrt(c2) * 0.5))) for c2, ids in rows]

    def _candidates(self, chord2: list[float], slots: list[int], k: int) -> list[Candidate]:
        """The first k of these by distance then caregiver id, as Candidates."""
        rows = sorted(zip(chord2, map(self._ids.__getitem__, slots), slots))
        del rows[k:]
        providers = self._provider_ids
        diameter, asin, sqrt = 2.0 * EARTH_MEAN_RADIUS_M, math.asin, math.sqrt  # metres_of_chord2, inlined
        new = tuple.__new__  # the same Candidate, without the Python-level __new__ of a NamedTuple
        return [new(Candidate, (cid, providers[s], diameter * asin(sqrt(c2) * 0.5))) for c2, cid, s in rows]


def _check(caregiver: Caregiver) -> None:
    if not (-90 <= caregiver.lat <= 90 and -180 <= caregiver.lon <= 180):
        raise ValueError(f"not a coordinate: ({caregiver.lat}, {caregiver.lon})")
    if not 0 <= caregiver.service_radius_m <= MAX_SERVICE_RADIUS_M:
        raise ValueError(f"service_radius_m must be within 0–{MAX_SERVICE_RADIUS_M:.0f}")


def _reach_chord2(caregiver: Caregiver) -> float:
    return chord2_of_metres(caregiver.service_radius_m) if caregiver.has_capacity else -1.0


class _Query:
    """One request's point and filters, applied identically by both search paths."""

    __slots__ = ("index", "lat", "lon", "xyz", "centre", "max_chord2", "excluded_codes")

    def __init__(
        self, index: CaregiverIndex, lat: float, lon: float, max_distance_m: float | None, exclude: Iterable[Hashable]
    ) -> None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"not a coordinate: ({lat}, {lon})")
        self.index, self.lat, self.lon = index, lat, lon
        self.xyz = unit_vector(lat, lon)
        self.centre = np.array((*self.xyz, 0.0))  # as a row of `_points`: x, y, z and a 0 for the reach
        self.max_chord2 = math.inf if max_distance_m is None else chord2_of_metres(max_distance_m)
        codes = index._provider_code_of
        self.excluded_codes = sorted({codes[p] for p in exclude if p in codes}) if exclude else ()

    def origin(self, table: CellTable) -> int:
        """The number of the table's cell holding the point, or a neighbour's."""
        return table.locate(self.lat, self.lon)

    def qualified(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(chord², slot) of the qualified caregivers among `slots`."""
        index = self.index
        points = index._points.take(slots, axis=0)
        delta = points - self.centre  # the whole rows (a 4th coordinate 0): numpy's fastest broadcast
        delta *= delta
        chord2 = delta[:, 0] + delta[:, 1]
        chord2 += delta[:, 2]
        keep = chord2 <= points[:, 3]  # inside their radius, and open (else −1)
        if self.max_chord2 != math.inf:
            keep &= chord2 <= self.max_chord2
        if self.excluded_codes:
            providers = index._provider_codes.take(slots)
            if len(self.excluded_codes) <= 4:  # a re-dispatch excludes a few; comparisons beat isin
                for code in self.excluded_codes:
                    keep &= providers != code
            else:
                keep &= ~np.isin(providers, self.excluded_codes)
        return chord2[keep], slots[keep]
