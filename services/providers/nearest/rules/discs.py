"""Per skill and origin cell, the caregivers of the disc around the cell, nearest first.

A search (`cell_rings.RingLevel.search`) reads caregivers with a skill around a cell o near the
query point. Gathering them from the per-cell buckets (a dict look-up per cell, then one array out
of a few dozen small ones) costs more than their distances, and it is the same work for every
search from o. So the first search from o builds a `Disc`: the slots of everyone with the skill in
rings 0..K around o, sorted by their distance from o's centre, and the radius around o's centre
within which the list is complete (everyone outside the K rings is further). A search then reads
only the head of the list it needs (module doc of `caregiver_index`), and later searches from o reuse it.

A disc holds slots and distances only: what changes without a caregiver moving (load, active) is
read from the index at each search. The discs of a skill are dropped whenever a caregiver with
that skill is inserted into or removed from the level.
"""
from __future__ import annotations

from array import array

import numpy as np

from services.providers.nearest.rules.geodesy import EARTH_MEAN_RADIUS_M

# Members kept over all discs of a level (16 bytes each); all are dropped beyond this (and rebuilt
# on demand).
MAX_CACHED_DISC_MEMBERS = 3_000_000


class Disc:
    """Slots of the caregivers with one skill within `complete_m` of one cell's centre (all of them:
    everyone in its rings 0..rings, less those further out), nearest first, with their distances
    from that centre; everyone else with the skill is at least `complete_m` from it."""

    __slots__ = ("slots", "dist_m", "complete_m", "rings")

    def __init__(self, slots: np.ndarray, dist_m: array, complete_m: float, rings: int) -> None:
        self.slots = slots
        self.dist_m = dist_m
        self.complete_m = complete_m
        self.rings = rings


class DiscCache:
    """The discs of one level, per skill and origin cell, with a bound on what they hold."""

    def __init__(self) -> None:
        self._by_skill: dict[str, dict[int, Disc]] = {}
        self._members: dict[str, int] = {}  # by skill

    def get(self, skill: str, origin: int) -> Disc | None:
        discs = self._by_skill.get(skill)
        return None if discs is None else discs.get(origin)

    def put(self, skill: str, origin: int, disc: Disc) -> None:
        if sum(self._members.values()) > MAX_CACHED_DISC_MEMBERS:
            self.clear()  # crude but bounded; rebuilt on demand
        discs = self._by_skill.setdefault(skill, {})
        old = discs.get(origin)
        discs[origin] = disc
        self._members[skill] = self._members.get(skill, 0) + len(disc.slots) - (0 if old is None else len(old.slots))

    def forget(self, skills: frozenset[str] | set[str]) -> None:
        """Drop the discs of these skills (a caregiver with them was added or removed)."""
        for skill in skills:
            self._by_skill.pop(skill, None)
            self._members.pop(skill, None)

    def clear(self) -> None:
        self._by_skill.clear()
        self._members.clear()


def build_disc(
    slots_parts: list[np.ndarray], points: np.ndarray, centre: np.ndarray, complete_m: float, rings: int
) -> Disc:
    """The disc of these slots (the buckets of its rings), nearest `centre` first; those beyond
    `complete_m` are left out (anyone unlisted is at least that far, which is all a search needs)."""
    slots = np.concatenate(slots_parts) if slots_parts else np.empty(0, dtype=np.int64)
    delta = points.take(slots, axis=0)[:, :3] - centre
    delta *= delta
    metres = 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.minimum(np.sqrt(delta.sum(axis=1)) * 0.5, 1.0))
    order = np.argsort(metres, kind="stable")
    metres = metres.take(order)
    listed = int(np.searchsorted(metres, complete_m))  # those nearer than complete_m
    return Disc(slots.take(order[:listed]), array("d", metres[:listed].tobytes()), complete_m, rings)
