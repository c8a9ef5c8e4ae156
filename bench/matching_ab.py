"""A/B of two checkouts on the nearest-qualified search: each checkout's own bench/matching.py,
alternately, in one run (so both see the same machine), with the same interpreter and seed.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/matching_ab.py /tmp/before .               # --quick sizes, 2 rounds
    .venv/bin/python bench/matching_ab.py /tmp/before . --full --rounds 3

Each run imports the index from its own checkout (the child's working directory and PYTHONPATH
are that checkout), so a refactor that moved the index is measured as it is on each side. Prints
one line per run and the ratio after/before of the means of the indexed p50 and p99.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import mean


def one_run(checkout: Path, full: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "matching.json"
        cmd = [sys.executable, "bench/matching.py", "--out", str(out), "--repeat", "2"]
        if not full:
            cmd.append("--quick")
        env = os.environ | {"PYTHONPATH": str(checkout)}
        subprocess.run(cmd, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
        result = json.loads(out.read_text())
    s = result["summary"]["indexed"]
    return {"p50_us": s["p50_us"], "p99_us": s["p99_us"], "mismatches": result["mismatches"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="100k caregivers, 10k queries (default: --quick sizes)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "matching_ab.json")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        for side in order:
            res = one_run(getattr(args, side).resolve(), args.full)
            runs[side].append(res)
            print(f"round {r + 1} {side:6}: indexed p50 {res['p50_us']:.1f} µs, p99 {res['p99_us']:.1f} µs, "
                  f"mismatches {res['mismatches']}", flush=True)
    ratio = {q: mean(x[q] for x in runs["after"]) / mean(x[q] for x in runs["before"]) for q in ("p50_us", "p99_us")}
    print(f"after/before: p50 ×{ratio['p50_us']:.3f}, p99 ×{ratio['p99_us']:.3f} (below 1 is faster)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "matching_ab", "before": str(args.before), "after": str(args.after),
                                    "full": args.full, "runs": runs, "after_over_before": ratio}, indent=2) + "\n")


if __name__ == "__main__":
    main()
