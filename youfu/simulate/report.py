"""The end of the day: officers read what the platform holds (spend by unit and voucher kind, audit
findings, visit coverage, unmatched orders, the ledger's own check), and the report puts it beside
what the simulation did — printed in Chinese with English labels, and as a dict (JSON)."""
from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict

from shared.city import district_name
from youfu.simulate.build import Built
from youfu.simulate.http import Gateway, Session
from youfu.simulate.places import DISTRICTS
from youfu.simulate.plans import delivery as plan_delivery
from youfu.simulate.play import Play

KIND_NAMES = {"community": "社区照护券", "mutual_aid": "邻里互助券", "institutional": "机构托养券"}
# Audit rules that compare real timestamps: a day played many times faster than real time puts one
# caregiver's services minutes apart, so these fire on the compression, not on the people.
COMPRESSION_RULES = ("caregiver_overlap", "travel_too_fast")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))]


async def spend_matrix(gw: Gateway, officer: Session, month: str) -> dict[tuple[str, str], dict]:
    answer = await gw.call(officer, "GET", "/api/vouchers/reports/spend/monthly",
                           params={"from_month": month, "to_month": month})
    rows = answer.body.get("rows", []) if answer.ok else []
    return {(r["district_code"], r["kind"]): r for r in rows}


async def wait_settled(gw: Gateway, officer: Session, play: Play, timeout_s: float = 60.0) -> int:
    """Until each completed order of the simulation is settled (vouchers captured the hold from
    the completion event and answered with the redemption event). Returns how many are not."""
    ours = {t.order_id for t in play.tracks if t.outcome == "completed"} | set(play.plan_completed)
    deadline = time.monotonic() + timeout_s
    waiting = ours
    while time.monotonic() < deadline:
        seen: set[str] = set()
        offset = 0
        while True:
            answer = await gw.call(officer, "GET", "/api/orders/orders",
                                   params={"state": "completed", "limit": 500, "offset": offset})
            page = answer.body if answer.ok else []
            seen |= {o["order_id"] for o in page}
            if len(page) < 500:
                break
            offset += 500
        waiting = ours & seen
        if not waiting:
            break
        await asyncio.sleep(0.5)
    return len(waiting)


async def officers_read(gw: Gateway, b: Built, month: str) -> dict:
    """What the bureau looks at after the day: each unit's officer their own spend, the city officer
    the rest."""
    city = b.city_officer
    await asyncio.gather(*(gw.call(staff[0], "GET", "/api/vouchers/reports/spend",
                                   params={"month": month, "group_by": "kind"}) for staff in b.officers.values()))
    by_kind, findings, coverage, unmatched, ledger, plans = await asyncio.gather(
        gw.call(city, "GET", "/api/vouchers/reports/spend", params={"month": month, "group_by": "kind"}),
        gw.call(city, "GET", "/api/vouchers/anomalies", params={"month": month}),
        gw.call(city, "GET", "/api/orders/visit-coverage", params={"month": month}),
        gw.call(city, "GET", "/api/orders/unmatched"),
        gw.call(city, "GET", "/api/vouchers/ledger/check"), plan_delivery(gw, city, b.plan_elder_ids, month))
    return {"by_kind": by_kind.body if by_kind.ok else {}, "findings": findings.body if findings.ok else [],
            "coverage": coverage.body if coverage.ok else {}, "unmatched": unmatched.body if unmatched.ok else [],
            "ledger": ledger.body if ledger.ok else {}, "plan_delivery": plans}


