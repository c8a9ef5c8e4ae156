"""Per skill and origin cell, everyone with the skill around the cell, nearest its centre first
(`DiscLists`), built for every cell at once with the index.

A search (`ring_search.RingLevel.search`) reads the caregivers with a skill around a cell o near the
query point, nearest first, and stops as soon as nobody unread can be nearer than the k-th it found
(module doc of `caregiver_index`). Sorting them by distance from o's centre is the same work for
every search from o, so it is done once, in bulk, for every cell within reach of a caregiver: the
list of o holds everyone with the skill in rings 0..R around o that is nearer o's centre than
gap(R+1) − the largest circumradius (everyone else is at least that far).

Issue 27: these lists used to be built by the first search from each cell and cached (≈ 50–700 µs
cold, in one first-pass query in five); built at start-up only for cells holding caregivers until a
cache bound, 92 of the first pass's 100 slowest queries still built one. Now every list exists
before the first search, in three arrays per skill and level (8 bytes a member, no Python object
per cell), and nothing is added to them by a search.

Updates (`stale`): a caregiver inserted or removed in cell c changes the lists of the cells within
R rings of c. They are marked stale, not rebuilt: a search from a stale cell reads the cells
themselves (`cell_lists`), exactly, at a few µs more. Load and `active` are read from the index at
each search, so they never make a list stale.
"""
from __future__ import annotations

import numpy as np

from services.providers.nearest.rules.cell_lists import CellLists
from services.providers.nearest.rules.geodesy import EARTH_MEAN_RADIUS_M

MAX_DISC_RINGS = 2  # rings a list covers at most: 19 cells, about 9 lists per caregiver and skill


class DiscLists:
    """For one skill at one level, per origin cell number o: the slots of everyone with the skill
    within the level's complete radius of o's centre, nearest first, `slots[starts[o]:starts[o+1]]`,
    and those distances in `dist_m` (metres as float32: within 2 mm at 30 km, far inside the 0.5 m
    margin a search allows). Cells numbered past `starts`, or `stale`, have no list."""

    __slots__ = ("slots", "dist_m", "starts", "stale", "starts_ints", "dist_floats")

    def __init__(self, slots: np.ndarray, dist_m: np.ndarray, starts: np.ndarray) -> None:
        self.slots, self.dist_m, self.starts = slots, dist_m, starts
        self.stale = bytearray(len(starts) - 1)  # by origin: 1 once an update may have changed its list
        # The same memory read as Python numbers: a search reads a few of them and bisects.
        self.starts_ints, self.dist_floats = memoryview(starts), memoryview(dist_m)

    def serves(self, origin: int) -> bool:
        return origin < len(self.stale) and not self.stale[origin]

    def listed(self, origin: int) -> int:
        return self.starts_ints[origin + 1] - self.starts_ints[origin]


def build_disc_lists(
    lists: CellLists, points: np.ndarray, centres: np.ndarray, around: np.ndarray, listed_m: np.ndarray
) -> DiscLists:
    """The lists of one skill. `around[c]`: the numbers of the cells within R rings of cell c (−1
    where fewer; rows only needed for cells holding caregivers); `listed_m[o]`: how far from o's
    centre o's list must be complete (NaN: no list for o). Rings are symmetric, so caregiver x
    in cell c belongs to the lists of the cells around c."""
    n_cells = len(listed_m)
    width = around.shape[1]
    origins = around.take(lists.cells(), axis=0).ravel()
    slots = np.repeat(lists.slots, width)
    keep = origins >= 0
    origins, slots = origins[keep], slots[keep]
    delta = points.take(slots, axis=0)[:, :3]
    delta -= centres.take(origins, axis=0)
    delta *= delta
    chord = np.sqrt(delta.sum(axis=1))
    metres = 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.minimum(chord * 0.5, 1.0))
    with np.errstate(invalid="ignore"):
        keep = metres < listed_m.take(origins)  # NaN (no list): never
    origins, slots, metres = origins[keep], slots[keep], metres[keep]
    order = np.lexsort((metres, origins))
    starts = np.zeros(n_cells + 1, dtype=np.int32)
    np.cumsum(np.bincount(origins, minlength=n_cells), out=starts[1:])
    return DiscLists(slots.take(order).astype(np.int32), metres.take(order).astype(np.float32), starts)
