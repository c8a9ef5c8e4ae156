"""A/B of two checkouts on the ordering path: the same closed loop through the gateway against
each, alternately, on fresh platforms, in one run (so both see the same machine).

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/ordering_ab.py /tmp/before .            # 5 clients, 20 s, 2 rounds
    .venv/bin/python bench/ordering_ab.py /tmp/before . --clients 10 --seconds 30 --rounds 3

Each checkout runs its own `python -m youfu up` (started by this checkout's bench/live_platform.py,
so both sides face the same load generator, auto-accepter included), adds 40
caregivers, warms up 3 s with 2 clients, then measures: placed/s, POST p99, and the CPU of each
process (psutil; PostgreSQL backends opened during the run count as "other"). Prints one line per
run and the ratio after/before of the means. bench/ordering.py is the full benchmark; this answers
"did this change make ordering faster" on a machine whose speed varies from day to day.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from statistics import mean

ONE_RUN = r'''
import asyncio, json, sys
root, clients, seconds, generator = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
sys.path.insert(0, generator + "/bench")
from pathlib import Path
import httpx
import live_platform
from live_platform import LivePlatform, login_headers
import ordering as o
live_platform.ROOT = Path(root)  # the platform under test; the load generator is always this checkout's

async def main(plat):
    world = plat.world
    family = login_headers(plat.url, plat.account("family"))
    provider = login_headers(plat.url, plat.account("provider_admin"))
    body = o.order_body(world["elder_id"])
    target = o.Target("gateway", plat.url, "/api/orders", family, "/api/orders/orders")
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as side:
        await o.add_caregivers(side, plat.url, provider, world, 40)
        await asyncio.sleep(1)
        acc = o.AutoAccepter(target, provider)
        task = asyncio.create_task(acc.run())
        await o.closed_loop(None, target, body, 2, 0, 3, on_placed=acc.on_placed)
        meter = o.CpuMeter(plat.processes(), list(plat.databases.values()))
        r = await o.closed_loop(None, target, body, clients, 1, seconds, on_placed=acc.on_placed, meter=meter)
        await acc.drain(60)
        await task
    return {"placed_per_s": r["placed_per_s"], "post_p99_ms": r["post_p99_s"] * 1000, "errors": r["errors"],
            "cpu": r["cpu"], "accepted": len(acc.accepted)}

plat = LivePlatform("ab", {"YOUFU_WRITES_PER_MINUTE": "100000"}).start()
try:
    print("RESULT " + json.dumps(asyncio.run(main(plat))))
finally:
    plat.stop()
'''
GENERATOR = Path(__file__).resolve().parents[1]  # the load generator's code, the same for both sides
PLATFORM = ("gateway", "assessment", "providers", "orders", "vouchers", "broker", "postgres (ours)")


def run_once(root: Path, clients: int, seconds: float) -> dict:
    out = subprocess.run([sys.executable, "-c", ONE_RUN, str(root), str(clients), str(seconds), str(GENERATOR)],
                         capture_output=True, text=True, timeout=900)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"run against {root} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    r = json.loads(line[7:])
    r["platform_cpu_ms_per_order"] = sum(r["cpu"].get(k, 0) for k in PLATFORM) * 10 / r["placed_per_s"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for name in ("before", "after"):
            r = run_once(getattr(args, name).resolve(), args.clients, args.seconds)
            runs[name].append(r)
            print(f"{name:<6} {r['placed_per_s']:6.1f} orders/s  POST p99 {r['post_p99_ms']:5.0f} ms  "
                  f"errors {r['errors']}  platform CPU {r['platform_cpu_ms_per_order']:5.1f} ms/order  "
                  f"orders process {r['cpu'].get('orders', 0):.0f} %", flush=True)
    for figure in ("placed_per_s", "post_p99_ms", "platform_cpu_ms_per_order"):
        b, a = mean(r[figure] for r in runs["before"]), mean(r[figure] for r in runs["after"])
        print(f"{figure}: before {b:.1f}, after {a:.1f}, after/before {a / b:.2f}")


if __name__ == "__main__":
    main()
