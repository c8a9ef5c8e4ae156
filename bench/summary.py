"""The latest figures of every benchmark, as one short markdown table: bench/results/README.md.

    .venv/bin/python bench/summary.py      # (also the last step of `make bench`)

Reads the JSON each benchmark wrote to bench/results/ and writes what each measured against its
baseline and its target, with the machine and the time of the run. Nothing is measured here.
"""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def tick(ok: bool) -> str:
    return "✓" if ok else "✗"


def matching(d: dict) -> list[str]:
    s, r, t = d["summary"], d["ratios"], d["targets_met"]
    if "first_pass_exhaustive_over_indexed_p99" in r:  # since issue 27 the first pass is the headline
        fi, fe = d["first_pass"]["indexed"], d["first_pass"]["exhaustive"]
        return ["matching", f"top-{d['k']} of {d['caregivers']:,} caregivers, first pass (cold): p50 {fi['p50_us']:.0f} µs, "
                f"p99 {fi['p99_us']:.0f} µs (best of {d['repeat']}: p99 {s['indexed']['p99_us']:.0f} µs); "
                f"{d['queries'] - d['mismatches']:,}/{d['queries']:,} answers identical; index built in {d['build_s']:.1f} s",
                f"numpy scan, same filters: first pass p99 {fe['p99_us']:.0f} µs",
                f"{r['first_pass_exhaustive_over_indexed_p99']:.1f}× at p99 (best of {d['repeat']}: "
                f"{r['exhaustive_over_indexed_p99']:.1f}×)",
                f"p99 ≤ 1 ms {tick(t['p99'])}; ≥ 8× first pass {tick(t['ratio'])}", d.get("measured_at", "")]
    idx, scan = s["indexed"], s["exhaustive (numpy, same kernel)"]
    return ["matching", f"top-{d['k']} of {d['caregivers']:,} caregivers: p50 {idx['p50_us']:.0f} µs, "
            f"p99 {idx['p99_us']:.0f} µs; {d['queries'] - d['mismatches']:,}/{d['queries']:,} answers identical",
            f"numpy scan, same filters: p99 {scan['p99_us']:.0f} µs", f"{r['exhaustive_over_indexed_p99']:.1f}× at p99",
            f"p99 ≤ 1 ms {tick(t['p99'])}; ≥ 8× {tick(t['ratio'])}", d.get("measured_at", "")]


def ordering(d: dict) -> list[str]:
    ok = d["sustained_gateway_orders_per_s"] >= d["target_orders_per_s"]
    if d["sustained_gateway_orders_per_s"]:
        figure = (f"{d['sustained_gateway_orders_per_s']} orders/s through the gateway at POST p99 ≤ "
                  f"{d['p99_limit_ms']:.0f} ms ({d['sustained_direct_orders_per_s']} direct; peak "
                  f"{d['max_gateway_orders_per_s']} placed/s)")
        hop = f"gateway hop {d['gateway_hop_ratio_sustained']}; {d['gateway_fraction_of_ceiling']:.1%} of the ceiling"
    else:  # no level kept the p99: say what was reached instead of "0 orders/s"
        figure = (f"no level kept POST p99 ≤ {d['p99_limit_ms']:.0f} ms; peak {d['max_gateway_orders_per_s']} "
                  f"placed/s through the gateway ({d['max_direct_orders_per_s']} direct)")
        hop = (f"gateway hop {d['gateway_hop_ratio_max']} at the peaks; peak "
               f"{d['max_gateway_orders_per_s'] / d['max_hello_req_per_s']:.1%} of the ceiling")
    if d.get("platform_cpu_ms_per_order"):
        figure += (f"; {d['platform_cpu_ms_per_order']} ms of platform CPU an order, so {d['cores']} cores carry "
                   f"≤ {d['cpu_bound_orders_per_s']:.0f}/s")
    return ["ordering", figure,
            f"bare FastAPI hello: {d['max_hello_req_per_s']:,.0f} req/s",
            hop,
            f"≥ {d['target_orders_per_s']} orders/s {tick(ok)}", d.get("measured_at", f"{d.get('duration_s', '?')} s run")]


