"""A lane answers as FastAPI would (shared/lanes.py, D68): the same router served with and without
the lane, the same requests, the same statuses, bodies and problem documents."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import Enum
from types import SimpleNamespace
from typing import Annotated
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.auth import Principal, TokenSigner, TokenVerifier, generate_keypair
from shared.errors import Conflict
from shared.lanes import lane_route, route_lane
from shared.observability import Metrics, RequestContextMiddleware
from shared.problem import install_problem_handlers

router = APIRouter()


async def _runtime(request: Request) -> str:  # as each service's `Runtime` dependency
    return request.app.state.ctx.runtime


Runtime = Annotated[str, Depends(_runtime)]


class ThingIn(BaseModel):
    name: str = Field(min_length=2, max_length=10)
    count: int = Field(ge=1)


class ThingOut(BaseModel):
    id: UUID
    name: str
    count: int
    key: str | None
    runtime: str


@router.post("/shelves/{shelf_id}/things", status_code=201, response_model=ThingOut)
async def add_thing(shelf_id: UUID, body: ThingIn, ctx: Ctx, principal: CurrentPrincipal,
                    idempotency_key: IdempotencyKey) -> dict:
    if body.name == "冲突":
        raise Conflict("已经有了", shelf_id=str(shelf_id))
    # a field the response model leaves out, to show both paths filter it
    return {"id": shelf_id, "name": body.name, "count": body.count, "key": idempotency_key,
            "runtime": ctx.runtime, "secret": "never shown"}


@router.post("/shelves/{shelf_id}/crash", response_model=ThingOut)
async def crash(shelf_id: UUID, ctx: Ctx) -> dict:
    raise RuntimeError("boom")


class Kind(str, Enum):
    BROOM = "broom"
    MOP = "mop"


class SearchOut(BaseModel):
    shelf_id: UUID
    name: str
    lat: float
    k: int
    kind: Kind | None
    at: datetime | None
    runtime: str


# query parameters as the providers' candidates route has them: required, constrained, defaulted, enum
@router.get("/shelves/{shelf_id}/search", response_model=SearchOut)
async def search(shelf_id: UUID, ctx: Ctx, principal: CurrentPrincipal, rt: Runtime,
                 name: str = Query(..., max_length=10), lat: float = Query(...), k: int = Query(10, ge=1, le=50),
                 kind: Kind | None = None, at: datetime | None = Query(None, description="时间")) -> dict:
    return {"shelf_id": shelf_id, "name": name, "lat": lat, "k": k, "kind": kind, "at": at, "runtime": rt}


class NoteIn(BaseModel):
    note: str = Field(max_length=5)


class NoteOut(BaseModel):
    note: str | None


# a body that may be left out, as the orders' accept route has it
@router.post("/shelves/{shelf_id}/open", response_model=NoteOut)
async def open_shelf(shelf_id: UUID, principal: CurrentPrincipal, body: NoteIn | None = None) -> dict:
    return {"note": body.note if body else None}


@router.get("/shelves", response_model=list[str])
async def shelves() -> list[str]:
    return ["甲", "乙"]


PRIVATE, PUBLIC = generate_keypair()
# signed for an hour: the module is collected long before its tests run in the whole suite
TOKEN = TokenSigner(PRIVATE).sign(Principal(user_id=str(uuid4()), role="officer", district="321202"),
                                  ttl=timedelta(hours=1))


def make_app(*, with_lane: bool) -> FastAPI:
    app = FastAPI()
    if with_lane:
        lane = route_lane(lane_route(router, add_thing), lane_route(router, crash), lane_route(router, search),
                          lane_route(router, open_shelf))
        app.add_middleware(lane, handlers=app.exception_handlers)
    app.add_middleware(RequestContextMiddleware, metrics=Metrics(f"lanes{int(with_lane)}"))
    install_problem_handlers(app)
    app.include_router(router)
    app.state.ctx = SimpleNamespace(verifier=TokenVerifier(PUBLIC), runtime="the runtime")
    return app


SHELF = "7a3c6a4e-6f57-4f9a-9d0e-2f7d5c1b9a10"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
CASES = [  # (name, method, path, headers, body)
    ("ok", "POST", f"/shelves/{SHELF}/things", AUTH | {"Idempotency-Key": "k1"}, {"name": "扫帚", "count": 2}),
    ("no key", "POST", f"/shelves/{SHELF}/things", AUTH, {"name": "扫帚", "count": 2}),
    ("field errors", "POST", f"/shelves/{SHELF}/things", AUTH, {"name": "扫", "count": 0, "extra": 1}),
    ("missing field", "POST", f"/shelves/{SHELF}/things", AUTH, {"name": "扫帚"}),
    ("not json", "POST", f"/shelves/{SHELF}/things", AUTH, b"{nope"),
    ("bad path id", "POST", "/shelves/not-a-uuid/things", AUTH, {"name": "扫帚", "count": 2}),
    ("no token", "POST", f"/shelves/{SHELF}/things", {"Content-Type": "application/json"}, {"name": "扫帚", "count": 2}),
    ("bad token", "POST", f"/shelves/{SHELF}/things", AUTH | {"Authorization": "Bearer x.y.z"},
     {"name": "扫帚", "count": 2}),
    ("long key", "POST", f"/shelves/{SHELF}/things", AUTH | {"Idempotency-Key": "k" * 201}, {"name": "扫帚", "count": 2}),
    ("domain error", "POST", f"/shelves/{SHELF}/things", AUTH, {"name": "冲突", "count": 1}),
    ("query ok", "GET", f"/shelves/{SHELF}/search?name=扫帚&lat=32.49&k=3&kind=mop&at=2026-12-05T12:00:00%2B08:00",
     AUTH, None),
    ("query defaults", "GET", f"/shelves/{SHELF}/search?name=扫帚&lat=32.49&other=1", AUTH, None),
    ("query missing", "GET", f"/shelves/{SHELF}/search?lat=32.49", AUTH, None),
    ("query errors", "GET", f"/shelves/{SHELF}/search?name=扫帚扫帚扫帚扫帚扫帚扫&lat=north&k=0&kind=rake", AUTH, None),
    ("query no token", "GET", f"/shelves/{SHELF}/search?lat=north", {}, None),
    ("no body", "POST", f"/shelves/{SHELF}/open", AUTH, None),
    ("optional body", "POST", f"/shelves/{SHELF}/open", AUTH, {"note": "开门"}),
    ("optional body errors", "POST", f"/shelves/{SHELF}/open", AUTH, {"note": "太长了太长了"}),
    ("optional body not json", "POST", f"/shelves/{SHELF}/open", AUTH, b"{nope"),
    ("other route", "GET", "/shelves", {}, None),
    ("other method", "GET", f"/shelves/{SHELF}/things", AUTH, None),
]


async def _answer(app: FastAPI, method: str, path: str, headers: dict, body) -> tuple[int, str, dict]:
    content = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.request(method, path, headers=headers, content=content)
    parsed = r.json() if r.content else None
    if isinstance(parsed, dict):
        parsed.pop("request_id", None)  # a new one each call
    return r.status_code, r.headers.get("content-type", ""), parsed


@pytest.mark.parametrize("name, method, path, headers, body", CASES, ids=[c[0] for c in CASES])
async def test_a_lane_answers_as_fastapi_does(name, method, path, headers, body):
    plain = await _answer(make_app(with_lane=False), method, path, headers, body)
    laned = await _answer(make_app(with_lane=True), method, path, headers, body)
    assert laned == plain
    if name == "ok":
        assert plain[0] == 201 and plain[2]["key"] == "k1" and plain[2]["runtime"] == "the runtime"
        assert "secret" not in plain[2]
    if name == "field errors":
        assert plain[0] == 422 and {e["field"] for e in plain[2]["errors"]} >= {"name", "count"}
    if name == "query ok":
        assert plain[0] == 200 and plain[2]["k"] == 3 and plain[2]["kind"] == "mop" and plain[2]["runtime"] == "the runtime"
    if name == "query defaults":
        assert plain[0] == 200 and plain[2]["k"] == 10 and plain[2]["kind"] is None
    if name == "query errors":
        assert plain[0] == 422 and len(plain[2]["errors"]) == 4
    if name in ("no body", "optional body"):
        assert plain[0] == 200 and plain[2]["note"] == (None if name == "no body" else "开门")
    if name == "not json":
        assert plain[0] == 400 and plain[2]["errors"] == [{"field": "body", "reason": "JSON 格式不正确"}]


async def test_an_unexpected_error_is_the_apps_500_problem():
    status, ctype, body = await _answer(make_app(with_lane=True), "POST", f"/shelves/{SHELF}/crash", AUTH, {})
    assert status == 500 and ctype.startswith("application/problem+json") and body["code"] == "internal_error"


def test_a_lane_refuses_an_endpoint_it_cannot_serve():
    other = APIRouter()

    @other.post("/x")
    async def needs_more(body: ThingIn, many: list[str] = Query([])) -> dict:
        return {}

    with pytest.raises(ValueError, match="many"):
        lane_route(other, needs_more)
