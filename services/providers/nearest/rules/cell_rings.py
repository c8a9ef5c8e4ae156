"""The h3 side of the nearest-qualified search: one resolution level's cell table (dense cell
numbers, centres, circumradii, cached rings and their gaps, the grid locating query points) and
the search over its buckets, through nearest-first lists per skill and cell (`discs`).

Split out of `caregiver_index.py` (which keeps the public API) so each module reads on its own; the
exactness argument is in `caregiver_index`'s module doc, the geometry in `geodesy`.

Most of a search's time is fixed cost, not the caregivers it reads, and in a service the index is
usually cold in the CPU caches (other work ran since the last request): so it makes no h3 call
in the caregivers' area, settles most bounds with a cached number instead of an array, and reads
one more ring at once where what it read says the k-th is probably beyond what the disc can prove.
"""
from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from typing import TYPE_CHECKING, Iterable

import h3
import numpy as np
from h3.api import basic_int as h3i

from services.providers.nearest.rules.discs import Disc, DiscCache, build_disc
from services.providers.nearest.rules.geodesy import EARTH_MEAN_RADIUS_M, metres_of_chord2, unit_vectors

if TYPE_CHECKING:
    from services.providers.nearest.rules.caregiver_index import Caregiver, _Query

_NONE_FOUND = (np.empty(0), np.empty(0, dtype=np.int64), None)  # as `RingLevel.search` returns
PREWARM_RINGS = 6  # rings computed at build around every cell among the caregivers
GRID_SIDE_EDGES = 0.5  # the side of the locating grid's squares, in cell edges (see CellTable)
MAX_GRID_SQUARES = 2_000_000  # 8 MB, and a second or so to build
MAX_FOOTPRINT_CELLS = 300_000  # cells whose geometry is computed at build (32 bytes each)
MAX_CACHED_RING_MEMBERS = 8_000_000  # kept rings (4 bytes a member); dropped and rebuilt beyond
MARGIN_M = 0.5  # added to distances bounding what is unread: far above their rounding errors


