"""How fast this host is right now, by a fixed pure-Python workload timed before and after a bench.

The benches compare against a baseline in the same run, but their targets are absolute (meals a
second, orders a second) and this machine is a shared VM: on 2026-12-05 the same code took 199 and
372 meals a second within an hour, and one fixed loop took 911–1,374 ms of CPU from one try to the
next. The probe does not correct anything; it is printed and kept in the bench's JSON beside the
figures, so that a slow run can be told from slow code. Lower is faster.

The workload is what a service spends its time on: calls, dicts, small strings and integers,
nothing that touches the disk or the network. One round took 24–48 ms on this machine; the
probe reports the median of `rounds` (wall time and the process's CPU time).
"""
from __future__ import annotations

import statistics
import time


def _workload() -> int:
    table: dict[str, int] = {}
    total = 0
    for i in range(80_000):
        key = f"k{i % 512}"
        table[key] = table.get(key, 0) + (i * 7) % 13
        total += len(key) + (i & 15)
    return total + sum(table.values())


def host_probe(rounds: int = 5) -> dict[str, float]:
    """{'wall_ms': …, 'cpu_ms': …}: the medians of `rounds` runs of the fixed workload."""
    walls, cpus = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        _workload()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return {"wall_ms": round(statistics.median(walls), 1), "cpu_ms": round(statistics.median(cpus), 1)}


def probe_note(probe: dict[str, float]) -> str:
    return f"host probe {probe['wall_ms']:.1f} ms a round (lower is faster)"
