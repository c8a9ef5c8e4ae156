"""A small local load balancer for `youfu up --replicas N` and the replica fault test: one port per
service (and one for the gateway) in front of that service's replicas, round robin per request.

In Kubernetes the Service does this; on one machine this stands in for it (docs/decisions.md D61).
It is a few dozen lines on aiohttp (already the platform's HTTP client):

- each request goes to the next replica in turn (per request, not per connection: a keep-alive
  client is spread over every replica);
- a replica that refuses the connection (killed, not started yet) is marked down for
  `DOWN_FOR_S` and the request goes to the next one at once: nothing was sent, so this is safe
  for every method;
- a replica that dies while answering: a safe request (GET, HEAD, OPTIONS) is sent again to
  another replica; a write answers 502 problem+json, and the client repeats it with its
  Idempotency-Key (the platform's rule for every retryable write), which the idempotency record
  answers once;
- bodies stream both ways (the gateway's server-sent notices pass through), compressed bodies
  pass untouched;
- `GET /_balancer` answers its counts (per replica: requests, refused, failed in flight, retried).

    python -m youfu.balancer orders=8003=http://127.0.0.1:18031,http://127.0.0.1:18032 gateway=8000=…
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

DOWN_FOR_S = 1.0
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                        "transfer-encoding", "upgrade", "host", "content-length"})
MAX_BODY = 64 * 1024 * 1024


@dataclass
class Backend:
    url: str
    down_until: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {"requests": 0, "refused": 0, "failed_in_flight": 0,
                                                             "retried_elsewhere": 0})


class Pool:
    """The replicas of one service and the round-robin turn."""

    def __init__(self, name: str, urls: list[str]) -> None:
        self.name = name
        self.backends = [Backend(u.rstrip("/")) for u in urls]
        self._turn = itertools.cycle(range(len(self.backends)))
        self.answered_502 = 0

    def order(self) -> list[Backend]:
        """Every replica once, starting at the next turn; those marked down last."""
        start = next(self._turn)
        ring = self.backends[start:] + self.backends[:start]
        now = time.monotonic()
        return [b for b in ring if b.down_until <= now] + [b for b in ring if b.down_until > now]

    def stats(self) -> dict:
        return {"service": self.name, "answered_502": self.answered_502,
                "replicas": {b.url: dict(b.counts) for b in self.backends}}


def problem_502(pool: Pool, detail: str) -> web.Response:
    pool.answered_502 += 1
    body = {"type": "about:blank", "title": "上游服务中断", "status": 502, "code": "replica_failed",
            "detail": f"{pool.name} 的一个副本在处理请求时中断：{detail}。请用同一个 Idempotency-Key 重试。"}
    return web.Response(status=502, body=json.dumps(body, ensure_ascii=False).encode(),
                        content_type="application/problem+json", headers={"Retry-After": "1"})


def make_app(pool: Pool) -> web.Application:
    session: dict[str, aiohttp.ClientSession] = {}

    async def on_startup(app: web.Application) -> None:
        session["s"] = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, connect=2, sock_read=180),
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=2))

    async def on_cleanup(app: web.Application) -> None:
        await session["s"].close()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(pool.stats())

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote or ""
        path = request.rel_url.raw_path_qs
        last = "没有可用的副本"
        for backend in pool.order():
            try:
                upstream = await session["s"].request(request.method, backend.url + path, headers=headers,
                                                      data=body or None, allow_redirects=False)
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: the next replica, for any method
                backend.counts["refused"] += 1
                backend.down_until = time.monotonic() + DOWN_FOR_S
                last = str(exc)
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # sent, then the replica went away
                backend.counts["failed_in_flight"] += 1
                backend.down_until = time.monotonic() + DOWN_FOR_S
                if request.method in SAFE:
                    backend.counts["retried_elsewhere"] += 1
                    last = repr(exc)
                    continue
                return problem_502(pool, type(exc).__name__)
            backend.counts["requests"] += 1
            try:
                return await relay(request, upstream)
            finally:
                upstream.release()
        return problem_502(pool, last[:200])

    async def relay(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        length = upstream.headers.get("Content-Length")
        if length is not None and int(length) <= 1024 * 1024:
            data = await upstream.read()
            return web.Response(status=upstream.status, body=data, headers=out_headers)
        resp = web.StreamResponse(status=upstream.status, headers=out_headers)
        await resp.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionResetError):
            pass  # the replica went away mid-stream: end the stream; the client reconnects
        await resp.write_eof()
        return resp

    app = web.Application(client_max_size=MAX_BODY)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/_balancer", stats)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def serve(pools: list[tuple[Pool, str, int]]) -> None:
    runners = []
    for pool, host, port in pools:
        runner = web.AppRunner(make_app(pool), access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port, backlog=1024).start()
        runners.append(runner)
    print("balancing " + "; ".join(f"{p.name} {h}:{port} → {len(p.backends)} replicas" for p, h, port in pools),
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


def parse(spec: str, host: str) -> tuple[Pool, str, int]:
    """`name=port=url,url,…`"""
    name, port, urls = spec.split("=", 2)
    return Pool(name, urls.split(",")), host, int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m youfu.balancer", description=__doc__.split("\n\n")[0])
    ap.add_argument("pools", nargs="+", help="name=port=url,url,… (one per service)")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve([parse(s, args.host) for s in args.pools]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
