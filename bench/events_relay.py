"""Benchmark: outbox relay throughput vs raw kafka-python produce, through the same broker.

    .venv/bin/python bench/events_relay.py            # 20,000 events
    .venv/bin/python bench/events_relay.py --quick    # 2,000 events

Both sides send the same CloudEvents JSON payloads (≈ 450 bytes) to a fresh topic of a broker
started here. Raw: one idempotent KafkaProducer, send all, flush. Relay: the rows are already
committed in the outbox (PostgreSQL when one answers, else SQLite); the relay claims batches of
500, sends them through the same kind of producer, and marks them sent — the whole path a
production event takes after its transaction commits. Target: relay ≥ 50% of raw.
Writes bench/results/events_relay.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel  # noqa: E402

from shared.db import Database, utcnow  # noqa: E402
from shared.events import event_type, make_event  # noqa: E402
from shared.kernel_models import (
    KernelBase,  # noqa: E402
    OutboxRow,  # noqa: E402
)
from shared.outbox import KafkaLink, OutboxRelay  # noqa: E402
from youfu.broker import start_broker, stop_process  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


@event_type("youfu.bench.completed.v1", topic="youfu.bench", key="order_id")
class BenchCompleted(BaseModel):
    order_id: str
    elder_id: str
    provider_id: str
    amount_fen: int
    voucher_fen: int
    service_code: str
    duration_min: int
    checkin_distance_m: float
    completed_at: str


def payloads(n: int) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        e = make_event(BenchCompleted(order_id=str(uuid.uuid4()), elder_id=str(uuid.uuid4()),
                                      provider_id=str(uuid.uuid4()), amount_fen=3000 + i % 500, voucher_fen=2700,
                                      service_code="meal", duration_min=30, checkin_distance_m=42.5,
                                      completed_at=utcnow().isoformat()), source="/youfu/bench")
        out.append((e.id, e.subject, e.to_json()))
    return out


def raw_produce(bootstrap: str, topic: str, events) -> float:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)
    p.send(topic, key=b"warm", value=b"{}").get(10)
    started = time.perf_counter()
    futures = [p.send(topic, key=key.encode(), value=payload.encode()) for _, key, payload in events]
    p.flush()
    for f in futures:
        f.get(0)
    elapsed = time.perf_counter() - started
    p.close()
    return elapsed


async def relay_produce(bootstrap: str, url: str, topic: str, events) -> float:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(KernelBase.metadata.drop_all)
        await conn.run_sync(KernelBase.metadata.create_all)
    async with db.transaction() as s:
        now = utcnow()
        s.add_all([OutboxRow(event_id=eid, topic=topic, key=key, type="youfu.bench.completed.v1", payload=payload,
                             created_at=now) for eid, key, payload in events])
    link = KafkaLink(bootstrap, client_id="bench-relay")
    relay = OutboxRelay(db, link, batch=500)
    await asyncio.to_thread(lambda: link.producer().send(topic, key=b"warm", value=b"{}").get(10))
    started = time.perf_counter()
    sent = 0
    while True:
        n = await relay.relay_once()
        if n == 0:
            break
        sent += n
    elapsed = time.perf_counter() - started
    assert sent == len(events), (sent, len(events))
    await asyncio.to_thread(link.close)
    await db.dispose()
    return elapsed


def pg_url() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return None
    import asyncpg

    name = f"yf_bench_{uuid.uuid4().hex[:8]}"

    async def create():
        conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database="postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import asyncpg

    async def drop():
        conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database="postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 2000 if args.quick else 20000
    proc, bootstrap = start_broker()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-relay-{uuid.uuid4().hex[:6]}.db"
    url = pg_url() or f"sqlite+aiosqlite:///{tmp}"
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        events = payloads(n)
        raw_s = raw_produce(bootstrap, f"bench.raw.{uuid.uuid4().hex[:6]}", events)
        relay_s = asyncio.run(relay_produce(bootstrap, url, f"bench.relay.{uuid.uuid4().hex[:6]}", events))
    finally:
        stop_process(proc)
        if backend == "postgresql":
            drop_database(url.rsplit("/", 1)[1])
    raw_rate, relay_rate = n / raw_s, n / relay_s
    result = {"benchmark": "events_relay", "events": n, "backend": backend, "cores": os.cpu_count(),
              "raw_events_per_s": round(raw_rate), "relay_events_per_s": round(relay_rate),
              "relay_fraction_of_raw": round(relay_rate / raw_rate, 3), "target_fraction": 0.5}
    print(f"events: {n}  backend: {backend}  cores: {os.cpu_count()}")
    print("| path | events/s |\n|---|---:|")
    print(f"| raw kafka-python produce | {raw_rate:,.0f} |")
    print(f"| outbox relay ({backend} → broker, mark sent) | {relay_rate:,.0f} |")
    print(f"relay / raw = {relay_rate / raw_rate:.2f}  (target ≥ 0.50)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events_relay.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
