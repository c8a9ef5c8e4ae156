"""The h3 side of the nearest-qualified search: one resolution's table of cells (dense cell
numbers, centres, the largest circumradius, the grid locating query points) and, per origin cell,
its rings 0..K as one array of cell numbers with the least distance to each ring (`Rings`).

The exactness argument that uses them is in `caregiver_index`'s module doc, the search in
`ring_search`, the geometry in `geodesy`. Everything a search from the caregivers' area needs is
computed at build (`prewarm`): no h3 call, no new array kept, on a search there.
"""
from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Iterable

import h3
import numpy as np
from h3.api import basic_int as h3i

from services.providers.nearest.rules.geodesy import EARTH_MEAN_RADIUS_M, metres_of_chord2, unit_vectors

if TYPE_CHECKING:
    from services.providers.nearest.rules.caregiver_index import Caregiver

GRID_SIDE_EDGES = 0.5  # the side of the locating grid's squares, in cell edges (see CellTable)
MAX_GRID_SQUARES = 2_000_000  # 8 MB, and a second or so to build
MAX_FOOTPRINT_CELLS = 300_000  # cells whose geometry is computed at build (32 bytes each)
MAX_KEPT_RING_CELLS = 8_000_000  # ring members kept (4 bytes each); all dropped and rebuilt beyond


class Rings:
    """The cells around one origin cell, nearest rings first: `cells[:ends[k]]` are the numbers of
    rings 0..k (one array, so a search reads any disc of rings as one slice), and `gaps[k]` is the
    least distance in metres from the origin's centre to a centre of ring k."""

    __slots__ = ("cells", "ends", "gaps")

    def __init__(self, cells: np.ndarray, ends: list[int], gaps: list[float]) -> None:
        self.cells = cells
        self.ends = ends
        self.gaps = gaps


class CellTable:
    """Every h3 cell a level has met, numbered densely, with its geometry and its rings.

    Geometry is a centre (unit vector) and the largest circumradius, computed in batches (all
    cells within reach of a caregiver at build time, any other when first met). Rings are kept
    per origin cell (`Rings`), so a search makes no h3 call where they were computed.
    """

    def __init__(self, resolution: int) -> None:
        self.resolution = resolution
        self.number_of: dict[int, int] = {}
        self.cells: list[int] = []  # by number
        self.centres = np.zeros((0, 3))  # unit vectors, by number (rows past len(cells) unused)
        self._centre_floats = memoryview(self.centres)  # the same, read as Python floats
        self.max_circumradius_m = 0.0
        self._around: dict[int, Rings] = {}  # by origin cell number
        self._kept_ring_cells = 0
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
            self.centres, self._centre_floats = grown, memoryview(grown)
        self.centres[first : first + len(cells)] = centres
        self.number_of.update((cell, first + i) for i, cell in enumerate(cells))
        self.cells.extend(cells)
        # One radius for all: cells of one resolution differ by a few per cent across a city,
        # and a single number keeps the bound to one comparison.
        self.max_circumradius_m = max(self.max_circumradius_m, float(circumradii.max()))

    def around(self, origin: int, k: int) -> Rings:
        """Rings 0..k (at least) around cell number `origin`, with their gaps; kept."""
        rings = self._around.get(origin)
        if rings is not None and len(rings.ends) > k:
            return rings
        if rings is None:
            if self._kept_ring_cells > MAX_KEPT_RING_CELLS:
                self._around.clear()  # crude but bounded; rebuilt from h3 on demand
                self._kept_ring_cells = 0
            rings = self._around[origin] = Rings(np.array([origin], dtype=np.int32), [1], [0.0])
        parts, centre = [rings.cells], self.centres[origin]
        while len(rings.ends) <= k:
            numbers = self._numbers(ring_cells(self.cells[origin], len(rings.ends)))
            delta = self.centres.take(numbers, axis=0)
            delta -= centre
            delta *= delta
            parts.append(numbers)
            rings.ends.append(rings.ends[-1] + len(numbers))
            rings.gaps.append(metres_of_chord2(float((delta[:, 0] + delta[:, 1] + delta[:, 2]).min())))
            self._kept_ring_cells += len(numbers)
        rings.cells = np.concatenate(parts)
        return rings

    def _numbers(self, cells: list[int]) -> np.ndarray:
        try:
            numbers = [self.number_of[c] for c in cells]
        except KeyError:  # outside the footprint: first time here
            self.add(cells)
            numbers = [self.number_of[c] for c in cells]
        return np.array(numbers, dtype=np.int32)

    def prewarm(self, origins: int, max_ring: int) -> None:
        """Rings 0..max_ring around cell numbers 0..origins-1, and their gaps, now rather than
        mid-search: the gaps a ring index at a time for all origins at once (what `around` would
        compute one by one)."""
        todo = [o for o in range(origins) if o not in self._around]
        if not todo:
            return
        rings_of = {o: [np.array([o], dtype=np.int32)] for o in todo}
        for ring in range(1, max_ring + 1):
            for origin in todo:
                rings_of[origin].append(self._numbers(ring_cells(self.cells[origin], ring)))
        gaps_of = {o: [0.0] for o in todo}
        for ring in range(1, max_ring + 1):
            parts = [rings_of[o][ring] for o in todo]
            lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
            delta = self.centres[np.concatenate(parts)] if parts else np.zeros((0, 3))
            delta -= self.centres[np.repeat(todo, lengths)]
            delta *= delta
            starts = np.cumsum(lengths) - lengths
            nearest_chord2 = np.minimum.reduceat(delta[:, 0] + delta[:, 1] + delta[:, 2], starts) if parts else []
            for origin, chord2 in zip(todo, np.asarray(nearest_chord2).tolist()):
                gaps_of[origin].append(metres_of_chord2(chord2))
        for origin in todo:
            parts = rings_of[origin]
            ends = np.cumsum([len(p) for p in parts]).tolist()
            self._around[origin] = Rings(np.concatenate(parts), ends, gaps_of[origin])
            self._kept_ring_cells += ends[-1]

    def offset_m(self, origin: int, point: tuple[float, float, float]) -> float:
        """Metres from the centre of cell number `origin` to the point (a unit vector)."""
        centres = self._centre_floats
        x, y, z = centres[origin, 0], centres[origin, 1], centres[origin, 2]
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
