"""Benchmark: what an idle platform costs, with consumers that slow their polling when idle and
with consumers that never do (the baseline), in the same run.

    .venv/bin/python bench/idle_platform.py            # 15 s to settle, 20 s measured, each way
    .venv/bin/python bench/idle_platform.py --quick    # 8 s and 10 s

What runs: the platform as the other benchmarks run it (`LivePlatform`, bench/live_platform.py:
`python -m youfu up`, PostgreSQL, a broker of its own, no demo day), twice:
  paced      the default: a consumer with no record for YOUFU_CONSUMER_IDLE_AFTER_S (5 s) asks the
             broker to hold each fetch 250 ms instead of 25 (shared/consumer.py)
  baseline   YOUFU_CONSUMER_IDLE_AFTER_S=1e9: every consumer keeps asking for 25 ms
Nobody sends a request. After `--settle` seconds `CpuMeter` reads each process's CPU over
`--measure` seconds (and PostgreSQL's backends serving the platform). Prints % of one core per
process and the ratio baseline / paced. Writes bench/results/idle_platform.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_platform import CpuMeter, LivePlatform  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PLATFORM = ("gateway", "assessment", "providers", "orders", "vouchers", "broker", "postgres (ours)")


def idle_cost(idle_after_s: float | None, settle_s: float, measure_s: float) -> dict[str, float]:
    """% of one core used by each process of an idle platform (`idle_after_s` None: the default)."""
    env = {} if idle_after_s is None else {"YOUFU_CONSUMER_IDLE_AFTER_S": str(idle_after_s)}
    plat = LivePlatform("idle", env).start()
    try:
        time.sleep(settle_s)
        meter = CpuMeter(plat.processes(), list(plat.databases.values()))
        meter.start()
        time.sleep(measure_s)
        used = meter.stop()
        return {name: used.get(name, 0.0) for name in PLATFORM}
    finally:
        plat.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--settle", type=float)
    parser.add_argument("--measure", type=float)
    args = parser.parse_args()
    settle_s = args.settle or (8.0 if args.quick else 15.0)
    measure_s = args.measure or (10.0 if args.quick else 20.0)
    runs = {"baseline": idle_cost(1e9, settle_s, measure_s), "paced": idle_cost(None, settle_s, measure_s)}
    print(f"\nidle platform, {measure_s:.0f} s measured after {settle_s:.0f} s; % of one core\n")
    print("| process | baseline (25 ms fetches always) | paced (250 ms when idle) |\n|---|---:|---:|")
    for n in PLATFORM:
        print(f"| {n} | {runs['baseline'][n]:.1f} | {runs['paced'][n]:.1f} |")
    total = {k: sum(r.values()) / 100 for k, r in runs.items()}  # in cores
    ratio = total["baseline"] / total["paced"] if total["paced"] else float("inf")
    print(f"| total (cores) | {total['baseline']:.2f} | {total['paced']:.2f} |")
    print(f"\nbaseline / paced: {ratio:.1f}× the CPU; machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} (1 min)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "idle_platform.json").write_text(json.dumps({
        "benchmark": "idle_platform", "settle_s": settle_s, "measure_s": measure_s,
        "percent_of_a_core": runs, "total_cores": total, "baseline_over_paced": ratio,
        "machine": {"cores": os.cpu_count()}, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, indent=2) + "\n")
    print(f"wrote {RESULTS / 'idle_platform.json'}")


if __name__ == "__main__":
    main()