def main_path(d: dict) -> list[str]:
    """The voucher-paid main path (issue 27), measured in the same run as the self-paid figure."""
    m = d["main_path"]
    t = m["targets"]
    last = m["per_level"][-1] if m["per_level"] else {}
    figure = (f"voucher-paid over 10,000 elders via the gateway: sustained {m['sustained_orders_per_s']}/s, best "
              f"{m['max_orders_per_s']}/s; {m['platform_cpu_ms_per_order']} ms of platform CPU an order")
    ok = (m["sustained_orders_per_s"] >= t["orders_per_s"]
          and (m["platform_cpu_ms_per_order"] or 1e9) <= t["platform_cpu_ms_per_order"])
    return ["ordering: main path", figure, f"self-paid, same run: {last.get('self_paid_cpu_ms_per_order')} ms an order",
            f"rate ×{last.get('voucher_over_self_paid_rate')}, CPU ×{last.get('voucher_over_self_paid_cpu')} "
            f"at {last.get('clients')} clients",
            f"≥ {t['orders_per_s']}/s at p99 ≤ {t['post_p99_ms']} ms, ≤ {t['platform_cpu_ms_per_order']} ms {tick(ok)}",
            d.get("load_at_end", "")]


def settle(d: dict) -> list[str]:
    s = d["server"]
    return ["settle_latency", f"order.completed → settled over {d['orders']} orders: p50 {s['p50_ms']:.0f} ms, "
            f"p99 {s['p99_ms']:.0f} ms{' (quick run)' if d.get('quick') else ''}", "–", "–",
            f"p99 ≤ {d['target_p99_ms']:.0f} ms {tick(d['met'])}", d.get("measured_at", "")]


def meals(d: dict) -> list[str]:
    if d["sustained_redemptions_per_s"]:
        figure = (f"{d['sustained_redemptions_per_s']} meals/s redeemed at the counter through the gateway at POST p99 ≤ "
                  f"{d['p99_limit_ms']:.0f} ms ({d['sustained_at_clients']} clients, {d['elders']} elders with wallets)")
        base = f"placing an order at the same level: {d['orders_per_s_at_that_level']}/s"
        ratio = f"{d['ratio_redeem_over_order']}×"
    else:  # no level kept the p99: say what was reached
        figure = (f"no level kept POST p99 ≤ {d['p99_limit_ms']:.0f} ms; peak {d['max_redemptions_per_s']} meals/s "
                  f"through the gateway")
        base = f"placing an order: peak {d['max_orders_per_s']}/s"
        ratio = f"{d['max_redemptions_per_s'] / max(d['max_orders_per_s'], 1e-9):.2f}× at the peaks"
    if d.get("platform_cpu_ms_per_redemption"):
        figure += (f"; platform CPU {d['platform_cpu_ms_per_redemption']} ms a meal, "
                   f"{d['platform_cpu_ms_per_order']} ms an order")
    figure += f"; stored {d['meals_stored']} = answered {d['meals_answered_201']}, ledger check {tick(d['ledger_check_ok'])}"
    return ["meals", figure + (" (quick run)" if d.get("quick") else ""), base, ratio,
            f"≥ {d['target_redemptions_per_s']}/s {tick(d['target_met'])}", d.get("measured_at", "")]


def relay(d: dict) -> list[str]:
    return ["events_relay", f"outbox relay {d['relay_events_per_s']:,} events/s ({d['events']:,} events)",
            f"raw kafka-python produce {d['raw_events_per_s']:,}/s", f"{d['relay_fraction_of_raw']:.2f} of raw",
            f"≥ {d['target_fraction']} {tick(d['relay_fraction_of_raw'] >= d['target_fraction'])}",
            d.get("measured_at", "")]


def idle(d: dict) -> list[str]:
    t = d["total_cores"]
    return ["idle_platform", f"the whole platform idle ({d['measure_s']:.0f} s): {t['paced']:.2f} of a core",
            f"consumers that never slow their polling: {t['baseline']:.2f}", f"{d['baseline_over_paced']:.1f}×",
            "–", d.get("measured_at", "")]


