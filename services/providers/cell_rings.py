"""The h3 side of the nearest-qualified search: one resolution level's cell table (dense cell
numbers, centres, circumradii, cached rings) and the ring-by-ring search over its buckets, plus the
sphere geometry both this module and `matching` share.

Split out of `matching.py` (which keeps the public API and re-exports the geometry) so each module
reads on its own; the exactness argument is in `matching`'s module doc.
"""
from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Iterable

import h3
import numpy as np
from h3.api import basic_int as h3i

if TYPE_CHECKING:
    from services.providers.matching import Caregiver, _Query

EARTH_MEAN_RADIUS_M = 6_371_008.8
PREWARM_RINGS = 6  # rings computed at build around every cell among the caregivers
MAX_FOOTPRINT_CELLS = 300_000  # cells whose geometry is computed at build (32 bytes each)
MAX_CACHED_RING_MEMBERS = 8_000_000  # kept rings (4 bytes a member); dropped and rebuilt beyond


def chord2_of_metres(distance_m: float) -> float:
    """Squared chord (unit sphere) of a great-circle distance; monotone, so order is kept."""
    chord = 2.0 * math.sin(min(distance_m, math.pi * EARTH_MEAN_RADIUS_M) / (2.0 * EARTH_MEAN_RADIUS_M))
    return chord * chord


def metres_of_chord2(chord2: float) -> float:
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(chord2) / 2.0))


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


class RingLevel:
    """One h3 resolution: per skill, the caregivers of each cell, and the ring search over them."""

    def __init__(self, resolution: int, max_rings: int) -> None:
        self.table = CellTable(resolution)
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


class CellTable:
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
        centres = unit_vectors(np.array([h3i.cell_to_latlng(c) for c in cells]))
        boundaries = [h3i.cell_to_boundary(c) for c in cells]
        width = max(len(b) for b in boundaries)  # 6, more where a cell crosses an icosahedron edge
        vertices = unit_vectors(np.array([b + (b[-1],) * (width - len(b)) for b in boundaries]))
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
            cells = ring_cells(self.cells[origin], len(rings))
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


def unit_vectors(latlng: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(latlng[..., 0]), np.radians(latlng[..., 1])
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def ring_cells(origin: int, k: int) -> list[int]:
    if k == 0:
        return [origin]
    try:
        return h3i.grid_ring(origin, k)
    except h3.H3BaseException:  # near one of the 12 pentagons (none in China): take it the slow way
        return list(set(h3i.grid_disk(origin, k)) - set(h3i.grid_disk(origin, k - 1)))


def footprint_cells(caregivers: list[Caregiver], resolution: int, margin_m: float) -> list[int]:
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
