"""Nearest-qualified-caregiver search: an h3 cell index searched ring by ring, and its baseline.

A caregiver qualifies for a request at point P when they are active, have the skill, have load
left today, their own service radius reaches P, their provider is not excluded, and (optionally)
they are within `max_distance_m`. `nearest` returns the k closest qualified caregivers, ordered by
distance and then caregiver id, and is exactly what `nearest_exhaustive` (a numpy scan of all of
them) returns: the property test and the benchmark check that on every query.

How the index stays exact. Caregivers are bucketed per skill by h3 cell. A search reads the
query's cell, then ring 1, ring 2, … Ring K+1 separates disc K from everything outside it, so
nobody outside disc K is closer to P than
    lb(K) = min over cells c of ring K+1 of distance(P, centre c) − the largest circumradius,
and the search stops once the k-th qualified distance is below lb(K), or lb(K) is beyond both
`max_distance_m` and the largest service radius of anyone with the skill (no one further out
can qualify).

Two resolutions. Towns are searched in fine cells (res 8, ~0.7 km²) so a top-10 reads a few
dozen caregivers. How many with the skill sit in the coarse cell (res 7, ~5 km²) around the point
says how far the k-th probably is; where that is beyond 4 fine rings (countryside, a rare skill),
or a fine search finds it is, the search runs in coarse cells instead, where the same radius is
a few rings. Each level is exact on its own: the choice changes the cost, never the answer.

Why chords. Distances are compared as squared chord lengths between unit vectors computed once
per caregiver: chord² = (x−qx)² + (y−qy)² + (z−qz)² is monotone in the great-circle distance and
uses only IEEE-exact +, −, ×, so the indexed and the exhaustive paths get bit-identical values
(no SIMD transcendental functions whose last bit may depend on the array's length). Radii and
limits are converted to chord² once; metres are computed only for the answer.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, replace
from typing import Hashable, Iterable, NamedTuple

import h3
import numpy as np
from h3.api import basic_int as h3i

EARTH_MEAN_RADIUS_M = 6_371_008.8
# (resolution, rings to read there before moving to the next, coarser level); tuned by bench/matching.py
DEFAULT_LEVELS = ((8, 4), (7, 1_000))
PREWARM_RINGS = 6  # rings computed at build around every cell among the caregivers
MAX_FOOTPRINT_CELLS = 300_000  # cells whose geometry is computed at build (32 bytes each)
MAX_CACHED_RING_MEMBERS = 8_000_000  # kept rings (4 bytes a member); dropped and rebuilt beyond
MAX_SERVICE_RADIUS_M = 200_000.0  # beyond this a radius is a data error; it also bounds every search


def chord2_of_metres(distance_m: float) -> float:
    """Squared chord (unit sphere) of a great-circle distance; monotone, so order is kept."""
    chord = 2.0 * math.sin(min(distance_m, math.pi * EARTH_MEAN_RADIUS_M) / (2.0 * EARTH_MEAN_RADIUS_M))
    return chord * chord


def metres_of_chord2(chord2: float) -> float:
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(chord2) / 2.0))


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


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
        """`prewarm` computes cell geometry and rings for the caregivers' area now (a second or two
        for a city) so that first searches there are as fast as later ones; without it they are
        computed on first use. Answers are the same either way."""
        self._levels = [_Level(resolution, max_rings) for resolution, max_rings in levels]
        self._records: list[Caregiver | None] = []  # by slot
        self._slot_of: dict[Hashable, int] = {}
        self._free: list[int] = []
        capacity = 1024
        # x, y, z, and the chord² the caregiver reaches now: their service radius, or −1 while
        # they are inactive or fully booked, so one comparison applies radius and capacity.
        self._points = np.zeros((capacity, 4))
        self._open = np.zeros(capacity, dtype=bool)  # active and load left
        self._provider_codes = np.zeros(capacity, dtype=np.int64)
        self._provider_code_of: dict[Hashable, int] = {}
        self._skill_masks: dict[str, np.ndarray] = {}
        self._max_radius_chord2: dict[str, float] = {}
        caregivers = list(caregivers)
        for caregiver in caregivers:
            _check(caregiver)
        if caregivers and prewarm:
            widest_m = max(c.service_radius_m for c in caregivers) + 5_000
            for level in self._levels:
                # Cells where queries come from first (so they get the low numbers prewarm covers),
                # then every cell a bound may need to measure.
                core = _footprint(caregivers, level.table.resolution, 1_000.0)
                level.table.add(core)
                level.table.add(_footprint(caregivers, level.table.resolution, widest_m))
                level.table.prewarm(len(core), level.prewarm_rings)
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
                level.bulk_insert(self._records)

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
            if slot >= len(self._open):
                self._grow(2 * len(self._open))
        radius_chord2 = chord2_of_metres(caregiver.service_radius_m)
        self._records[slot] = caregiver
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
        if k <= 0 or skill not in self._max_radius_chord2:
            return []
        query = _Query(self, lat, lon, max_distance_m, exclude_providers)
        # Nobody beyond this can qualify: their own radius would not reach the point.
        reach_chord2 = min(query.max_chord2, self._max_radius_chord2[skill])
        levels = self._levels
        for finer, coarser in zip(levels, [*levels[1:], None]):
            # The coarser cell around the point tells how dense caregivers with the skill are
            # here, so how far the k-th is likely to be: read that far at once, and where this
            # level would need more than its rings, start at the coarser level instead.
            around = coarser or finer
            count = around.count_in_cell(lat, lon, skill)
            expected_m = math.sqrt(2 * k * around.cell_area_m2 / (math.pi * count)) if count else math.inf
            if coarser is not None and expected_m > finer.max_rings * finer.step_m:
                continue
            found = finer.search(query, skill, k, reach_chord2, expected_m, last=coarser is None)
            if found is not None:
                chord2, slots, kth_chord2 = found
                return self._top(chord2, slots, k, kth_chord2) if chord2.size else []
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
        if chord2.size > k:
            # Keep every tie with the k-th distance: the id decides among them below.
            if kth_chord2 is None:
                kth_chord2 = float(np.partition(chord2, k - 1)[k - 1])
            keep = chord2 <= kth_chord2
            chord2, slots = chord2[keep], slots[keep]
        chosen = [self._records[s] for s in slots.tolist()]
        rows = sorted(zip(chord2.tolist(), [r.caregiver_id for r in chosen], chosen))
        diameter, asin, sqrt = 2.0 * EARTH_MEAN_RADIUS_M, math.asin, math.sqrt  # metres_of_chord2, inlined
        return [Candidate(cid, r.provider_id, diameter * asin(sqrt(c2) * 0.5)) for c2, cid, r in rows[:k]]


def _check(caregiver: Caregiver) -> None:
    if not (-90 <= caregiver.lat <= 90 and -180 <= caregiver.lon <= 180):
        raise ValueError(f"not a coordinate: ({caregiver.lat}, {caregiver.lon})")
    if not 0 <= caregiver.service_radius_m <= MAX_SERVICE_RADIUS_M:
        raise ValueError(f"service_radius_m must be within 0–{MAX_SERVICE_RADIUS_M:.0f}")


def _reach_chord2(caregiver: Caregiver) -> float:
    return chord2_of_metres(caregiver.service_radius_m) if caregiver.has_capacity else -1.0


class _Level:
    """One h3 resolution: per skill, the caregivers of each cell, and the ring search over them."""

    def __init__(self, resolution: int, max_rings: int) -> None:
        self.table = _CellTable(resolution)
        self.max_rings = max_rings
        self.prewarm_rings = min(max_rings + 1, PREWARM_RINGS)
        # Only used to guess how many rings to read next; correctness never depends on it.
        self.step_m = 1.5 * h3.average_hexagon_edge_length(resolution, unit="m")
        self.cell_area_m2 = h3.average_hexagon_area(resolution, unit="m^2")
        self.buckets: dict[str, dict[int, np.ndarray]] = {}  # skill → cell number → slots
        self.cell_of_slot: dict[int, int] = {}

    def count_in_cell(self, lat: float, lon: float, skill: str) -> int:
        """How many with the skill are bucketed in this level's cell around the point."""
        number = self.table.number_of.get(h3i.latlng_to_cell(lat, lon, self.table.resolution))
        bucket = self.buckets.get(skill, {}).get(number)  # type: ignore[arg-type]
        return 0 if bucket is None else len(bucket)

    def _place(self, slot: int, caregiver: Caregiver) -> int:
        cell = self.table.number(h3i.latlng_to_cell(caregiver.lat, caregiver.lon, self.table.resolution))
        self.cell_of_slot[slot] = cell
        return cell

    def bulk_insert(self, records: list[Caregiver | None]) -> None:
        grouped: dict[str, dict[int, list[int]]] = {}
        for slot, caregiver in enumerate(records):
            if caregiver is not None:
                cell = self._place(slot, caregiver)
                for skill in caregiver.skills:
                    grouped.setdefault(skill, {}).setdefault(cell, []).append(slot)
        for skill, cells in grouped.items():
            self.buckets[skill] = {cell: np.array(slots, dtype=np.int64) for cell, slots in cells.items()}

    def insert(self, slot: int, caregiver: Caregiver) -> None:
        cell = self._place(slot, caregiver)
        for skill in caregiver.skills:
            bucket = self.buckets.setdefault(skill, {})
            old = bucket.get(cell)
            bucket[cell] = np.array([slot], dtype=np.int64) if old is None else np.append(old, slot)

    def remove(self, slot: int, caregiver: Caregiver) -> None:
        cell = self.cell_of_slot.pop(slot)
        for skill in caregiver.skills:
            bucket = self.buckets[skill]
            rest = bucket[cell][bucket[cell] != slot]
            if rest.size:
                bucket[cell] = rest
            else:
                del bucket[cell]

    def search(
        self, query: _Query, skill: str, k: int, reach_chord2: float, expected_m: float, *, last: bool
    ) -> tuple[np.ndarray, np.ndarray, float | None] | None:
        """(chord², slot) of every qualified caregiver read, a superset of the top k, and the k-th
        chord² if known; None when it would take more than `max_rings` rings here (the next
        level is cheaper)."""
        buckets = self.buckets.get(skill, {})
        table, step_m = self.table, self.step_m
        max_rings = math.inf if last else self.max_rings
        reach_m = metres_of_chord2(reach_chord2)
        origin = table.number(h3i.latlng_to_cell(query.lat, query.lon, table.resolution))
        found_chord2: list[np.ndarray] = []
        found_slots: list[np.ndarray] = []
        found = 0
        kth_chord2: float | None = None  # k-th smallest of what was found, once known
        searched = -1  # rings 0..searched have been read
        # Read at once as far as the k-th probably is (at least ring 1: the query's own cell alone
        # rarely proves anything), but not past anyone's reach.
        guess = 1 if expected_m == math.inf else math.ceil(min(expected_m, reach_m) / step_m)
        target = min(max(1, guess), max_rings)
        while True:
            if target > max_rings:
                return None
            parts: list[np.ndarray] = []
            raw = 0
            while searched < target:
                searched += 1
                new_parts = [bucket for bucket in map(buckets.get, table.ring(origin, searched)) if bucket is not None]
                parts += new_parts
                raw += sum(map(len, new_parts))
                # Plainly too few to fill k (about half fail the other filters): read on before
                # paying for distances, unless that would go past anyone's reach.
                if searched == target < max_rings and found + raw // 2 < k and searched * step_m < reach_m:
                    target += 1
            if parts:
                chord2, slots = query.qualified(np.concatenate(parts) if len(parts) > 1 else parts[0])
                if slots.size:
                    found_chord2.append(chord2)
                    found_slots.append(slots)
                    found += slots.size
                    kth_chord2 = None
            bound_m = table.bound_m(origin, searched, query.centre)
            bound_chord2 = chord2_of_metres(max(bound_m, 0.0))
            if bound_chord2 > reach_chord2:
                break
            if found >= k:
                if len(found_chord2) > 1:
                    found_chord2, found_slots = [np.concatenate(found_chord2)], [np.concatenate(found_slots)]
                kth_chord2 = float(np.partition(found_chord2[0], k - 1)[k - 1])
                if bound_chord2 > kth_chord2:
                    break
                shortfall_m = metres_of_chord2(kth_chord2) - bound_m
            else:
                # Too few so far: grow the searched area in proportion to what is missing.
                reached_m = max(bound_m, step_m)
                shortfall_m = reached_m * (math.sqrt(k / found) - 1.0) if found else reached_m
            shortfall_m = min(shortfall_m, reach_m - bound_m)
            target = searched + max(1, math.ceil(shortfall_m / step_m))
        if not found:
            return np.empty(0), np.empty(0, dtype=np.int64), None
        return np.concatenate(found_chord2), np.concatenate(found_slots), kth_chord2


