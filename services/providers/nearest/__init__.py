"""The nearest-qualified search (`GET /candidates`, dispatch's question): an area of its own.

- `candidates.py`: `CandidateSearch`, the process's in-memory index kept current with the
  database, and the answer (use cases);
- `index_source.py`: what the index is read from, a snapshot of the database (use cases);
- `rules/`: the pure parts, no I/O: `caregiver_index.py` (the exact h3 index and its exhaustive
  baseline), `cell_rings.py` and `discs.py` (its cell tables and nearest-first lists),
  `geodesy.py` (sphere and ellipsoid distances), `ranking.py` (each candidate's score).
"""
