"""The kernel at a service's edge: tokens, problem+json, idempotency keys — over real HTTP."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, ServiceSpec, create_service_app
from shared.auth import require_role
from shared.db import Database
from shared.errors import Conflict
from shared.idempotency import run_idempotent
from shared.kernel_models import IdempotencyRow
from shared.settings import Settings
from tests.integration.conftest import Effect, create_tables  # noqa: E402

router = APIRouter()


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20)
    amount_fen: int = Field(ge=0)


@router.post("/notes", status_code=201)
async def create_note(body: NoteIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey):
    require_role(principal, "officer")

    async def work(s):
        if body.text == "conflict":
            raise Conflict("这条记录已存在", current_state="exists")
        s.add(Effect(event_id=str(uuid.uuid4()), value=body.text))
        await asyncio.sleep(0.05)  # widen the window for concurrent twins
        return 201, {"id": str(uuid.uuid4()), "text": body.text}

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/notes",
                                        body=body.model_dump(), work=work)
    return answer


@pytest.fixture
async def app_url(databases, keypair, serve_app, tmp_path):
    url = databases.new_url("edge")
    db = Database(url)
    await create_tables(db)
    await db.dispose()
    settings = Settings(var_dir=tmp_path, jwt_public_key=keypair[1], kafka_bootstrap="",
                        database_urls={"kerneltest": url}, log_json=False)
    app = create_service_app(ServiceSpec(name="kerneltest", routers=[router]), settings)
    running = await serve_app(app)
    yield running.url, url


async def _effects(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.sessions() as s:
            return list((await s.execute(sa.select(Effect.value))).scalars())
    finally:
        await db.dispose()


def _is_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


async def test_tokens_missing_expired_forged_and_wrong_role(app_url, make_token):
    from datetime import timedelta

    from shared.auth import Principal, TokenSigner, generate_keypair

    url, _ = app_url
    forged = TokenSigner(generate_keypair()[0]).sign(Principal("u1", "officer"), ttl=timedelta(minutes=5))
    async with httpx.AsyncClient(base_url=url) as c:
        body = {"text": "hi", "amount_fen": 1}
        assert _is_problem(await c.post("/notes", json=body), 401)["code"] == "unauthorized"
        r = await c.post("/notes", json=body, headers={"Authorization": f"Bearer {make_token('officer', ttl_s=-60)}"})
        assert "过期" in _is_problem(r, 401)["detail"]
        r = await c.post("/notes", json=body, headers={"Authorization": f"Bearer {forged}"})
        assert _is_problem(r, 401)["code"] == "unauthorized"
        r = await c.post("/notes", json=body, headers={"Authorization": "Bearer not-a-jwt"})
        _is_problem(r, 401)
        r = await c.post("/notes", json=body, headers={"Authorization": f"Bearer {make_token('elder')}"})
        assert _is_problem(r, 403)["code"] == "forbidden"
        r = await c.post("/notes", json=body, headers={"Authorization": f"Bearer {make_token('officer')}"})
        assert r.status_code == 201


async def test_validation_errors_name_the_field(app_url, make_token):
    url, db_url = app_url
    h = {"Authorization": f"Bearer {make_token('officer')}"}
    async with httpx.AsyncClient(base_url=url, headers=h) as c:
        body = _is_problem(await c.post("/notes", json={"text": "", "amount_fen": -1}), 422)
        fields = {e["field"]: e["reason"] for e in body["errors"]}
        assert set(fields) == {"text", "amount_fen"}
        assert fields["amount_fen"] == "不能小于 0"
        body = _is_problem(await c.post("/notes", content=b"{not json", headers={"content-type": "application/json"}), 400)
        assert body["code"] == "malformed_json"
        body = _is_problem(await c.post("/notes", json={"text": "conflict", "amount_fen": 1}), 409)
        assert body["current_state"] == "exists"
        _is_problem(await c.get("/no-such-route"), 404)
    assert await _effects(db_url) == []  # nothing half-written by the rejected requests


async def test_idempotency_key_replays_first_answer_and_refuses_other_body(app_url, make_token):
    url, db_url = app_url
    h = {"Authorization": f"Bearer {make_token('officer', user_id='clerk-1')}", "Idempotency-Key": "k-1"}
    async with httpx.AsyncClient(base_url=url, headers=h) as c:
        first = await c.post("/notes", json={"text": "a", "amount_fen": 5})
        again = await c.post("/notes", json={"text": "a", "amount_fen": 5})
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        other = _is_problem(await c.post("/notes", json={"text": "b", "amount_fen": 5}), 422)
        assert other["errors"][0]["field"] == "Idempotency-Key"
    assert await _effects(db_url) == ["a"]


async def test_same_key_from_twenty_clients_at_once_has_one_effect(app_url, make_token):
    url, db_url = app_url
    h = {"Authorization": f"Bearer {make_token('officer', user_id='clerk-2')}", "Idempotency-Key": "same"}
    async with httpx.AsyncClient(base_url=url, headers=h, timeout=30) as c:
        answers = await asyncio.gather(*(c.post("/notes", json={"text": "x", "amount_fen": 1}) for _ in range(20)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert await _effects(db_url) == ["x"]
    db = Database(db_url)
    async with db.sessions() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(IdempotencyRow))).scalar_one() == 1
    await db.dispose()
