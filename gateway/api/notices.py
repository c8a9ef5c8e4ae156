"""Notices of the signed-in account: the inbox (last 50), marking read, and the live stream (SSE).

The stream is authenticated like every /api route (the bearer token, checked against the live
session); it carries only the caller's own notices. Event name = the notice's kind, data = the
notice JSON, id = its arrival number (`seq`): a page that reconnects with `Last-Event-ID` gets
what arrived meanwhile from the inbox first. A comment line every `notices_heartbeat_s` keeps
proxies from closing it; it ends when the access token expires (the page reconnects with a fresh one).
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from gateway import notices
from gateway.api.auth import Caller
from gateway.runtime import Runtime
from gateway.schemas import NoticeList, NoticesReadIn, NoticesReadOut
from shared.app import Ctx
from shared.auth import Principal
from shared.errors import DomainError, Forbidden

router = APIRouter(prefix="/api", tags=["notices"])
STREAM_TYPE = "text/event-stream"


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


def frame(notice: dict) -> str:
    return f"id: {notice['seq']}\nevent: {notice['kind']}\ndata: {json.dumps(notice, ensure_ascii=False)}\n\n"


@router.get("/notices/stream", summary="实时通知（Server-Sent Events）",
            responses={200: {"content": {STREAM_TYPE: {"schema": {"type": "string"}}},
                             "description": "事件流：event 为通知类别，data 为通知 JSON，id 为到达顺序"}})
async def stream(request: Request, caller: Caller, ctx: Ctx, rt: Runtime,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20,
                                                             description="上次收到的事件编号，从它之后接着推")] = None):
    user_id = _own_inbox(caller)
    if STREAM_TYPE not in request.headers.get("accept", ""):
        raise NotAcceptable("实时通知需以 Accept: text/event-stream 订阅；查看通知列表请用 GET /api/notices")
    _, claims = ctx.verifier.verify_claims(request.headers["authorization"][7:].strip())
    ends_at = time.time() + 3600 if not claims.get("exp") else float(claims["exp"])
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    hub, heartbeat = rt.hub, ctx.settings.notices_heartbeat_s
    queue = hub.subscribe(user_id)  # before the inbox is read: nothing falls between the two

    async def events():
        nonlocal last
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
