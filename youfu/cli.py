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
    sv = sub.add_parser("serve", help="run one process (used by `up` and in containers)")
    sv.add_argument("process", choices=PROCESSES)
    mg = sub.add_parser("migrate", help="apply migrations")
    mg.add_argument("process", nargs="*", help="gateway, assessment, providers, orders, vouchers (default: all)")
    br = sub.add_parser("broker", help="run only the Kafka-protocol broker")
    br.add_argument("--port", type=int, default=int(os.environ.get("YOUFU_BROKER_PORT", "9092")))
    sub.add_parser("asyncapi", help="print the AsyncAPI document of every event")
    args = parser.parse_args(argv)
    settings = Settings()

    if args.command == "up":
        from youfu.launcher import up as run_up

        return run_up(settings, seed=not args.no_seed)
    if args.command == "serve":
        from youfu.launcher import serve

        return serve(args.process, settings)
    if args.command == "migrate":
        from shared.migrations import upgrade

        for process in args.process or PROCESSES:
            upgrade(process, settings.database_url(process))
            print(f"✓ {process} migrated")
        return 0
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
    if args.command == "asyncapi":
        from shared.asyncapi import asyncapi_document

        print(json.dumps(asyncapi_document(), ensure_ascii=False, indent=2))
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
