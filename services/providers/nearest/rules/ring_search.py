"""One h3 resolution of the nearest-qualified search (`RingLevel`): per skill, the caregivers of
each cell (`cell_lists`) and, for every cell within reach of them, the nearest-first list around it
(`discs`), both built with the index; and the search over them.

The exactness argument is in `caregiver_index`'s module doc; the cells and their rings are in
`cell_rings`. A search reads the list of the cell at the point (its head, as far as the k-th found
needs) and keeps nothing: the first search from a cell costs what later ones do (issue 27). Where
no list serves (cells outside the caregivers' area, lists made stale by updates, and searches
reaching past the list on the last level), it reads the cells ring by ring instead: as exact,
slower (≈ 60 µs against 40 at the benchmark's p50), and rare.
"""
from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from typing import TYPE_CHECKING

import h3
import numpy as np
from h3.api import basic_int as h3i

from services.providers.nearest.rules.cell_lists import NO_SLOTS, CellLists
from services.providers.nearest.rules.cell_rings import CellTable
from services.providers.nearest.rules.discs import MAX_DISC_RINGS, DiscLists, build_disc_lists
from services.providers.nearest.rules.geodesy import metres_of_chord2

if TYPE_CHECKING:
    from services.providers.nearest.rules.caregiver_index import Caregiver, _Query

# (chord², slot) of the qualified read, the k-th chord², and how near the point anyone unread may
# be (metres: what the search stopped on)
Found = tuple[np.ndarray, np.ndarray, "float | None", float]
_NONE_FOUND: Found = (np.empty(0), NO_SLOTS, None, math.inf)
PREWARM_RINGS = 6  # rings computed at build around every cell of the caregivers' area
MARGIN_M = 0.5  # added to distances bounding what is unread: far above their rounding errors
# The ring search's first round reads out to this many times where the k-th probably is: the
# filters (load, own radius, excluded providers) turn some away, and a second round costs more
# than reading a ring further at once.
READ_AHEAD = 1.5
# A list's head, read at once, runs out to where this many times k are listed (about four in five
# qualify); a list shorter than that sends the search a level up where there is one.
HEAD_LISTED = 3
# Where a cell holds fewer than k with the skill, its density is estimated over the rings around it
# out to this many (a search of a rare skill in the countryside would otherwise start from nothing).
DENSITY_RINGS = 2


