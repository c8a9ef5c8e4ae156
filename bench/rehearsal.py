"""The replica rehearsal (issue 27): two replicas of each service and of the gateway on PostgreSQL,
one broker, the local balancer (youfu/balancer.py) in front of each; three minutes of load; midway
one replica of each process SIGKILLed, started again a minute later. Every rule of the issue is
checked (tests/faults/replicas.py: `rehearse`) and the figures go to bench/results/faults.json
under "replicas_rehearsal", with what the platform's processes used (CPU, memory).

    .venv/bin/python bench/rehearsal.py                 # 180 s of load, kill at 90 s, restart at 150 s
    .venv/bin/python bench/rehearsal.py --load-s 60 --kill-at-s 28 --down-s 20    # what the suite runs
    make rehearsal

The suite's version is tests/faults/test_replicas.py (a minute of load). Exit code 1 if a rule broke.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from tests.conftest import Databases  # noqa: E402
from tests.faults.harness import record_figures  # noqa: E402
from tests.faults.replicas import ReplicaPlatform, rehearse, short  # noqa: E402


class Usage:
    """CPU seconds and peak RSS of the platform's processes (replicas, balancer, broker), sampled."""

    def __init__(self, p: ReplicaPlatform) -> None:
        self.p = p
        self.cpu: dict[int, float] = {}  # pid → last cpu seconds seen
        self.first: dict[int, float] = {}
        self.rss: dict[str, float] = {}
        self.names: dict[int, str] = {}
        self.stop = False

    def procs(self) -> dict[str, psutil.Process]:
        out = {name: proc.pid for name, proc in self.p.procs.items() if proc.poll() is None}
        if self.p.balancer is not None:
            out["balancer"] = self.p.balancer.pid
        if self.p.broker is not None:
            out["broker"] = self.p.broker.pid
        return {n: psutil.Process(pid) for n, pid in out.items()}

    async def run(self) -> None:
        while not self.stop:
            for name, proc in self.procs().items():
                try:
                    t = proc.cpu_times()
                    self.first.setdefault(proc.pid, t.user + t.system)
                    self.cpu[proc.pid] = t.user + t.system
                    self.names[proc.pid] = name
                    self.rss[name] = max(self.rss.get(name, 0.0), proc.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
            await asyncio.sleep(1.0)

    def report(self, seconds: float) -> dict:
        by_group: dict[str, float] = {}
        for pid, cpu in self.cpu.items():
            group = self.names[pid].rsplit("-", 1)[0]
            by_group[group] = by_group.get(group, 0.0) + cpu - self.first[pid]
        return {"cpu_pct_of_one_core": {g: round(100 * s / seconds, 1) for g, s in sorted(by_group.items())},
                "cpu_pct_total": round(100 * sum(by_group.values()) / seconds, 1),
                "peak_rss_mb": {n: round(v, 1) for n, v in sorted(self.rss.items())}}


async def main_async(args) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="youfu-rehearsal-"))
    dbs = Databases(tmp)
    p = ReplicaPlatform(dbs, tmp, "rehearsal", replicas=args.replicas)
    try:
        t = time.monotonic()
        p.start()
        startup_s = time.monotonic() - t
        usage = Usage(p)
        sampler = asyncio.create_task(usage.run())
        t = time.monotonic()
        try:
            figures = await rehearse(p, load_s=args.load_s, kill_at_s=args.kill_at_s, down_s=args.down_s,
                                     place_every_s=args.place_every_s)
        finally:
            usage.stop = True
            await sampler
        figures |= {"platform_start_s": round(startup_s, 1), "machine_note": f"{os.cpu_count()} cores, load average "
                    f"{os.getloadavg()[0]:.1f} at the end (a shared machine: other work ran meanwhile)",
                    "usage_during_run": usage.report(time.monotonic() - t)}
        record_figures(args.key, figures)
        print(short(figures))
        return 0
    except AssertionError as exc:
        print(f"✗ a rule broke: {exc}", file=sys.stderr)
        return 1
    finally:
        p.close()
        dbs.drop_all()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--load-s", type=float, default=180)
    ap.add_argument("--kill-at-s", type=float, default=90)
    ap.add_argument("--down-s", type=float, default=60)
    ap.add_argument("--place-every-s", type=float, default=0.15, help="a new order this often (and its delivery)")
    ap.add_argument("--key", default="replicas_rehearsal", help="the entry of bench/results/faults.json")
    args = ap.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