class _CellTable:
    """Every h3 cell a level has met, numbered densely, with its geometry and its rings.

    Geometry is a centre (unit vector) and the largest circumradius, computed in batches (all
    cells within reach of a caregiver at build time, any other when first met). Rings are kept
    per origin cell as arrays of cell numbers, so a warm search makes no h3 call beyond
    locating the query point.
    """

    def __init__(self, resolution: int) -> None:
        self.resolution = resolution
        self.number_of: dict[int, int] = {}
        self.cells: list[int] = []  # by number
        self.centres = np.zeros((0, 3))  # unit vectors, by number (rows past len(cells) unused)
        self.max_circumradius_m = 0.0
        self._rings: dict[int, list[array]] = {}
        self._ring_members = 0

    def number(self, cell: int) -> int:
        number = self.number_of.get(cell)
        if number is None:
            self.add([cell])
            number = self.number_of[cell]
        return number

    def add(self, cells: Iterable[int]) -> None:
        cells = [c for c in dict.fromkeys(cells) if c not in self.number_of]
        if not cells:
            return
        centres = _unit_vectors(np.array([h3i.cell_to_latlng(c) for c in cells]))
        boundaries = [h3i.cell_to_boundary(c) for c in cells]
        width = max(len(b) for b in boundaries)  # 6, more where a cell crosses an icosahedron edge
        vertices = _unit_vectors(np.array([b + (b[-1],) * (width - len(b)) for b in boundaries]))
        farthest_chord2 = ((vertices - centres[:, None, :]) ** 2).sum(axis=-1).max(axis=1)
        # Boundary edges are great-circle arcs, so the farthest boundary point is a vertex; the
        # margin absorbs rounding in h3's own point-in-cell assignment.
        circumradii = 2 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(farthest_chord2) / 2) * 1.001 + 0.5
        first = len(self.cells)
        if first + len(cells) > len(self.centres):  # grow by doubling: cells arrive a ring at a time
            grown = np.zeros((max(2 * len(self.centres), first + len(cells), 1024), 3))
            grown[:first] = self.centres[:first]
            self.centres = grown
        self.centres[first : first + len(cells)] = centres
        self.number_of.update((cell, first + i) for i, cell in enumerate(cells))
        self.cells.extend(cells)
        # One radius for all: cells of one resolution differ by a few per cent across a city,
        # and a single number keeps the bound to one array pass.
        self.max_circumradius_m = max(self.max_circumradius_m, float(circumradii.max()))

    def ring(self, origin: int, k: int) -> array:
        """Numbers of the cells at grid distance k from cell number `origin`."""
        rings = self._rings.get(origin)
        if rings is None:
            if self._ring_members > MAX_CACHED_RING_MEMBERS:
                self._rings.clear()  # crude but bounded; rebuilt from h3 on demand
                self._ring_members = 0
            rings = self._rings[origin] = [array("i", [origin])]
        while len(rings) <= k:
            cells = _ring(self.cells[origin], len(rings))
            try:
                numbers = array("i", [self.number_of[c] for c in cells])
            except KeyError:  # outside the footprint: first time here
                self.add(cells)
                numbers = array("i", [self.number_of[c] for c in cells])
            rings.append(numbers)
            self._ring_members += len(cells)
        return rings[k]

    def prewarm(self, origins: int, max_ring: int) -> None:
        """Compute rings 0..max_ring around cell numbers 0..origins-1 now rather than mid-search."""
        for origin in range(origins):
            self.ring(origin, max_ring)

    def bound_m(self, origin: int, searched: int, centre: np.ndarray) -> float:
        """lb(searched): no point outside disc `searched` is closer than this (module doc)."""
        ring = self.ring(origin, searched + 1)  # first: it may add cells and so replace `centres`
        delta = self.centres[np.asarray(ring)] - centre
        delta *= delta
        nearest_chord2 = float((delta[:, 0] + delta[:, 1] + delta[:, 2]).min())
        return metres_of_chord2(nearest_chord2) - self.max_circumradius_m