class RingLevel:
    """One h3 resolution: per skill, the caregivers of each cell and the lists around each cell,
    and the search over them."""

    def __init__(self, resolution: int, max_rings: int) -> None:
        self.table = CellTable(resolution)
        self.max_rings = max(1, max_rings)  # a search reads ring 1 at least (its origin may be a neighbour)
        self.disc_rings = min(self.max_rings, MAX_DISC_RINGS)
        self.prewarm_rings = min(self.max_rings + 1, PREWARM_RINGS)
        # Only used to guess how far to read; correctness never depends on them.
        self.step_m = 1.5 * h3.average_hexagon_edge_length(resolution, unit="m")
        self.cell_area_m2 = h3.average_hexagon_area(resolution, unit="m^2")
        self.lists: dict[str, CellLists] = {}  # by skill
        self.discs: dict[str, DiscLists] = {}  # by skill
        # By skill, per cell number: how many have the skill in the cell, in rings 0..1 and in rings
        # 0..2 around it (n_cells × 3, int32; read as Python ints): the density deciding where to read.
        self.counts: dict[str, np.ndarray] = {}
        self._counts_ints: dict[str, memoryview] = {}
        # By origin: the least distance from its centre to ring disc_rings + 1 (the lists are
        # complete to that less the largest circumradius); NaN where no list was built.
        self.disc_gap_m = np.empty(0)
        self._disc_gaps = memoryview(self.disc_gap_m)
        self._cell_of_slot = array("i")  # by slot; -1 for a free slot
        # How far from a point, roughly, a search here reads before it would do better a level up
        # (set with the lists; only decides where to search, never the answer).
        self.reach_m = self.max_rings * self.step_m / 2

    def expected_kth_m(self, query: _Query, skill: str, k: int) -> float:
        """Roughly how far the k-th with the skill is from the point: from how many have it in this
        level's cell at the point, or, where that is fewer than k, in rings 0..1 or 0..2 around it;
        inf if nobody there. Only decides where to read, never the answer."""
        counts = self._counts_ints.get(skill)
        if counts is None:
            return math.inf
        origin = self.table.locate(query.lat, query.lon)  # `query.origin`, inlined: per search
        if origin >= len(counts):  # outside the area counted at build
            return math.inf
        count, cells = counts[origin, 0], 1
        if count < k:
            count, cells = counts[origin, 1], 7
            if count < k:
                count, cells = counts[origin, 2], 19
        return math.sqrt(2 * k * cells * self.cell_area_m2 / (math.pi * count)) if count else math.inf

    # ---- building and updating ------------------------------------------------------------------

    def _place(self, slot: int, caregiver: Caregiver) -> int:
        cell = self.table.number(h3i.latlng_to_cell(caregiver.lat, caregiver.lon, self.table.resolution))
        if slot >= len(self._cell_of_slot):
            self._cell_of_slot.extend([-1] * (slot + 1 - len(self._cell_of_slot)))
        self._cell_of_slot[slot] = cell
        return cell

    def bulk_insert(self, records: list[Caregiver | None], points: np.ndarray, origins: int) -> None:
        """Every caregiver, then the lists around cell numbers 0..origins-1 (the caregivers' area,
        where queries come from) and around every cell holding one."""
        grouped: dict[str, tuple[array, array]] = {}  # skill → (cells, slots)
        for slot, caregiver in enumerate(records):
            if caregiver is not None:
                cell = self._place(slot, caregiver)
                for skill in caregiver.skills:
                    cells, slots = grouped.setdefault(skill, (array("i"), array("i")))
                    cells.append(cell)
                    slots.append(slot)
        table, rings = self.table, self.disc_rings
        held = np.unique(np.frombuffer(b"".join(cells for cells, _ in grouped.values()), dtype=np.int32))
        # The cells whose lists may hold caregivers of `held` (within `rings` of one), and those of
        # the caregivers' area.
        rows = self._rows_around(held, rings)
        wanted = set(range(origins)).union(rows[rows >= 0].tolist())
        gap_m = np.full(len(table.cells), np.nan)
        for origin in wanted:
            gap_m[origin] = table.around(origin, rings + 1).gaps[rings + 1]
        n_cells = len(table.cells)  # rings may have met new cells
        around = np.full((n_cells, rows.shape[1]), -1, dtype=np.int32)
        around[held] = rows
        self.disc_gap_m = np.full(n_cells, np.nan)
        self.disc_gap_m[: len(gap_m)] = gap_m
        self._disc_gaps = memoryview(self.disc_gap_m)
        listed_m = self.disc_gap_m - table.max_circumradius_m
        if wanted:  # from a typical point: the lists' radius less its distance from the centre
            lists_reach_m = float(np.nanmedian(listed_m)) - 0.6 * table.max_circumradius_m
            self.reach_m = lists_reach_m if self.max_rings <= self.disc_rings else max(self.reach_m, lists_reach_m)
        density_rows = self._rows_around(held, DENSITY_RINGS)
        self.lists, self.discs, self.counts, self._counts_ints = {}, {}, {}, {}
        for skill, (cells, slots) in grouped.items():
            lists = self.lists[skill] = CellLists(
                np.frombuffer(cells, dtype=np.int32), np.frombuffer(slots, dtype=np.int32), n_cells
            )
            self.discs[skill] = build_disc_lists(lists, points, table.centres, around, listed_m)
            counts = self.counts[skill] = np.zeros((n_cells, 3), dtype=np.int32)
            in_cell = np.diff(lists.starts)
            counts[:, 0] = in_cell
            for column, width in ((1, 7), (2, density_rows.shape[1])):  # rings 0..1 are the first 7
                rows = density_rows[:, :width]
                weights = np.repeat(in_cell.take(held), width).reshape(rows.shape)[rows >= 0]
                counts[:, column] = np.bincount(rows[rows >= 0], weights=weights, minlength=n_cells)[:n_cells]
            self._counts_ints[skill] = memoryview(counts)

    def _rows_around(self, cells: np.ndarray, rings: int) -> np.ndarray:
        """The numbers of the cells of rings 0..rings around each of `cells`, one row each, nearest
        rings first (−1 after the last where a row is short: near one of h3's pentagons)."""
        table = self.table
        found = [table.around(cell, rings) for cell in cells.tolist()]
        found = [around.cells[: around.ends[rings]] for around in found]
        rows = np.full((len(found), max([1 + 3 * rings * (rings + 1), *map(len, found)])), -1, dtype=np.int32)
        for row, cells_around in zip(rows, found):
            row[: len(cells_around)] = cells_around
        return rows

    def insert(self, slot: int, caregiver: Caregiver) -> None:
        cell = self._place(slot, caregiver)
        for skill in caregiver.skills:
            lists = self.lists.get(skill)
            if lists is None:
                lists = self.lists[skill] = CellLists(NO_SLOTS, NO_SLOTS, len(self.table.cells))
            lists.insert(cell, slot)
        self._mark_stale(cell, caregiver.skills, 1)

    def remove(self, slot: int, caregiver: Caregiver) -> None:
        cell = self._cell_of_slot[slot]
        self._cell_of_slot[slot] = -1
        for skill in caregiver.skills:
            self.lists[skill].remove(cell, slot)
        self._mark_stale(cell, caregiver.skills, -1)

    def _mark_stale(self, cell: int, skills: frozenset[str], added: int) -> None:
        """The lists that may hold someone in `cell` no longer tell the truth about it; the counts
        around it change by `added`."""
        around = self.table.around(cell, max(self.disc_rings, DENSITY_RINGS))
        origins = around.cells[: around.ends[self.disc_rings]].tolist()
        for skill in skills:
            counts = self.counts.get(skill)
            if counts is not None:
                for column, ring in enumerate((0, 1, 2)):
                    near = around.cells[: around.ends[ring]]
                    counts[near[near < len(counts)], column] += added
            discs = self.discs.get(skill)
            if discs is not None:
                stale = discs.stale
                for origin in origins:
                    if origin < len(stale):
                        stale[origin] = 1

    # ---- search ---------------------------------------------------------------------------------

    def search(
        self, query: _Query, skill: str, k: int, reach_chord2: float, expected_m: float, *, last: bool
    ) -> Found | None:
        """(chord², slot) of every qualified caregiver read, a superset of the top k, and the k-th
        chord² if known; None when it would take more than `max_rings` rings here (the next
        level is cheaper). The exactness argument is in the module doc of `caregiver_index`."""
        lists = self.lists.get(skill)
        if lists is None or not lists.slots.size:  # nobody with the skill (every level holds the same)
            return _NONE_FOUND
        table = self.table
        origin = table.locate(query.lat, query.lon)  # the point's cell or a neighbour: either way
        reach_m = metres_of_chord2(reach_chord2)
        # Anyone at d from the origin's centre is at least d − slack from the point (the margin
        # covers rounding in the distances compared).
        slack_m = table.offset_m(origin, query.xyz) + MARGIN_M
        discs = self.discs.get(skill)
        if discs is not None and origin < len(discs.stale) and not discs.stale[origin]:  # `serves`, inlined
            gap_m = self._disc_gaps[origin]
            if gap_m == gap_m:  # not NaN: a list was built for the cell
                complete_m = gap_m - table.max_circumradius_m
                next_level = not last and self.max_rings <= self.disc_rings
                if next_level and discs.listed(origin) < HEAD_LISTED * k and complete_m - slack_m <= reach_m:
                    # A short list: once load, radii and the point's offset turn some away, the
                    # k-th is often beyond it, and a search that runs out of list costs a second
                    # one a level up (1 % of searches, the slowest); go there at once.
                    return None
                found = _read_disc(discs, origin, complete_m, query, k, reach_m, slack_m, self.step_m)
                if found is not None:
                    return found
                if next_level:
                    return None  # beyond the list: the next level reads further for less
        return self._read_rings(lists, origin, query, k, reach_m, slack_m, expected_m, last)

    def _read_rings(
        self, lists: CellLists, origin: int, query: _Query, k: int, reach_m: float, slack_m: float,
        expected_m: float, last: bool,
    ) -> Found | None:
        """The search by the cells themselves, ring by ring (where no list serves): anyone
        outside rings 0..K is at least gaps[K+1] − the largest circumradius from the origin's
        centre, so at least that less `slack_m` from the point."""
        table = self.table
        circumradius_m = table.max_circumradius_m
        want_m = min(expected_m * READ_AHEAD, reach_m) if expected_m != math.inf else 0.0
        rings = self._rings_beyond(origin, want_m + slack_m + circumradius_m, 1, last)
        if rings is None:
            return None
        found_chord2: np.ndarray | None = None  # of everyone qualified read so far
        found_slots: np.ndarray | None = None
        found = read = 0
        while True:
            around = table.around(origin, rings + 1)
            end = around.ends[rings]
            if end > read:
                chord2, slots = query.qualified(lists.gather(around.cells[read:end]))
                if found_chord2 is None:
                    found_chord2, found_slots = chord2, slots
                elif chord2.size:
                    found_chord2 = np.concatenate((found_chord2, chord2))
                    found_slots = np.concatenate((found_slots, slots))  # type: ignore[arg-type]
                found = found_chord2.size
                read = end
            kth_chord2 = float(np.partition(found_chord2, k - 1)[k - 1]) if found >= k else None
            # Done once nobody unread can be nearer than the k-th found, or qualify at all.
            stop_m = reach_m if kth_chord2 is None else min(reach_m, metres_of_chord2(kth_chord2))
            unread_m = around.gaps[rings + 1] - circumradius_m - slack_m
            if unread_m > stop_m:
                break
            if kth_chord2 is None:
                # Too few so far: read further in proportion to what is missing.
                want_m = min(max(unread_m, self.step_m) * max(1.5, math.sqrt(k / found) if found else 2.0), reach_m)
            else:
                want_m = stop_m  # everyone who may be nearer than the k-th
            rings = self._rings_beyond(origin, want_m + slack_m + circumradius_m, rings + 1, last)
            if rings is None:
                return None
        return (found_chord2, found_slots, kth_chord2, unread_m) if found else _NONE_FOUND  # type: ignore[return-value]

    def _rings_beyond(self, origin: int, metres: float, at_least: int, last: bool) -> int | None:
        """The fewest rings K ≥ `at_least` around `origin` with everyone outside rings 0..K at least
        `metres` from its centre (ring K+1's gap exceeds it); None beyond `max_rings` unless this is
        the last level."""
        table, rings = self.table, at_least
        while True:
            if rings > self.max_rings and not last:
                return None
            gaps = table.around(origin, rings + 1).gaps
            while rings + 1 < len(gaps):
                if gaps[rings + 1] > metres:
                    return rings if rings <= self.max_rings or last else None
                rings += 1


