"""Benchmark: CPU per request of the HTTP client the services use between themselves (aiohttp)
against the one they used before (httpx), both against the same bare FastAPI app.

    .venv/bin/python bench/http_clients.py

Why it matters: every order crosses the gateway's proxy twice (place, accept) and the orders
service calls providers for candidates (and vouchers for a hold): the client's own CPU is paid on
every hop, on a 2-core machine that also runs five services, PostgreSQL and the broker.

What runs: the bare "hello" app from bench/live_platform.py in its own process; this process
sends 3,000 POSTs with a small JSON body, 1 at a time and 20 in flight, with each client pooled
as the platform pools it (shared/http.py, gateway/proxy.py), after 200 to warm up. Printed: the
client process's CPU per request (time.process_time, so the server's CPU is not in it) and the
wall time, and the ratio httpx ÷ aiohttp. Writes bench/results/http_clients.json.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from live_platform import load_note, start_hello, stop_process  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
N = 3000
BODY = b'{"elder_id": "3f1c", "service_code": "meal"}'
HEADERS = {"content-type": "application/json"}


async def with_httpx(url: str, n: int, in_flight: int) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=64, keepalive_expiry=2.0)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        async def loop() -> None:
            for _ in range(n // in_flight):
                r = await client.request("POST", url, content=BODY, headers=HEADERS)
                assert r.status_code == 201
        await asyncio.gather(*(loop() for _ in range(in_flight)))


async def with_aiohttp(url: str, n: int, in_flight: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from shared.http import make_session

    async with make_session(10.0) as session:
        async def loop() -> None:
            for _ in range(n // in_flight):
                async with session.request("POST", url, data=BODY, headers=HEADERS) as r:
                    await r.read()
                    assert r.status == 201
        await asyncio.gather(*(loop() for _ in range(in_flight)))


async def measure(url: str) -> list[dict]:
    rows = []
    for in_flight in (1, 20):
        row: dict = {"in_flight": in_flight}
        for name, run in (("httpx", with_httpx), ("aiohttp", with_aiohttp)):
            await run(url, 200, in_flight)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await run(url, N, in_flight)
            row[f"{name}_cpu_us"] = round((time.process_time() - cpu0) / N * 1e6)
            row[f"{name}_wall_s"] = round(time.perf_counter() - wall0, 2)
        row["ratio"] = round(row["httpx_cpu_us"] / row["aiohttp_cpu_us"], 1)
        rows.append(row)
    return rows


def main() -> None:
    proc, base = start_hello()
    try:
        rows = asyncio.run(measure(base + "/hello"))
    finally:
        stop_process(proc)
    print(f"cores: {os.cpu_count()}  {load_note()}  {N} POSTs per client and level")
    print("| in flight | httpx CPU µs/request | aiohttp CPU µs/request | httpx ÷ aiohttp | wall httpx s | wall aiohttp s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['in_flight']} | {r['httpx_cpu_us']} | {r['aiohttp_cpu_us']} | {r['ratio']}× | "
              f"{r['httpx_wall_s']} | {r['aiohttp_wall_s']} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http_clients.json").write_text(json.dumps(
        {"benchmark": "http_clients", "cores": os.cpu_count(), "requests": N, "load": load_note(),
         "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