def _unit_vectors(latlng: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(latlng[..., 0]), np.radians(latlng[..., 1])
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def _ring(origin: int, k: int) -> list[int]:
    if k == 0:
        return [origin]
    try:
        return h3i.grid_ring(origin, k)
    except h3.H3BaseException:  # near one of the 12 pentagons (none in China): take it the slow way
        return list(set(h3i.grid_disk(origin, k)) - set(h3i.grid_disk(origin, k - 1)))


def _footprint(caregivers: list[Caregiver], resolution: int, margin_m: float) -> list[int]:
    """The cells of the caregivers' bounding box widened by `margin_m` (none if huge)."""
    margin = margin_m / 111_000
    south, north = min(c.lat for c in caregivers) - margin, max(c.lat for c in caregivers) + margin
    lon_margin = margin / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.05)
    west, east = min(c.lon for c in caregivers) - lon_margin, max(c.lon for c in caregivers) + lon_margin
    box_m2 = (north - south) * (east - west) * 111_000**2 * math.cos(math.radians((north + south) / 2))
    if box_m2 / h3.average_hexagon_area(resolution, unit="m^2") > MAX_FOOTPRINT_CELLS or south < -85 or north > 85:
        return []  # a country-wide index: cells are met lazily instead
    box = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    try:
        return [h3.str_to_int(c) for c in h3.h3shape_to_cells(box, resolution)]
    except h3.H3BaseException:  # prewarming is an optimisation: on any doubt, leave it to first use
        return []