def summarise(play: Play, b: Built, gw: Gateway, *, before: dict, after: dict, views: dict, unsettled: int,
              meta: dict, timing: dict) -> dict:
    w, tracks, c = play.world, play.tracks, play.c
    outcomes = Counter(t.outcome for t in tracks)
    placed = [t for t in tracks if t.order_id]
    waits = [t.accepted_at - t.placed_at for t in placed if t.accepted_at and t.placed_at]
    ours_elders = {x for x in b.elder_ids if x}
    ours_providers = {x for x in b.provider_ids if x}
    # this run's spend: the platform's month report now, less what it said before the day
    delta: dict[str, dict[str, int]] = defaultdict(dict)
    for key in set(before) | set(after):
        fen = after.get(key, {}).get("voucher_fen", 0) - before.get(key, {}).get("voucher_fen", 0)
        if fen:
            delta[district_name(key[0])][KIND_NAMES.get(key[1], key[1])] = fen
    simulated = sum(t.voucher_fen for t in placed if t.outcome == "completed" and t.payment != "self_pay")
    simulated += sum(play.plan_completed.values())  # care plans' visits, voucher-paid like the rest
    reported = sum(sum(v.values()) for v in delta.values())
    ours = [f for f in views["findings"] if f.get("elder_id") in ours_elders or f.get("provider_id") in ours_providers]
    cov = views["coverage"] or {}
    sim_districts = {d.code for d in DISTRICTS}
    return {
        **meta,
        "world": {"elders": len(w.elders), "providers": len(w.providers), "caregivers": len(w.caregivers),
                  "accounts": b.accounts, "accounts_reused": b.accounts_reused,
                  "elders_by_district": {district_name(k): v for k, v in w.elders_by_district().items()},
                  "households": dict(Counter(e.household for e in w.elders)),
                  "rural_elders": sum(e.rural for e in w.elders), "elder_ids": [x for x in b.elder_ids if x],
                  "provider_ids": [x for x in b.provider_ids if x], "caregiver_ids": [x for x in b.caregiver_ids if x]},
        "orders": {
            "planned": len(tracks), "placed": len(placed), "matched": sum(1 for t in placed if t.accepted_at),
            "completed": outcomes["completed"], "settled": outcomes["completed"] - unsettled,
            "cancelled": outcomes["cancelled_early"] + outcomes["cancelled_late"],
            "cancelled_before_acceptance": outcomes["cancelled_early"], "cancelled_after_acceptance": outcomes["cancelled_late"],
            "unmatched": outcomes["unmatched"], "not_placed": outcomes["not_placed"],
            "unfinished": outcomes["unfinished"] + outcomes["failed"] + outcomes["taken_elsewhere"],
            "by_hotline": sum(t.hotline for t in placed), "voucher_paid": sum(t.payment != "self_pay" for t in placed),
            "self_paid": sum(t.payment == "self_pay" for t in placed), "voucher_spent_fell_back": c.fell_back,
            "declines": c.declined, "reviews": c.reviews,
            "order_ids": sorted(t.order_id for t in placed)},
        "time_to_acceptance_s": {"n": len(waits), "p50": _r(percentile(waits, 50)), "p95": _r(percentile(waits, 95)),
                                 "max": _r(max(waits) if waits else None)},
        "check_ins": {"exceptions": c.exceptions, "refused_first": c.refused_checkins},
        "care_plans": {**(meta.get("care_plans_built") or {}), "elder_ids": list(b.plan_elder_ids),
                       "orders_accepted": c.plan_accepted, "orders_completed": len(play.plan_completed),
                       "order_ids_completed": sorted(play.plan_completed),
                       "delivery": views.get("plan_delivery") or {}},
        "visits": {"accepted": c.visits_accepted, "done": c.visits_done,
                   "coverage": {"required": cov.get("required"), "visited": cov.get("visited"), "ratio": cov.get("ratio"),
                                "by_district": {district_name(d.get("district_code") or ""): [d.get("visited"), d.get("required")]
                                                for d in cov.get("districts", []) if d.get("district_code") in sim_districts}}},
        "voucher_spend": {"this_run_fen": dict(delta), "this_run_total_fen": reported,
                          "simulated_total_fen": simulated, "agrees": reported == simulated,
                          "month_by_kind_fen": {KIND_NAMES.get(r["key"], r["key"]): r["voucher_fen"]
                                                for r in (views["by_kind"] or {}).get("rows", [])},
                          "month_total_fen": (views["by_kind"] or {}).get("totals", {}).get("voucher_fen")},
        "anomalies": {"total": len(ours), "by_rule": dict(Counter(f["rule"] for f in ours)),
                      "titles": {f["rule"]: f["title"] for f in ours}, "from_compression": list(COMPRESSION_RULES)},
        "unmatched_listed": sum(1 for o in views["unmatched"] if o.get("elder_id") in ours_elders),
        "ledger_ok": (views["ledger"] or {}).get("ok"),
        "http": {"requests": gw.tally.requests, "by_class": gw.tally.by_class(), "errors": gw.tally.error_count,
                 "server_errors": gw.tally.server_errors(), "throttled": gw.tally.throttled,
                 "expected_refusals": gw.tally.expected_refusals, "p50_ms": _ms(percentile(gw.tally.seconds, 50)),
                 "p95_ms": _ms(percentile(gw.tally.seconds, 95)), "error_samples": gw.tally.errors[:10]},
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


def yuan(fen: int | None) -> str:
    return "–" if fen is None else f"{fen / 100:,.2f}"


def render(r: dict) -> str:
    o, a, h, v, s, w = r["orders"], r["time_to_acceptance_s"], r["http"], r["visits"], r["voucher_spend"], r["world"]
    reused = f" + {w['accounts_reused']} 个沿用 reused" if w.get("accounts_reused") else ""
    cp = r.get("care_plans") or {}
    d = cp.get("delivery") or {}
    lines = [
        "",
        f"有福 模拟报告 · simulation report — scale {r['scale']}, seed {r['seed']}, "
        f"{'steady ' + str(r.get('orders_per_s')) + ' orders/s' if r['mode'] == 'steady' else 'speed ' + str(r['speed']) + '×'}",
        f"城市 world      {w['elders']} 位老人 elders · {w['providers']} 家服务商 providers · {w['caregivers']} 名护理员 "
        f"caregivers · {w['accounts']} 个新账号 new accounts{reused} · 农村 rural {w['rural_elders']}",
        "               " + " · ".join(f"{k} {n}" for k, n in w["elders_by_district"].items()),
        f"订单 orders     下单 placed {o['placed']} · 接单 matched {o['matched']} · 完成 completed {o['completed']} "
        f"(已结算 settled {o['settled']}) · 取消 cancelled {o['cancelled']} · 未匹配 unmatched {o['unmatched']}",
        f"               热线代下单 by hotline {o['by_hotline']} · 用券 voucher-paid {o['voucher_paid']} · 自费 self-paid "
        f"{o['self_paid']} (券已用完改自费 fell back {o['voucher_spent_fell_back']}) · 拒单 declines {o['declines']} · "
        f"评价 reviews {o['reviews']}",
        f"接单用时 time to acceptance (real s)  p50 {a['p50']} · p95 {a['p95']} · max {a['max']} (n={a['n']})",
        f"签到异常 check-in exceptions  {r['check_ins']['exceptions']} (先被拒 refused first {r['check_ins']['refused_first']})",
        f"探访 visits     接单 accepted {v['accepted']} · 完成 done {v['done']} · 本月覆盖 coverage "
        f"{v['coverage']['visited']}/{v['coverage']['required']} ({_pct(v['coverage']['ratio'])})",
        f"护理计划 care plans  {cp.get('plans', 0)} 份 plans · 接单 accepted {cp.get('orders_accepted', 0)} · "
        f"完成 done {cp.get('orders_completed', 0)} · 本月 this month: 计划 planned {d.get('planned', 0)} · 应完成 due "
        f"{d.get('due', 0)} · 已完成 completed {d.get('completed', 0)} · 执行率 delivery ratio {_pct(d.get('ratio'))}"
        f"{'（尚无到期 nothing due yet）' if d and not d.get('due') else ''}"
        f" · 低于 80% below 80 % {d.get('elders_below_80', 0)}",
        f"代金券消费 voucher spend this run: {yuan(s['this_run_total_fen'])} 元 (模拟记账 simulated "
        f"{yuan(s['simulated_total_fen'])} 元, {'一致 agrees' if s['agrees'] else '不一致 DIFFERS'})",
    ]
    if r.get("stays"):
        st = r["stays"]
        lines.append(f"机构托养 stays  入住 admitted {st['admitted']} · 请假 on leave {st['on_leave']} · "
                     f"出院 discharged {st['discharged']}（模拟养老院 {str(st['institution_id'])[:8]}）")
    for district, kinds in sorted(s["this_run_fen"].items()):
        lines.append(f"               {district}: " + " · ".join(f"{k} {yuan(f)} 元" for k, f in kinds.items()))
    rules = ", ".join(f"{r['anomalies']['titles'].get(k, k)} {n}" for k, n in r["anomalies"]["by_rule"].items()) or "无 none"
    lines += [
        f"稽核线索 anomalies  {r['anomalies']['total']}: {rules}",
        "               (护理员服务时间重叠、行程速度异常 come from playing the day faster than real time)",
        f"账本检查 ledger check  {'通过 ok' if r['ledger_ok'] else '未通过 FAILED' if r['ledger_ok'] is False else '–'}",
        f"HTTP           {h['requests']} requests · {h['by_class']} · 错误 errors {h['errors']} · 5xx {h['server_errors']} · "
        f"429 {h['throttled']} · p50 {h['p50_ms']} ms · p95 {h['p95_ms']} ms",
    ]
    for e in h["error_samples"][:5]:
        lines.append(f"               ✗ {e['route']} → {e['status']} ({e['who']}): {e['detail'][:120]}")
    lines.append("用时 timing (s)  " + " · ".join(f"{k} {t}" for k, t in r["timing_s"].items()))
    return "\n".join(lines)


def _pct(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.0f}%"


def summary_line(r: dict) -> str:
    o, a = r["orders"], r["time_to_acceptance_s"]
    return (f"{r['world']['elders']} elders in 6 units, {o['placed']} orders: {o['completed']} completed, "
            f"{o['cancelled']} cancelled, {o['unmatched']} unmatched; acceptance p50 {a['p50']} s; "
            f"voucher spend {yuan(r['voucher_spend']['this_run_total_fen'])} 元; {r['http']['errors']} errors")