class RingLevel:
    """One h3 resolution: per skill, the caregivers of each cell, and the ring search over them."""

    def __init__(self, resolution: int, max_rings: int) -> None:
        self.table = CellTable(resolution)
        self.max_rings = max(1, max_rings)  # a search reads ring 1 at least (its origin may be a neighbour)
        self.prewarm_rings = min(max_rings + 1, PREWARM_RINGS)
        # Only used to guess how far to read; correctness never depends on it.
        self.step_m = 1.5 * h3.average_hexagon_edge_length(resolution, unit="m")
        self.cell_area_m2 = h3.average_hexagon_area(resolution, unit="m^2")
        self.buckets: dict[str, dict[int, np.ndarray]] = {}  # skill → cell number → slots
        self.cell_of_slot: dict[int, int] = {}
        self.discs = DiscCache()  # what searches read around each origin, nearest first (discs)

    def count_in_cell(self, query: _Query, skill: str) -> int:
        """How many with the skill are bucketed in this level's cell at the point (or next to it:
        an estimate of the density there)."""
        bucket = self.buckets.get(skill, {}).get(query.origin(self.table))
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
        self.discs.clear()
        for skill, cells in grouped.items():
            self.buckets[skill] = {cell: np.array(slots, dtype=np.int64) for cell, slots in cells.items()}

    def insert(self, slot: int, caregiver: Caregiver) -> None:
        cell = self._place(slot, caregiver)
        self.discs.forget(caregiver.skills)
        for skill in caregiver.skills:
            bucket = self.buckets.setdefault(skill, {})
            old = bucket.get(cell)
            bucket[cell] = np.array([slot], dtype=np.int64) if old is None else np.append(old, slot)

    def remove(self, slot: int, caregiver: Caregiver) -> None:
        cell = self.cell_of_slot.pop(slot)
        self.discs.forget(caregiver.skills)
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
        level is cheaper). The exactness argument is in the module doc of `caregiver_index`."""
        buckets = self.buckets.get(skill)
        if not buckets:  # nobody with the skill at all (every level holds the same caregivers)
            return _NONE_FOUND
        table = self.table
        origin = query.origin(table)  # the point's cell or a neighbour: either way
        reach_m = metres_of_chord2(reach_chord2)
        # Anyone at d from the origin's centre is at least d − slack from the point (the margin
        # covers rounding in the distances compared).
        slack_m = table.offset_m(origin, query.xyz) + MARGIN_M
        disc = self.discs.get(skill, origin)
        if disc is None:
            # Complete to where the k-th probably is, seen from anywhere in the cell (or a ring, if
            # nobody has the skill near: then it grows as the search needs).
            radius_m = min(expected_m, reach_m) if expected_m != math.inf else 0.0
            disc = self._disc(skill, origin, buckets, query, radius_m + table.max_circumradius_m, 1, last)
            if disc is None:
                return None
        dist_m, complete_m = disc.dist_m, disc.complete_m
        listed = len(dist_m)
        # Read the head of the list out to where 3k are listed (about four in five qualify, so the
        # k-th is probably nearer), seen from the point.
        want_m = min(dist_m[min(listed, 3 * k) - 1] if listed else 0.0, reach_m)
        end = bisect_right(dist_m, want_m + slack_m)
        found_chord2: np.ndarray | None = None  # of everyone qualified read so far
        found_slots: np.ndarray | None = None
        found = read = 0
        while True:
            if end > read:
                chord2, slots = query.qualified(disc.slots[read:end])
                if found:
                    found_chord2 = np.concatenate((found_chord2, chord2))  # type: ignore[arg-type]
                    found_slots = np.concatenate((found_slots, slots))  # type: ignore[arg-type]
                else:
                    found_chord2, found_slots = chord2, slots
                found = found_chord2.size
                read = end
            kth_chord2 = float(np.partition(found_chord2, k - 1)[k - 1]) if found >= k else None
            # Done once nobody unread can be nearer than the k-th found or qualify.
            stop_m = reach_m if kth_chord2 is None else min(reach_m, metres_of_chord2(kth_chord2))
            unread_m = dist_m[read] if read < listed and dist_m[read] < complete_m else complete_m
            if unread_m - slack_m > stop_m:
                break
            if kth_chord2 is None:
                # Too few so far: read further in proportion to what is missing.
                want_m = max(unread_m - slack_m, self.step_m) * max(1.5, math.sqrt(k / found) if found else 2.0)
                want_m = min(want_m, reach_m)
            else:
                want_m = stop_m  # everyone listed who may be nearer than the k-th
            if want_m + slack_m >= complete_m:  # beyond the disc: a bigger one, read from its start
                disc = self._disc(skill, origin, buckets, query, want_m + slack_m, disc.rings + 1, last)
                if disc is None:
                    return None
                dist_m, complete_m, listed = disc.dist_m, disc.complete_m, len(disc.dist_m)
                found_chord2 = found_slots = None
                found = read = 0
            end = bisect_right(dist_m, want_m + slack_m)
        return (found_chord2, found_slots, kth_chord2) if found else _NONE_FOUND  # type: ignore[return-value]

    def _disc(
        self, skill: str, origin: int, buckets: dict[int, np.ndarray], query: _Query, radius_m: float,
        rings: int, last: bool,
    ) -> Disc | None:
        """The list (`discs`) of at least `rings` rings around `origin`, complete beyond
        `radius_m`, now kept for the skill; None if that takes more than `max_rings` rings (and
        this is not the last level)."""
        table = self.table
        while True:
            if rings > self.max_rings and not last:
                return None
            cells = table.rings(origin, rings + 1)  # the one after separates the disc from the rest
            complete_m = table.gap_m(origin, rings + 1) - table.max_circumradius_m
            if complete_m > radius_m:
                break
            rings += 1
        parts = [bucket for ring in cells[: rings + 1] for bucket in map(buckets.get, ring) if bucket is not None]
        disc = build_disc(parts, query.index._points, table.centres[origin], complete_m, rings)
        self.discs.put(skill, origin, disc)
        return disc


class CellTable:
    """Every h3 cell a level has met, numbered densely, with its geometry and its rings.

    Geometry is a centre (unit vector) and the largest circumradius, computed in batches (all
    cells within reach of a caregiver at build time, any other when first met). Rings are kept
    per origin cell as arrays of cell numbers, with their gaps (the least distance between the
    origin's centre and the ring's), so a warm search makes no h3 call.
    """

    def __init__(self, resolution: int) -> None:
        self.resolution = resolution
        self.number_of: dict[int, int] = {}
        self.cells: list[int] = []  # by number
        self.centres = np.zeros((0, 3))  # unit vectors, by number (rows past len(cells) unused)
        self.max_circumradius_m = 0.0
        self._rings: dict[int, list[array]] = {}  # by origin cell number
        self._gaps: dict[int, array] = {}  # by origin, by ring: the least metres between its centre and the ring's
        self._ring_members = 0
        # Where query points are located without h3 (whose code, cold in the CPU caches, costs as
        # much as the rest of a search): a grid of squares over the caregivers' area, each holding
        # the number of the cell of its centre. A point is within 0.36 of an edge of its
        # square's centre, and two points less than an edge apart are in one cell or in two
        # adjacent ones; so the square's cell is the point's own or a neighbour, which is all a
        # search needs of its origin (module doc of `caregiver_index`).
        self._grid = array("i")
        self._grid_box = (0.0, 0.0, 0.0, 0.0, 0, 0)  # south, west, squares per degree lat/lon, rows, columns

    def build_grid(self, south: float, north: float, west: float, east: float) -> None:
        """The locating grid over a box (see `__init__`); beyond MAX_GRID_SQUARES, none."""
        side_m = GRID_SIDE_EDGES * h3.average_hexagon_edge_length(self.resolution, unit="m")
        per_lat = 111_195.0 / side_m  # squares per degree of latitude
        # … and of longitude, sized where a degree of longitude is longest: no square is wider
        nearest_equator = 0.0 if south < 0 < north else min(abs(south), abs(north))
        per_lon = per_lat * math.cos(math.radians(nearest_equator))
        rows, columns = math.ceil((north - south) * per_lat), math.ceil((east - west) * per_lon)
        if rows * columns > MAX_GRID_SQUARES:
            return
        lons = [west + (j + 0.5) / per_lon for j in range(columns)]
        locate, resolution, grid = h3i.latlng_to_cell, self.resolution, array("i")
        for row in range(rows):
            lat = south + (row + 0.5) / per_lat
            cells = [locate(lat, lon, resolution) for lon in lons]
            self.add(cells)
            grid.extend(map(self.number_of.__getitem__, cells))
        self._grid, self._grid_box = grid, (south, west, per_lat, per_lon, rows, columns)

    def locate(self, lat: float, lon: float) -> int:
        """The number of the cell holding the point, or of a neighbour of it."""
        south, west, per_lat, per_lon, rows, columns = self._grid_box
        row, column = (lat - south) * per_lat, (lon - west) * per_lon
        if 0.0 <= row < rows and 0.0 <= column < columns:
            return self._grid[int(row) * columns + int(column)]
        return self.number(h3i.latlng_to_cell(lat, lon, self.resolution))

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

    def rings(self, origin: int, k: int) -> list[array]:
        """Rings 0..k (at least) around cell number `origin`: numbers of the cells at each grid distance."""
        rings = self._rings.get(origin)
        if rings is None:
            if self._ring_members > MAX_CACHED_RING_MEMBERS:
                self._rings.clear()  # crude but bounded; rebuilt from h3 on demand
                self._gaps.clear()
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
        return rings

    def prewarm(self, origins: int, max_ring: int) -> None:
        """Compute rings 0..max_ring around cell numbers 0..origins-1, and their gaps, now rather
        than mid-search."""
        for origin in range(origins):
            self.rings(origin, max_ring)
        # The gaps a ring index at a time for all these origins at once (what `gap_m` would compute).
        todo = [o for o in range(origins) if len(self._rings.get(o, ())) > max_ring and o not in self._gaps]
        for origin in todo:
            self._gaps[origin] = array("d", [0.0])
        for k in range(1, max_ring + 1):
            rings = [self._rings[o][k] for o in todo]
            lengths = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
            delta = self.centres[np.frombuffer(b"".join(rings), dtype=np.int32)]
            delta -= self.centres[np.repeat(todo, lengths)]
            delta *= delta
            nearest_chord2 = np.minimum.reduceat(delta[:, 0] + delta[:, 1] + delta[:, 2], np.cumsum(lengths) - lengths)
            for origin, chord2 in zip(todo, nearest_chord2.tolist()):
                self._gaps[origin].append(metres_of_chord2(chord2))

    def gap_m(self, origin: int, k: int) -> float:
        """The least distance from the centre of cell number `origin` to a centre of its ring k
        (which `rings` has made), in metres; cached."""
        gaps = self._gaps.get(origin)
        if gaps is None:
            gaps = self._gaps[origin] = array("d", [0.0])
        while len(gaps) <= k:
            ring = self._rings[origin][len(gaps)]
            delta = self.centres.take(np.frombuffer(ring, dtype=np.int32), axis=0)
            delta -= self.centres[origin]
            delta *= delta
            gaps.append(metres_of_chord2(float((delta[:, 0] + delta[:, 1] + delta[:, 2]).min())))
        return gaps[k]

    def offset_m(self, origin: int, point: tuple[float, float, float]) -> float:
        """Metres from the centre of cell number `origin` to the point (a unit vector)."""
        x, y, z = self.centres[origin].tolist()
        return metres_of_chord2((x - point[0]) ** 2 + (y - point[1]) ** 2 + (z - point[2]) ** 2)


def ring_cells(origin: int, k: int) -> list[int]:
    if k == 0:
        return [origin]
    try:
        return h3i.grid_ring(origin, k)
    except h3.H3BaseException:  # near one of the 12 pentagons (none in China): take it the slow way
        return list(set(h3i.grid_disk(origin, k)) - set(h3i.grid_disk(origin, k - 1)))


def footprint_box(caregivers: list[Caregiver], margin_m: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of the caregivers, widened by `margin_m`."""
    margin = margin_m / 111_000
    lats, lons = [c.lat for c in caregivers], [c.lon for c in caregivers]
    south, north = min(lats) - margin, max(lats) + margin
    lon_margin = margin / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.05)
    return south, north, min(lons) - lon_margin, max(lons) + lon_margin


def footprint_cells(box: tuple[float, float, float, float], resolution: int) -> list[int]:
    """The cells of a box; none if there would be too many (a country-wide index: cells are met
    lazily instead)."""
    south, north, west, east = box
    box_m2 = (north - south) * (east - west) * 111_000**2 * math.cos(math.radians((north + south) / 2))
    if box_m2 / h3.average_hexagon_area(resolution, unit="m^2") > MAX_FOOTPRINT_CELLS or south < -85 or north > 85:
        return []
    polygon = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    try:
        return [h3.str_to_int(c) for c in h3.h3shape_to_cells(polygon, resolution)]
    except h3.H3BaseException:  # prewarming is an optimisation: on any doubt, leave it to first use
        return []
