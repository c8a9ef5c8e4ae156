"""Notices of the signed-in account: the inbox (last 50), marking read, and the live stream (SSE).

The stream carries only the caller's own notices. It is opened with the bearer token like every
/api route, or — for the browser's `EventSource`, which sends no header — with a ticket:
`POST /api/notices/ticket` (bearer) answers a token of its own type, valid for a minute, good for
nothing but opening this stream (decisions D53); the session behind it is checked when it is used.
Event name = the notice's kind, data = the notice JSON, id = its arrival number (`seq`): a page
that reconnects with `Last-Event-ID` (header, or `last_event_id`) gets what arrived meanwhile from
the inbox first. A comment line every `notices_heartbeat_s` keeps
proxies from closing it; it ends when the access token expires (the page reconnects with a fresh one).
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from gateway import notices
from gateway.api.auth import Caller
from gateway.rules.notices import RULES, kind_of
from gateway.runtime import Runtime
from gateway.schemas import NoticeList, NoticesReadIn, NoticesReadOut, NoticeTicketOut
from shared.app import Ctx
from shared.auth import Principal
from shared.errors import DomainError, Forbidden, Unauthorized

router = APIRouter(prefix="/api", tags=["notices"])
STREAM_TYPE = "text/event-stream"
TICKET_TYPE = "notices"  # the `typ` of a ticket: refused as an access token anywhere else
TICKET_TTL = timedelta(seconds=60)
KINDS = sorted({kind_of(t) for t in RULES})


class NotAcceptable(DomainError):
    status, code, title = 406, "not_acceptable", "请求的格式不支持"


def _own_inbox(caller: Principal) -> str:
    if caller.is_service:
        raise Forbidden("服务账号没有通知")
    return caller.user_id


@router.get("/notices", response_model=NoticeList, summary="我的通知（最近 50 条）")
async def list_notices(caller: Caller, ctx: Ctx,
                       limit: Annotated[int, Query(ge=1, le=notices.INBOX_SIZE, description="最多几条")] = notices.INBOX_SIZE
                       ) -> dict:
    user_id = _own_inbox(caller)
    async with ctx.db.sessions() as s:
        return await notices.list_notices(s, user_id=user_id, limit=limit)


@router.post("/notices/read", response_model=NoticesReadOut, summary="把通知标为已读（重复提交结果相同）")
async def mark_read(body: NoticesReadIn, caller: Caller, ctx: Ctx) -> dict:
    user_id = _own_inbox(caller)
    async with ctx.db.transaction() as s:
        return {"marked": await notices.mark_read(s, user_id=user_id, ids=body.ids, now=ctx.now())}


@router.post("/notices/ticket", response_model=NoticeTicketOut, summary="实时通知的一次性凭证（给浏览器的 EventSource）")
async def ticket(request: Request, caller: Caller, ctx: Ctx, rt: Runtime) -> dict:
    _own_inbox(caller)
    _, claims = ctx.verifier.verify_claims(request.headers["authorization"][7:].strip())
    # the ticket carries its access token's session and end: revoked with it, and no stream outlives it
    extra = {"sid": claims.get("sid"), "iat_ms": claims.get("iat_ms"), "until": claims.get("exp")}
    token = rt.signer.sign(caller, ttl=TICKET_TTL, token_type=TICKET_TYPE, extra=extra)
    return {"ticket": token, "expires_in": int(TICKET_TTL.total_seconds()), "kinds": KINDS}


async def _stream_caller(request: Request, ctx, rt, ticket: str | None) -> tuple[Principal, float]:
    """Who opens the stream, and until when (epoch seconds): by ticket, else by bearer token."""
    if ticket:
        principal, claims = ctx.verifier.verify_typed(ticket, TICKET_TYPE)
        if not await rt.sessions.alive(principal, claims):
            raise Unauthorized("登录已失效，请重新登录")
        return principal, float(claims.get("until") or claims["exp"])
    principal = await rt.sessions.principal(request)
    _, claims = ctx.verifier.verify_claims(request.headers["authorization"][7:].strip())
    return principal, float(claims["exp"])


def frame(notice: dict) -> str:
    return f"id: {notice['seq']}\nevent: {notice['kind']}\ndata: {json.dumps(notice, ensure_ascii=False)}\n\n"


@router.get("/notices/stream", summary="实时通知（Server-Sent Events）",
            responses={200: {"content": {STREAM_TYPE: {"schema": {"type": "string"}}},
                             "description": "事件流：event 为通知类别，data 为通知 JSON，id 为到达顺序"}})
async def stream(request: Request, ctx: Ctx, rt: Runtime,
                 ticket: Annotated[str | None, Query(max_length=2000, description="POST /api/notices/ticket 得到的凭证"
                                                    "（浏览器 EventSource 不能带 Authorization 头时用）")] = None,
                 last_event_id: Annotated[str | None, Query(max_length=20, description="同 Last-Event-ID")] = None,
                 last_event_header: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20,
                                                                 description="上次收到的事件编号，从它之后接着推")] = None):
    caller, ends_at = await _stream_caller(request, ctx, rt, ticket)
    user_id = _own_inbox(caller)
    if STREAM_TYPE not in request.headers.get("accept", ""):
        raise NotAcceptable("实时通知需以 Accept: text/event-stream 订阅；查看通知列表请用 GET /api/notices")
    resume = last_event_header or last_event_id
    last = int(resume) if resume and resume.isdigit() else None
    hub, heartbeat = rt.hub, ctx.settings.notices_heartbeat_s

    async def events():
        nonlocal last
        queue = hub.subscribe(user_id)  # before the inbox is read: nothing falls between the two
        try:
            yield "retry: 3000\n: 已连接\n\n"
            if last is not None:
                async with ctx.db.sessions() as s:
                    for notice in await notices.notices_after(s, user_id=user_id, seq=last):
                        yield frame(notice)
                        last = notice["seq"]
            while not hub.closing.is_set():
                left = ends_at - time.time()
                if left <= 0:
                    break
                try:
                    notice = await asyncio.wait_for(queue.get(), min(heartbeat, left))
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                if notice is None:  # too far behind, or the replica is stopping: the page reconnects
                    break
                if last is not None and notice["seq"] <= last:
                    continue
                yield frame(notice)
                last = notice["seq"]
        finally:
            hub.unsubscribe(user_id, queue)

    return StreamingResponse(events(), media_type=STREAM_TYPE,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
