"""One simulation run: build the city through the gateway, play the day (or steady peak traffic),
let it settle, read the officers' views, report. `youfu simulate` and `youfu up`'s demo data call
`simulate`; `make soak` runs the command line."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from shared.city import CITY_TZ
from youfu.seed import MEAL_POINT_STAFF, PROVIDER_OF
from youfu.simulate import day as D
from youfu.simulate import staff as kept_staff
from youfu.simulate.alarms import Alarms
from youfu.simulate.build import Builder
from youfu.simulate.city import SCALES, generate_world
from youfu.simulate.http import Gateway, Session, SimulationError
from youfu.simulate.meals import Counter, Lunch
from youfu.simulate.places import KeepClear
from youfu.simulate.plans import build_plans
from youfu.simulate.play import Play
from youfu.simulate.progress import Progress, bar
from youfu.simulate.report import officers_read, render, spend_matrix, summarise, wait_settled
from youfu.simulate.stays import Stays


@dataclass
class SimConfig:
    gateway: str
    admin_phone: str
    admin_password: str
    scale: str = "demo"
    seed: int = 1
    speed: float | None = None  # simulated seconds per real second (default: the scale's)
    json_path: Path | None = None
    keep_clear: tuple[KeepClear, ...] = ()
    peak_multiple: float | None = None  # steady traffic at this multiple of the city's peak rate
    minutes: float | None = None  # how long the steady traffic runs (real minutes)
    quiet: bool = False  # no progress line, no phase lines, no printed report
    print_report: bool = True
    run_tag: int | None = None
    drain_s: float = 90.0
    staff_file: Path | None = None  # staff kept between runs (youfu/simulate/staff.py); None: always new
    counters: tuple[Counter, ...] = ()  # the demo meal points' counters: elders eat there at noon (meals.py)


def config_from_var(var_dir: Path, *, gateway: str, phone: str | None = None, password: str | None = None,
                    **kw) -> SimConfig:
    """The admin from var/demo-accounts.json (unless given), and the demo world to keep clear of
    from var/demo-world.json: simulated people never take the demo provider's caregiver, and no
    simulated caregiver reaches the demo elder or anyone the tests place near the 海陵 centre."""
    if not (phone and password):
        path = var_dir / "demo-accounts.json"
        if not path.exists():
            raise SimulationError(f"no admin account: {path} is missing; pass --admin-phone/--admin-password "
                                  f"(or YOUFU_SIM_ADMIN_PHONE/YOUFU_SIM_ADMIN_PASSWORD)")
        admin = next((a for a in json.loads(path.read_text()) if a["role"] == "admin"), None)
        if admin is None:
            raise SimulationError(f"{path} holds no admin account")
        phone, password = admin["phone"], admin["password"]
    keep, counters = [], []
    world = var_dir / "demo-world.json"
    if world.exists():
        demo = json.loads(world.read_text())
        lat, lon = demo["provider_location"]
        keep.append(KeepClear(lat, lon))
        listed = var_dir / "demo-accounts.json"
        accounts = {a["phone"]: a for a in json.loads(listed.read_text())} if listed.exists() else {}
        counters = [Counter(demo[PROVIDER_OF[p]], p, accounts[p]["password"]) for _, p, _ in MEAL_POINT_STAFF
                    if demo.get(PROVIDER_OF[p]) and p in accounts]
    kw.setdefault("staff_file", var_dir / "simulation-staff.json")
    return SimConfig(gateway=gateway, admin_phone=phone, admin_password=password, keep_clear=tuple(keep),
                     counters=tuple(counters), **kw)


async def simulate(cfg: SimConfig, out: TextIO = sys.stdout) -> dict:
    scale = SCALES[cfg.scale]
    steady = cfg.peak_multiple is not None
    speed = cfg.speed or scale.speed
    today = datetime.now(CITY_TZ).date()
    month = f"{today:%Y-%m}"
    run_tag = cfg.run_tag if cfg.run_tag is not None else secrets.randbelow(10_000)
    world = generate_world(scale, seed=cfg.seed, run_tag=run_tag, keep_clear=cfg.keep_clear, today=today)
    rate = D.city_peak_orders_per_s() * cfg.peak_multiple if steady else None
    duration_s = (cfg.minutes or 10) * 60 if steady else D.DAY_SECONDS / speed
    plans = (D.steady_orders(world, rate_per_s=rate, duration_s=duration_s, seed=cfg.seed) if steady
             else D.plan_day(world, seed=cfg.seed))
    progress = Progress(out, quiet=cfg.quiet)
    gw = Gateway(cfg.gateway)
    timing: dict[str, float] = {}
    ticker = asyncio.create_task(progress.run())
    builder = play = stays_day = None
    platform = ""
    try:
        started = time.monotonic()
        progress.phase("setup", f"建城 building the city: {len(world.elders)} elders, {len(world.providers)} providers, "
                                f"{len(world.caregivers)} caregivers (run tag {run_tag:04d})")
        admin = await Session("admin", cfg.admin_phone, cfg.admin_password, "admin").login(gw)
        me = await gw.call(admin, "GET", "/api/auth/me")
        platform = str(me.body.get("id") or "") if me.ok else ""  # the platform, known by its admin's id
        builder = Builder(gw, world, admin, today=today)
        b = builder.b
        progress.render = lambda: (f"建城 setup {bar(b.steps_done / b.steps_total)}  账号 accounts {b.accounts}"
                                   f"{f' (+{b.accounts_reused} 沿用 reused)' if b.accounts_reused else ''}  "
                                   f"老人 elders {sum(x is not None for x in b.elder_ids)}/{len(world.elders)}  "
                                   f"服务商 providers {sum(x is not None for x in b.provider_ids)}/{len(world.providers)}")
        await builder.staff(kept_staff.load(cfg.staff_file, platform) if platform else [])
        if platform:
            kept_staff.save(cfg.staff_file, platform, b.staff_kept)
        baseline = await builder.coverage_required(month)
        await builder.build_providers()
        stays = None if steady else Stays(builder, today=today, seed=cfg.seed)
        if stays:
            await stays.build()
        play = Play(gw, world, b, plans, speed=speed, steady=steady, poll_s=scale.poll_s, seed=cfg.seed)
        play.start_work()  # provider desks and caregivers are at work while the elders are registered
        await builder.build_elders()
        missing = await builder.wait_for_vouchers()
        if missing:
            progress.say(f"  ! {missing} elders' vouchers had not arrived after 60 s; they order self-paid if refused")
        visits = await builder.plan_visits(month, baseline)
        before = await spend_matrix(gw, b.city_officer, month)
        # after the spend is read: the plans' first visits are served (and paid) at once
        plans_started = time.monotonic()
        care_plans = await build_plans(builder, datetime.now(CITY_TZ))
        timing["plans"] = time.monotonic() - plans_started
        progress.done()
        timing["setup"] = time.monotonic() - started

        started = time.monotonic()
        what = (f"稳定高峰流量 steady traffic {rate:.2f} orders/s ({cfg.peak_multiple}× the city's peak "
                f"{D.city_peak_orders_per_s():.2f}/s) for {duration_s / 60:.1f} min" if steady else
                f"模拟一天 playing 06:00–20:00 at {speed:g}× ({duration_s:.0f} s)")
        progress.phase("play", what)
        at_play = gw.tally.snapshot()
        c = play.c
        progress.render = lambda: (
            f"{'模拟' if not steady else '流量'} {play.sim_clock()} "
            f"{bar((time.monotonic() - play.t0) / duration_s) if play.placing else '收尾 draining'}  "
            f"下单 {c.placed} 接单 {c.accepted} 完成 {c.completed} 取消 {c.cancelled} 未匹配 {c.unmatched} "
            f"探访 {c.visits_done}  错误 errors {gw.tally.error_count}")
        phase_watch = asyncio.create_task(_announce_drain(play, progress))
        stays_day = asyncio.create_task(stays.play(duration_s)) if stays else None
        lunch = Lunch(gw, world, b, list(cfg.counters), speed=speed, seed=cfg.seed) if cfg.counters and not steady else None
        eating = asyncio.create_task(lunch.run(time.monotonic())) if lunch else None  # the day starts now
        alarms = None if steady else Alarms(gw, world, b, speed=speed, seed=cfg.seed)
        calling = asyncio.create_task(alarms.run(time.monotonic())) if alarms else None
        await play.run(drain_s=cfg.drain_s)
        if eating:
            await eating
        if calling:
            await calling
        phase_watch.cancel()
        if stays_day:
            await stays_day
        progress.done()
        timing["play"] = time.monotonic() - started
        during_play = gw.tally.since(at_play)

        started = time.monotonic()
        progress.phase("report", "结算与报表 settling and reading the reports")
        unsettled = await wait_settled(gw, b.city_officer, play)
        after = await spend_matrix(gw, b.city_officer, month)
        views = await officers_read(gw, b, month)
        timing["report"] = time.monotonic() - started
        meta = {"scale": scale.name, "seed": cfg.seed, "run_tag": run_tag, "mode": "steady" if steady else "day",
                "speed": speed, "orders_per_s": round(rate, 3) if rate else None, "peak_multiple": cfg.peak_multiple,
                "city_peak_orders_per_s": round(D.city_peak_orders_per_s(), 3), "month": month,
                "gateway": cfg.gateway, "visit_orders_planned": visits, "care_plans_built": care_plans,
                "http_during_play": during_play,
                "placed_per_s": round(play.c.placed / max(1e-9, duration_s), 3)}
        report = summarise(play, b, gw, before=before, after=after, views=views, unsettled=unsettled, meta=meta,
                           timing=timing)
        if stays:
            report["stays"] = stays.summary()
        if alarms:
            report["alarms"] = alarms.report()
        if lunch:  # the subsidies taken at the counters are voucher spend of this run too
            report["meals"] = lunch.report()
            spend = report["voucher_spend"]
            spend["simulated_total_fen"] += lunch.subsidy_fen
            spend["agrees"] = spend["simulated_total_fen"] == spend["this_run_total_fen"]
    finally:
        ticker.cancel()
        if stays_day is not None and not stays_day.done():
            stays_day.cancel()
        if play is not None:
            await play.stop_work()
        if builder is not None and builder.b.officers:
            await builder.close_providers()
        if builder is not None and platform:  # their refresh tokens may have turned over during the run
            kept_staff.save(cfg.staff_file, platform, builder.b.staff_kept)
        await gw.close()
    progress.phase("done", "完成 finished")
    if not cfg.quiet and cfg.print_report:
        print(render(report), file=out, flush=True)
        if "meals" in report:
            m = report["meals"]
            print(f"助餐 meals at the counter  {m['meals']} 餐 at {m['meal_points']} 个助餐点 meal points · 补贴 subsidy "
                  f"{m['subsidy_fen'] / 100:.2f} 元 · 被拒 refused {m['refused']}", file=out, flush=True)
        if "alarms" in report:
            a = report["alarms"]
            print(f"紧急呼叫 emergency alarms  {a['raised']} raised · {a['acknowledged']} acknowledged · "
                  f"{a['escalated']} escalated · {a['closed']} closed", file=out, flush=True)
    if cfg.json_path:
        Path(cfg.json_path).write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return report


async def _announce_drain(play: Play, progress: Progress) -> None:
    while play.placing:
        await asyncio.sleep(0.2)
    progress.phase("drain", "收尾 no new orders; finishing the ones under way")


def run(cfg: SimConfig, out: TextIO = sys.stdout, *, stop_on_sigterm: bool = False) -> dict:
    """One run. `stop_on_sigterm` (the command line): SIGTERM ends it as Ctrl-C does, through the
    cleanup that takes this run's providers off the platform (their desks stop answering)."""
    async def stoppable() -> dict:
        if stop_on_sigterm:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        return await simulate(cfg, out)

    return asyncio.run(stoppable())


def main(args, settings) -> int:
    """`youfu simulate` (arguments parsed in youfu/cli.py)."""
    gateway = args.gateway or os.environ.get("YOUFU_SIM_GATEWAY") or f"http://{settings.host}:{settings.port('gateway')}"
    try:
        cfg = config_from_var(settings.var_dir, gateway=gateway,
                              phone=args.admin_phone or os.environ.get("YOUFU_SIM_ADMIN_PHONE"),
                              password=args.admin_password or os.environ.get("YOUFU_SIM_ADMIN_PASSWORD"),
                              scale=args.scale, seed=args.seed, speed=args.speed, json_path=args.json,
                              peak_multiple=args.peak_multiple, minutes=args.minutes, quiet=args.quiet)
        if args.no_keep_clear:
            cfg.keep_clear = ()
        report = run(cfg, stop_on_sigterm=True)
    except SimulationError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("✗ 模拟已中止", file=sys.stderr)
        return 130
    return 0 if report["http"]["errors"] == 0 else 2
