"""Soak (`make soak`): ten minutes of simulated city traffic at several times the city's peak,
through the gateway of a platform on PostgreSQL, while every process's memory is sampled.

* Traffic: `youfu simulate --scale soak --peak-multiple 3 --minutes 10` — steady orders at three
  times the city's busiest hour (youfu/simulate/day.py derives the peak from docs/domain.md: 169,000
  platform users × 0.196 orders a day × the 10:00–11:00 share of a day's orders, 25.6 % ≈ 2.35
  orders/s), each with its whole life: placing, dispatch, declines, grabs, acceptance, check-in
  (some off-site), check-out, settlement, reviews, cancellations. YOUFU_SOAK_MINUTES and
  YOUFU_SOAK_PEAK_MULTIPLE change the length and the multiple (e.g. 1 minute for a check).
* Memory: every service process's RSS when the load starts and when it stops (and every 10 s in
  between). Flat means: the whole run grows less than max(RSS_GROWTH_MB, RSS_GROWTH_SHARE of the
  start), and its second half less than half that (a leak grows steadily; a warming cache levels
  off). The bundled broker is reported but not held to it: it is memory-only by design and keeps
  every event it is sent (README, "Events survive a broker that forgets").
* No error answers: no 5xx, no transport failure, no refusal the simulated people did not expect
  (a grab another provider won or a spent wallet are expected), and no 429 while the load runs.
* Outbox lag: each service's `/ops/outbox` pending count returns to zero within OUTBOX_DRAIN_S
  after the load stops, and no event is dead-lettered.
The figures go to bench/results/soak.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from live_platform import CpuMeter, LivePlatform, load_note, login_headers  # noqa: E402

MINUTES = float(os.environ.get("YOUFU_SOAK_MINUTES", "10"))
PEAK_MULTIPLE = float(os.environ.get("YOUFU_SOAK_PEAK_MULTIPLE", "3"))
RSS_GROWTH_MB, RSS_GROWTH_SHARE = 40.0, 0.20
OUTBOX_DRAIN_S = 60.0
SAMPLE_EVERY_S = 10.0
SERVICES = ("assessment", "providers", "orders", "vouchers")
RESULT = ROOT / "bench" / "results" / "soak.json"
MB = 1024 * 1024


class Simulation:
    """`youfu simulate` as a child process; its `[phase] …` lines say when the load starts and stops."""

    def __init__(self, platform: LivePlatform, out: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")}
        env["YOUFU_VAR_DIR"] = str(platform.var_dir)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "youfu", "simulate", "--scale", "soak", "--peak-multiple", str(PEAK_MULTIPLE),
             "--minutes", str(MINUTES), "--gateway", platform.url, "--json", str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.phases: dict[str, float] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip()
            self.lines.append(line)
            print(line, flush=True)
            if line.startswith("[phase] "):
                self.phases[line.split()[1]] = time.monotonic()

    def wait_phase(self, name: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while name not in self.phases:
            if self.proc.poll() is not None and name not in self.phases:
                raise AssertionError(f"simulate exited ({self.proc.returncode}) before '{name}':\n"
                                     + "\n".join(self.lines[-40:]))
            if time.monotonic() > deadline:
                raise AssertionError(f"no '{name}' phase after {timeout_s:.0f} s:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.2)


def rss_mb(procs: dict[str, psutil.Process]) -> dict[str, float]:
    out = {}
    for name, p in procs.items():
        try:
            out[name] = round(p.memory_info().rss / MB, 1)
        except psutil.Error:
            out[name] = None
    return out


def outbox(platform: LivePlatform, headers: dict) -> dict[str, int | None]:
    out = {}
    for name in SERVICES:
        r = httpx.get(f"{platform.service_url(name)}/ops/outbox", headers=headers, timeout=10)
        out[name] = r.json().get("pending") if r.status_code == 200 else None
    return out


def dead_letters(platform: LivePlatform, headers: dict) -> dict[str, int]:
    out = {}
    for name in SERVICES:
        r = httpx.get(f"{platform.service_url(name)}/ops/dead-letters", headers=headers, timeout=10)
        body = r.json() if r.status_code == 200 else None
        out[name] = len(body) if isinstance(body, list) else len((body or {}).get("items", [])) if body else -1
    return out


def memory_verdict(samples: list[dict[str, float]]) -> dict[str, dict]:
    start, end = samples[0], samples[-1]
    middle = samples[len(samples) // 2]
    out = {}
    for name in start:
        values = [s[name] for s in samples if s.get(name) is not None]
        bound = max(RSS_GROWTH_MB, RSS_GROWTH_SHARE * start[name])
        growth, second_half = end[name] - start[name], end[name] - middle[name]
        out[name] = {"start_mb": start[name], "end_mb": end[name], "max_mb": max(values),
                     "growth_mb": round(growth, 1), "growth_pct": round(100 * growth / start[name], 1),
                     "second_half_growth_mb": round(second_half, 1), "bound_mb": round(bound, 1),
                     "held_to_bound": name != "broker",
                     "flat": growth <= bound and second_half <= bound / 2}
    return out


def test_ten_minutes_of_city_traffic_at_several_times_the_peak(tmp_path):
    platform = LivePlatform("soak", extra_env={"YOUFU_DEMO_SIMULATE": "0"})
    platform.start()
    sim = None
    try:
        procs = platform.processes()
        admin = login_headers(platform.url, platform.account("admin"))
        report_path = tmp_path / "simulate.json"
        sim = Simulation(platform, report_path)
        sim.wait_phase("play", timeout_s=1800)  # building the city: a few minutes
        meter = CpuMeter(procs, list(platform.databases.values()))
        meter.start()
        simulator_cpu = psutil.Process(sim.proc.pid)
        sim_cpu_start, load_started = simulator_cpu.cpu_times(), time.monotonic()
        samples, times = [rss_mb(procs)], [0.0]
        started = load_started
        while "drain" not in sim.phases and sim.proc.poll() is None:
            time.sleep(1.0)
            if time.monotonic() - started >= times[-1] + SAMPLE_EVERY_S:
                samples.append(rss_mb(procs))
                times.append(round(time.monotonic() - started, 1))
        samples.append(rss_mb(procs))
        times.append(round(time.monotonic() - started, 1))
        cpu = meter.stop()
        sim_cpu = simulator_cpu.cpu_times()
        load_stopped = sim.phases.get("drain", time.monotonic())
        pending_at_stop = pending = outbox(platform, admin)
        while any(pending.values()) and time.monotonic() - load_stopped < OUTBOX_DRAIN_S:
            time.sleep(0.5)
            pending = outbox(platform, admin)
        to_zero = round(time.monotonic() - load_stopped, 1) if not any(pending.values()) else None
        sim.proc.wait(timeout=900)  # the orders under way finish, then the officers read the reports
        pending_at_end = outbox(platform, admin)
        letters = dead_letters(platform, admin)
        assert sim.proc.returncode in (0, 2), "\n".join(sim.lines[-40:])
        report = json.loads(report_path.read_text())
        memory = memory_verdict(samples)
        during = report["http_during_play"]
        result = {
            "what": "youfu simulate --scale soak: steady city traffic through the gateway, platform on PostgreSQL",
            "machine": load_note(), "minutes": MINUTES, "peak_multiple": PEAK_MULTIPLE,
            "city_peak_orders_per_s": report["city_peak_orders_per_s"], "target_orders_per_s": report["orders_per_s"],
            "placed_per_s": report["placed_per_s"], "world": {k: v for k, v in report["world"].items()
                                                            if not k.endswith("_ids")},
            "orders": {k: v for k, v in report["orders"].items() if k != "order_ids"},
            "time_to_acceptance_s": report["time_to_acceptance_s"], "check_ins": report["check_ins"],
            "http_during_load": during, "http_whole_run": {k: report["http"][k] for k in
                                                           ("requests", "by_class", "errors", "server_errors", "throttled",
                                                            "p50_ms", "p95_ms")},
            "error_samples": report["http"]["error_samples"], "rss_mb": memory,
            "rss_samples": {"t_s": times, **{n: [s[n] for s in samples] for n in samples[0]}},
            "cpu_pct_of_one_core_during_load": cpu | {"simulator (in other)": round(
                100 * (sim_cpu.user + sim_cpu.system - sim_cpu_start.user - sim_cpu_start.system)
                / (load_stopped - load_started), 1)},
            "outbox": {"pending_when_load_stopped": pending_at_stop, "pending_at_end": pending_at_end,
                       "seconds_from_load_stop_to_zero": to_zero, "bound_s": OUTBOX_DRAIN_S},
            "dead_letters": letters, "ledger_ok": report["ledger_ok"],
            "bounds": {"rss_growth": f"≤ max({RSS_GROWTH_MB:.0f} MB, {RSS_GROWTH_SHARE:.0%} of start); second half ≤ half that",
                       "errors": "no 5xx, no transport error, no unexpected 4xx, no 429 while the load runs"},
            "timing_s": report["timing_s"],
        }
        RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        print(json.dumps({k: result[k] for k in ("placed_per_s", "rss_mb", "outbox", "http_during_load")},
                         ensure_ascii=False, indent=1))
        assert during["server_errors"] == 0 and during["errors"] == 0, report["http"]["error_samples"]
        assert during["throttled"] == 0
        assert report["placed_per_s"] >= 0.8 * report["orders_per_s"], "the simulator could not keep the rate"
        for name, m in memory.items():
            if m["held_to_bound"]:
                assert m["flat"], (name, m)
        assert to_zero is not None and to_zero <= OUTBOX_DRAIN_S, pending
        assert not any(pending_at_end.values()), pending_at_end
        assert all(n == 0 for n in letters.values()), letters
        assert report["ledger_ok"] is True
    finally:
        if sim is not None and sim.proc.poll() is None:
            sim.proc.terminate()
            sim.proc.wait(30)
        platform.stop()
