"""Benchmark: what an idle platform costs, with consumers that slow their polling when idle and
with consumers that never do (the baseline), in the same run.

    .venv/bin/python bench/idle_platform.py            # 15 s to settle, 20 s measured, each way
    .venv/bin/python bench/idle_platform.py --quick    # 8 s and 10 s

What runs: `python -m youfu up` as `make up` runs it (broker, gateway, four services, SQLite under a
fresh var dir, no demo day: YOUFU_DEMO_SIMULATE=0), twice:
  paced      the default: a consumer with no record for YOUFU_CONSUMER_IDLE_AFTER_S (5 s) asks the
             broker to hold each fetch 250 ms instead of 25 (shared/consumer.py)
  baseline   YOUFU_CONSUMER_IDLE_AFTER_S=1e9: every consumer keeps asking for 25 ms
Nobody sends a request. After `--settle` seconds the CPU time of every process of the platform
(psutil, user + system) is read over `--measure` seconds. Prints cores per process and the ratio
baseline / paced. Writes bench/results/idle_platform.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from youfu.broker import free_port  # noqa: E402

NAMES = ("gateway", "assessment", "providers", "orders", "vouchers")


def label(proc: psutil.Process) -> str:
    cmd = proc.cmdline()
    if "serve" in cmd:
        return cmd[cmd.index("serve") + 1]
    if any("tansu" in part for part in cmd):
        return "broker"
    return "launcher"


def idle_cost(idle_after_s: float | None, settle_s: float, measure_s: float) -> dict[str, float]:
    """Cores used by each process of an idle platform (`idle_after_s` None: the default)."""
    with tempfile.TemporaryDirectory(prefix="youfu-idle-") as var:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")}
        env |= {"YOUFU_VAR_DIR": var, "YOUFU_DEMO_SIMULATE": "0"}
        env |= {f"YOUFU_{n.upper()}_PORT": str(free_port()) for n in NAMES}
        if idle_after_s is not None:
            env["YOUFU_CONSUMER_IDLE_AFTER_S"] = str(idle_after_s)
        proc = subprocess.Popen([sys.executable, "-m", "youfu", "up"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for line in proc.stdout:
                if line.strip() == "READY":
                    break
            else:
                raise RuntimeError("the platform did not start")
            time.sleep(settle_s)
            root = psutil.Process(proc.pid)
            procs = [root, *root.children(recursive=True)]
            before = {p.pid: p.cpu_times() for p in procs}
            time.sleep(measure_s)
            cores: dict[str, float] = {}
            for p in procs:
                now, then = p.cpu_times(), before[p.pid]
                used = (now.user + now.system) - (then.user + then.system)
                cores[label(p)] = cores.get(label(p), 0.0) + used / measure_s
            return cores
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--settle", type=float)
    parser.add_argument("--measure", type=float)
    args = parser.parse_args()
    settle_s = args.settle or (8.0 if args.quick else 15.0)
    measure_s = args.measure or (10.0 if args.quick else 20.0)
    runs = {"baseline": idle_cost(1e9, settle_s, measure_s), "paced": idle_cost(None, settle_s, measure_s)}
    names = sorted({n for r in runs.values() for n in r}, key=lambda n: (n == "launcher", n))
    print(f"\nidle platform, {measure_s:.0f} s measured after {settle_s:.0f} s; cores used (1.0 = one core)\n")
    print("| process | baseline (25 ms fetches always) | paced (250 ms when idle) |\n|---|---:|---:|")
    for n in names:
        print(f"| {n} | {runs['baseline'].get(n, 0):.3f} | {runs['paced'].get(n, 0):.3f} |")
    total = {k: sum(r.values()) for k, r in runs.items()}
    ratio = total["baseline"] / total["paced"] if total["paced"] else float("inf")
    print(f"| total | {total['baseline']:.3f} | {total['paced']:.3f} |")
    print(f"\nbaseline / paced: {ratio:.1f}× the CPU; machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} (1 min)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "idle_platform.json").write_text(json.dumps({
        "benchmark": "idle_platform", "settle_s": settle_s, "measure_s": measure_s,
        "cores": runs, "total_cores": total, "baseline_over_paced": ratio,
        "machine": {"cores": os.cpu_count()}, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, indent=2) + "\n")
    print(f"wrote {RESULTS / 'idle_platform.json'}")


if __name__ == "__main__":
    main()