def _read_disc(
    discs: DiscLists, origin: int, complete_m: float, query: _Query, k: int, reach_m: float, slack_m: float,
    step_m: float,
) -> Found | None:
    """The search through the origin's list: its head first, then as far as the k-th found needs;
    None if that is past where the list is complete."""
    starts, dist_m = discs.starts_ints, discs.dist_floats
    first, past = starts[origin], starts[origin + 1]
    # Read the head out to where 3k are listed (about four in five qualify, so the k-th is
    # probably nearer), seen from the point.
    want_m = min(dist_m[min(past, first + HEAD_LISTED * k) - 1] if past > first else 0.0, reach_m)
    end = bisect_right(dist_m, want_m + slack_m, first, past)
    found_chord2: np.ndarray | None = None  # of everyone qualified read so far
    found_slots: np.ndarray | None = None
    found, read = 0, first
    while True:
        if end > read:
            chord2, slots = query.qualified(discs.slots[read:end])
            if found:
                found_chord2 = np.concatenate((found_chord2, chord2))  # type: ignore[arg-type]
                found_slots = np.concatenate((found_slots, slots))  # type: ignore[arg-type]
            else:
                found_chord2, found_slots = chord2, slots
            found = found_chord2.size
            read = end
        kth_chord2 = _kth(found_chord2, k) if found >= k else None  # type: ignore[arg-type]
        # Done once nobody unread can be nearer than the k-th found or qualify.
        stop_m = reach_m if kth_chord2 is None else min(reach_m, metres_of_chord2(kth_chord2))
        unread_m = min(dist_m[read], complete_m) if read < past else complete_m
        if unread_m - slack_m > stop_m:
            break
        if kth_chord2 is None:
            # Too few so far: read further in proportion to what is missing.
            want_m = min(max(unread_m - slack_m, step_m) * max(1.5, math.sqrt(k / found) if found else 2.0), reach_m)
        else:
            want_m = stop_m  # everyone listed who may be nearer than the k-th
        if want_m + slack_m >= complete_m:
            return None
        end = bisect_right(dist_m, want_m + slack_m, read, past)
    return (found_chord2, found_slots, kth_chord2, unread_m - slack_m) if found else _NONE_FOUND  # type: ignore[return-value]


def _kth(chord2: np.ndarray, k: int) -> float:
    """The k-th smallest (np.partition without its Python-level wrapper: this is per search)."""
    part = chord2.copy()
    part.partition(k - 1)
    return float(part[k - 1])