class _Query:
    """One request's point and filters, applied identically by both search paths."""

    __slots__ = ("index", "lat", "lon", "centre", "max_chord2", "excluded_codes")

    def __init__(
        self, index: CaregiverIndex, lat: float, lon: float, max_distance_m: float | None, exclude: Iterable[Hashable]
    ) -> None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"not a coordinate: ({lat}, {lon})")
        self.index, self.lat, self.lon = index, lat, lon
        self.centre = np.array(unit_vector(lat, lon))
        self.max_chord2 = math.inf if max_distance_m is None else chord2_of_metres(max_distance_m)
        codes = index._provider_code_of
        self.excluded_codes = sorted({codes[p] for p in exclude if p in codes}) if exclude else []

    def qualified(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(chord², slot) of the qualified caregivers among `slots`."""
        index = self.index
        points = index._points[slots]
        delta = points[:, :3] - self.centre
        delta *= delta
        chord2 = delta[:, 0] + delta[:, 1] + delta[:, 2]
        keep = chord2 <= points[:, 3]  # inside their radius, and open (else −1)
        if self.max_chord2 != math.inf:
            keep &= chord2 <= self.max_chord2
        if self.excluded_codes:
            providers = index._provider_codes[slots]
            if len(self.excluded_codes) <= 4:  # a re-dispatch excludes a few; comparisons beat isin
                for code in self.excluded_codes:
                    keep &= providers != code
            else:
                keep &= ~np.isin(providers, self.excluded_codes)
        return chord2[keep], slots[keep]


# ---- ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How candidates are ranked; loaded from settings so the bureau can tune them without a release.

    Each part is scaled to 0–1 (1 is best) and the total is the weighted mean of the parts.
    Distance leads because travel time is the elder's wait and the caregiver's unpaid time;
    rating and continuity reward good and familiar care; load spreads work across caregivers.
    """

    distance: float = 0.5
    rating: float = 0.2
    load: float = 0.15
    continuity: float = 0.15
    distance_half_m: float = 2_000.0  # the distance part is 0.5 here, 1 at the door, → 0 far away
    rating_prior: float = 4.0  # an unrated caregiver counts as rated this …
    rating_prior_count: int = 5  # … this many times, so one 5-star review does not top the list

    def __post_init__(self) -> None:
        weights = (self.distance, self.rating, self.load, self.continuity)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        if self.distance_half_m <= 0 or not 1 <= self.rating_prior <= 5 or self.rating_prior_count < 0:
            raise ValueError("distance_half_m must be positive, rating_prior within 1–5")


class MatchScore(NamedTuple):
    total: float  # 0–1
    parts: dict[str, float]  # each 0–1, for "why this caregiver"
    contributions: dict[str, float]  # weight share × part; they add up to `total`


def match_score(
    distance_m: float,
    rating: float | None,
    load_ratio: float,
    *,
    rating_count: int = 0,
    served_before: bool = False,
    weights: ScoreWeights = ScoreWeights(),
) -> MatchScore:
    """Score one candidate. `rating` is the 1–5 average over `rating_count` reviews (None: unrated);
    `load_ratio` is today's load / daily limit; `served_before`: this caregiver served the elder."""
    if distance_m < 0:
        raise ValueError("distance_m must not be negative")
    count = rating_count if rating is not None else 0
    if weights.rating_prior_count + count == 0:
        average = weights.rating_prior
    else:
        average = (weights.rating_prior * weights.rating_prior_count + (rating or 0.0) * count) / (
            weights.rating_prior_count + count
        )
    parts = {
        "distance": 1.0 / (1.0 + distance_m / weights.distance_half_m),
        "rating": min(max((average - 1.0) / 4.0, 0.0), 1.0),
        "load": 1.0 - min(max(load_ratio, 0.0), 1.0),
        "continuity": 1.0 if served_before else 0.0,
    }
    total_weight = weights.distance + weights.rating + weights.load + weights.continuity
    contributions = {name: getattr(weights, name) / total_weight * part for name, part in parts.items()}
    return MatchScore(sum(contributions.values()), parts, contributions)
