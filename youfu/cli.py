"""The `youfu` command line."""
from __future__ import annotations

import argparse
import json
import os
import sys

from shared.settings import PROCESSES, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="youfu", description="有福 Youfu elderly-care platform")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start broker, services and gateway on this machine")
    up.add_argument("--no-seed", action="store_true", help="don't load demo data")
    up.add_argument("--replicas", type=int, default=1, metavar="N",
                    help="N processes of each service and of the gateway behind a local round-robin balancer on "
                         "the usual ports (needs PostgreSQL: YOUFU_<PROCESS>_DATABASE_URL)")
    sv = sub.add_parser("serve", help="run one process (used by `up` and in containers)")
    sv.add_argument("process", choices=PROCESSES)
    mg = sub.add_parser("migrate", help="apply migrations")
    mg.add_argument("process", nargs="*", help="gateway, assessment, providers, orders, vouchers (default: all)")
    sd = sub.add_parser("seed", help="load the demo data into the running platform (what `up` does on first start)",
                        description="Loads the demo accounts, the demo elder, provider and caregiver into the "
                                    "running platform (`youfu up`), through the gateway's API, and plays a demo city "
                                    "day (youfu simulate --scale demo) unless one was played. Idempotent: what is "
                                    "there already is kept, only what is missing is added; run it again any time.")
    sd.add_argument("--simulate", action=argparse.BooleanOptionalAction, default=None,
                    help="play the demo city day if none was played yet (default: yes, unless YOUFU_DEMO_SIMULATE=0)")
    br = sub.add_parser("broker", help="run only the Kafka-protocol broker")
    br.add_argument("--port", type=int, default=int(os.environ.get("YOUFU_BROKER_PORT", "9092")))
    sub.add_parser("asyncapi", help="print the AsyncAPI document of every event")
    _simulate_parser(sub)
    args = parser.parse_args(argv)
    settings = Settings()

    if args.command == "up":
        from youfu.launcher import up as run_up

        return run_up(settings, seed=not args.no_seed, replicas=max(1, args.replicas))
    if args.command == "serve":
        from youfu.launcher import serve

        return serve(args.process, settings)
    if args.command == "migrate":
        from shared.migrations import upgrade

        for process in args.process or PROCESSES:
            upgrade(process, settings.database_url(process))
            print(f"✓ {process} migrated")
        return 0
    if args.command == "seed":
        return seed(settings, simulate=args.simulate)
    if args.command == "broker":
        import signal
        import time

        from youfu.broker import port_open, start_broker, stop_process

        if port_open("127.0.0.1", args.port):
            print(f"✗ port {args.port} in use: pass --port or set YOUFU_BROKER_PORT", file=sys.stderr)
            return 1
        proc, bootstrap = start_broker(args.port)
        print(f"✓ broker on {bootstrap}; export YOUFU_KAFKA_BOOTSTRAP={bootstrap}.  Ctrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(proc)
        return 0
    if args.command == "simulate":
        from youfu.simulate.runner import main as simulate_main

        return simulate_main(args, settings)
    if args.command == "asyncapi":
        from shared.asyncapi import asyncapi_document

        print(json.dumps(asyncapi_document(), ensure_ascii=False, indent=2))
        return 0
    return 2


def seed(settings: Settings, *, simulate: bool | None = None) -> int:
    """`youfu seed`: the demo data in the running platform, once; then the demo city day, once."""
    from youfu.launcher import _simulate_demo_day, demo_day_wanted
    from youfu.seed import WORLD_FILE, SeedError, check_running, gateway_url, mark_seeded, seed_demo, seeded

    gateway = gateway_url(settings)
    try:
        check_running(gateway)
        if seeded(settings):
            mark_seeded(settings)  # `up` need not look again
            print(f"✓ demo data already loaded ({settings.var_dir / 'demo-accounts.json'}); nothing added")
        else:
            print(f"✓ loading the demo data through {gateway}")
            accounts = seed_demo(settings)
            print(f"✓ demo data loaded: {len(accounts)} accounts, the demo elder, provider and caregiver")
            print(f"Demo accounts (password for each is in {settings.var_dir / 'demo-accounts.json'}):")
            for a in accounts:
                print(f"  {a['role']:<15} {a['phone']}  {a['password']}")
            world = json.loads((settings.var_dir / WORLD_FILE).read_text())
            if world.get("alarm_device_token"):
                print(f"Demo alarm device of the demo elder (X-Device-Token for POST /api/orders/device/alarms):\n"
                      f"  {world['alarm_device_token']}")
    except SeedError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    if simulate is False or (simulate is None and not demo_day_wanted()):
        return 0
    report = settings.var_dir / "demo-simulation.json"
    if report.exists():
        print(f"✓ demo city day already played ({report}); `youfu simulate` plays another")
        return 0
    return 0 if _simulate_demo_day(settings) else 1


def _simulate_parser(sub) -> None:
    from pathlib import Path

    from youfu.simulate.city import SCALES

    sm = sub.add_parser("simulate", help="drive a synthetic city day through the gateway and report what happened",
                        description="Builds a synthetic city (elders, assessments, providers, caregivers, accounts) "
                                    "through the gateway, plays a day of orders in compressed time with a progress "
                                    "line, then prints the report. Scales: " + "; ".join(
                                        f"{s.name}: {s.note}" for s in SCALES.values()))
    sm.add_argument("--scale", choices=list(SCALES), default="demo")
    sm.add_argument("--gateway", help="gateway URL (default: this machine's, YOUFU_GATEWAY_PORT)")
    sm.add_argument("--seed", type=int, default=1, help="the world and the day (same seed, same city)")
    sm.add_argument("--speed", type=float, help="simulated seconds per real second (default: the scale's)")
    sm.add_argument("--json", type=Path, help="also write the report here as JSON")
    sm.add_argument("--peak-multiple", type=float,
                    help="instead of a day: steady traffic at this multiple of the city's peak order rate")
    sm.add_argument("--minutes", type=float, help="how long the steady traffic runs (default 10)")
    sm.add_argument("--admin-phone", help="admin account (default: var/demo-accounts.json)")
    sm.add_argument("--admin-password")
    sm.add_argument("--no-keep-clear", action="store_true",
                    help="place people anywhere, even near the demo world of var/demo-world.json")
    sm.add_argument("--quiet", action="store_true", help="no progress line and no printed report")


if __name__ == "__main__":
    raise SystemExit(main())