def http_clients(d: dict) -> list[str]:
    busy = next(r for r in d["rows"] if r["in_flight"] == max(x["in_flight"] for x in d["rows"]))
    return ["http_clients", f"aiohttp (between services, gateway proxy): {busy['aiohttp_cpu_us']} µs of client CPU a "
            f"request, {busy['in_flight']} in flight", f"httpx: {busy['httpx_cpu_us']} µs", f"{busy['ratio']}×", "–",
            d.get("measured", "")]


def catch_up(d: dict) -> list[str]:
    before, now = d["before_d62"], d["now_d75"]
    return ["catch_up", f"providers' periodic look, {d['providers']} providers, {d['accepts_in_window']:,} accepts at "
            f"{d['busy_providers']} of them: {now['wall_ms_median']:,.1f} ms ({now['cpu_ms_median']:,.1f} ms CPU)",
            f"re-reading each busy provider (before D75): {before['wall_ms_median']:,.0f} ms",
            f"{d['wall_ratio_before_over_now']:.0f}×", "–", d.get("measured_at", "")]


def batch(d: dict) -> list[list[str]]:
    i, r, ratios, met = d["issuance"], d["report"], d["ratios"], d["targets_met"]
    transfers = d["setup"]["rows"]["ledger_transfers"]
    return [["vouchers_batch", f"monthly issuance for {d['elders']:,} elders: {i['first_run_s']:.1f} s "
             f"({i['first_run_issued']:,} vouchers); a second run {i['second_run_s']:.1f} s, issues {i['second_run_issued']}",
             f"row-by-row ORM path ≈ {i['orm_path_extrapolated_s']:.0f} s", f"{ratios['orm_path_over_set_based']:.1f}×",
             f"≤ {d['targets']['issuance_first_run_s']} s {tick(met['issuance'])}", d.get("measured_at", "")],
            ["vouchers_batch", f"12-month audit report over {transfers:,} ledger transfers: "
             f"{r['optimised_p50_s'] * 1000:.0f} ms", f"GROUP BY over the journal: {r['raw_journal_p50_s']:.1f} s",
             f"{ratios['raw_journal_over_summary']:.0f}×", f"≤ {d['targets']['report_s']} s {tick(met['report'])}",
             d.get("measured_at", "")]]


def faults(d: dict) -> list[str]:
    lines = []
    for key in sorted(d):
        f = d[key]
        shown = {k: v for k, v in f.items() if not isinstance(v, (dict, list)) and k not in ("machine", "measured_at")}
        lines.append(f"| {key} | " + ", ".join(f"{k} {v}" for k, v in shown.items()) + f" | {f.get('machine', '')} "
                     f"| {f.get('measured_at', '')} |")
    return lines


def main() -> None:
    out = ["# Latest benchmark figures", "",
           "Written by `bench/summary.py` from the JSON files beside this one; each benchmark's own output "
           "has the full tables. Machine: 2 shared cores.", "",
           "How each benchmark measures, and the history of these figures: "
           "[docs/benchmarks.md](../../docs/benchmarks.md).", "",
           "| benchmark | figure | baseline in the same run | ratio | target | measured |",
           "|---|---|---|---|---|---|"]
    rows: list[list[str]] = []
    for name, fn in (("matching", matching), ("ordering", ordering), ("meals", meals), ("settle_latency", settle),
                     ("events_relay", relay), ("idle_platform", idle),
                     ("http_clients", http_clients), ("catch_up", catch_up)):
        d = load(name)
        if d:
            try:
                rows.append(fn(d))
            except KeyError as exc:  # an older result file: say so rather than fail
                rows.append([name, f"(result file lacks {exc})", "", "", "", ""])
    d = load("ordering")
    if d and d.get("main_path"):
        rows.insert(2, main_path(d))
    d = load("vouchers_batch")
    if d:
        try:
            rows.extend(batch(d))
        except KeyError as exc:
            rows.append(["vouchers_batch", f"(result file lacks {exc})", "", "", "", ""])
    out += ["| " + " | ".join(r) + " |" for r in rows]
    for name, title in (("faults", "Faults (tests/faults)"), ("soak", "Soak (`make soak`)")):
        d = load(name)
        if d:
            out += ["", f"## {title}", "", "| run | figures | machine | measured |", "|---|---|---|---|"]
            out += faults(d if name == "faults" else {"soak": d})
    (RESULTS / "README.md").write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
