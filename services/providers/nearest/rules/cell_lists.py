"""Per skill, the caregivers of each cell of one h3 resolution, in one array (`CellLists`).

What the index keeps current on every update (`RingLevel.insert`/`remove`), what the nearest-first
lists (`discs`) are built from in bulk, and what a search reads ring by ring where no list serves
it. Two int32 arrays per skill and level, whatever the number of cells: no Python object per cell.
"""
from __future__ import annotations

import numpy as np

NO_SLOTS = np.empty(0, dtype=np.int32)
# Up to this many cells a gather slices each cell's run in Python (≈ 0.3 µs a cell); beyond, a
# fixed dozen numpy calls (≈ 9 µs) do it whatever the number (measured on the benchmark's host).
SLICED_GATHER_CELLS = 24


class CellLists:
    """The slots of the caregivers with one skill, grouped by cell number: cell c's are
    `slots[starts[c]:starts[c + 1]]`, in no particular order. Cells numbered past the end of
    `starts` (met since it was built) hold nobody."""

    __slots__ = ("slots", "starts", "_ends", "_starts_ints")

    def __init__(self, cells: np.ndarray, slots: np.ndarray, n_cells: int) -> None:
        order = np.argsort(cells, kind="stable")
        self.slots = slots.take(order).astype(np.int32)
        self._set_starts(np.zeros(n_cells + 1, dtype=np.int32))
        np.cumsum(np.bincount(cells, minlength=n_cells), out=self.starts[1:])

    def _set_starts(self, starts: np.ndarray) -> None:
        self.starts = starts
        self._ends = starts[1:]  # a view: cell c's run ends at _ends[c]
        self._starts_ints = memoryview(starts)  # the same memory, read as Python ints (no numpy call)

    def __len__(self) -> int:
        return len(self.slots)

    def count(self, cell: int) -> int:
        starts = self._starts_ints
        return starts[cell + 1] - starts[cell] if cell + 1 < len(starts) else 0

    def cells(self) -> np.ndarray:
        """The number of the cell of each entry of `slots`."""
        return np.repeat(np.arange(len(self.starts) - 1, dtype=np.int32), np.diff(self.starts))

    def gather(self, cells: np.ndarray) -> np.ndarray:
        """The slots in these cells (int32), cell by cell."""
        if len(cells) <= SLICED_GATHER_CELLS:
            starts, slots, past = self._starts_ints, self.slots, len(self._starts_ints) - 1
            runs = [slots[starts[c] : starts[c + 1]] for c in cells.tolist() if c < past]
            return np.concatenate(runs) if runs else NO_SLOTS
        first = self.starts.take(cells, mode="clip")  # clipped past the end: an empty run at the end
        counts = self._ends.take(cells, mode="clip")
        counts -= first
        total = int(counts.sum())
        if total == 0:
            return NO_SLOTS
        # positions first[i], first[i]+1, … for each cell: arange(total) plus each run's shift
        before = np.cumsum(counts)
        before -= counts
        first -= before
        return self.slots.take(np.repeat(first, counts) + np.arange(total, dtype=np.int32))

    def insert(self, cell: int, slot: int) -> None:
        """O(caregivers with the skill): updates are rare next to searches."""
        if cell + 1 >= len(self.starts):  # a cell numbered since the lists were built
            grown = np.full(cell + 2, self.starts[-1], dtype=np.int32)
            grown[: len(self.starts)] = self.starts
            self._set_starts(grown)
        at = self._starts_ints[cell + 1]
        self.slots = np.insert(self.slots, at, slot)
        self.starts[cell + 1 :] += 1

    def remove(self, cell: int, slot: int) -> None:
        first, past = self._starts_ints[cell], self._starts_ints[cell + 1]
        at = first + int(np.flatnonzero(self.slots[first:past] == slot)[0])
        self.slots = np.delete(self.slots, at)
        self.starts[cell + 1 :] -= 1
