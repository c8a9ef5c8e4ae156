"""The gateway's proxy over a connection that drops: a keyed write or a GET is sent again (the
service's idempotency makes that safe), an unkeyed write is not, and the caller gets 503
problem+json naming the service rather than a 500. The upstream is a real TCP server on
loopback that hangs up on the first request it reads on each connection it is told to."""
from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI, Request

from gateway.proxy import forward
from shared.http import make_session
from shared.problem import install_problem_handlers


class FlakyUpstream:
    """HTTP/1.1 on loopback: the first `drops` requests are read and then the connection is
    closed without an answer (a service that died or closed a kept-alive connection mid-request);
    later ones get 201 with a JSON body naming how many it has seen."""

    def __init__(self, drops: int) -> None:
        self.drops, self.seen = drops, []
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                self.seen.append((head.split(b" ")[0].decode(), body))
                if len(self.seen) <= self.drops:
                    writer.close()
                    return
                writer.write(self.answer())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def answer(self) -> bytes:
        payload = b'{"seen": %d}' % len(self.seen)
        return (b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(payload), payload))

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def proxy_app(upstream_url: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    client = make_session(5.0)

    @app.api_route("/api/{service}/{path:path}", methods=["GET", "POST"])
    async def proxied(service: str, path: str, request: Request):
        return await forward(client, upstream_url, service, request, path)

    return app


async def test_keyed_writes_and_reads_are_sent_again_unkeyed_writes_are_not(serve_app):
    for method, headers, retried in (("POST", {"Idempotency-Key": "k-1"}, True), ("GET", {}, True),
                                     ("POST", {}, False)):
        upstream = FlakyUpstream(drops=1)
        gateway = await serve_app(proxy_app(await upstream.start()))
        try:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as caller:
                r = await caller.request(method, "/api/orders/orders", headers=headers,
                                         content=b'{"a": 1}' if method == "POST" else None)
        finally:
            await upstream.stop()
        if retried:
            assert r.status_code == 201 and r.json() == {"seen": 2}, (method, headers, r.text)
            assert [m for m, _ in upstream.seen] == [method, method]
            assert upstream.seen[0][1] == upstream.seen[1][1]  # the same body both times
        else:
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["service"] == "orders" and "暂时无法访问" in r.json()["detail"]
            assert len(upstream.seen) == 1  # sent once: the service may have acted on it


async def test_a_keyed_write_gives_up_after_three_tries(serve_app):
    upstream = FlakyUpstream(drops=10)
    gateway = await serve_app(proxy_app(await upstream.start()))
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as caller:
            r = await caller.post("/api/vouchers/holds", headers={"Idempotency-Key": "k-2"}, json={"x": 1})
    finally:
        await upstream.stop()
    assert r.status_code == 503 and r.json()["service"] == "vouchers" and len(upstream.seen) == 3


class GzipUpstream(FlakyUpstream):
    """Answers every request with a gzip-encoded JSON body and says so in Content-Encoding."""

    def __init__(self) -> None:
        super().__init__(drops=0)

    def answer(self) -> bytes:
        import gzip

        payload = gzip.compress('{"名字": "王大爷"}'.encode())
        return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(payload), payload))


async def test_an_encoded_body_passes_through_with_its_encoding(serve_app):
    upstream = GzipUpstream()
    gateway = await serve_app(proxy_app(await upstream.start()))
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as caller:
            r = await caller.get("/api/orders/orders")
    finally:
        await upstream.stop()
    # the proxy neither decodes the body nor drops the header that says how to: the caller can
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.json() == {"名字": "王大爷"}
