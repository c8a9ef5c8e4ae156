"""The nearest-qualified search (`GET /candidates`, dispatch's question): an area of its own.

- `candidates.py`: `CandidateSearch`, the process's in-memory index kept current with the
  database, and the answer (use cases);
- `index_source.py`: what the index is read from, a snapshot of the database (use cases);
- `rules/`: the pure parts, no I/O: `caregiver_index.py` (the exact h3 index and its exhaustive
  baseline), `ring_search.py` (one resolution's search), `cell_rings.py` (its cell tables and
  rings), `cell_lists.py` and `discs.py` (its per-cell and nearest-first lists, built with it),
  `geodesy.py` (sphere and ellipsoid distances), `ranking.py` (each candidate's score).
"""
