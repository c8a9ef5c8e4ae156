"""HTTP routes of status lists from other bureaus (deaths, moves, assistance) and of an elder's
applied changes. Upload stores the list with its dry run; apply changes the records in one
transaction (docs/decisions.md). The gateway serves these paths under /api/assessment/…."""
from __future__ import annotations

import asyncio
import hashlib
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from services.assessment import status_lists
from services.assessment.rules import status_lists as rules
from services.assessment.runtime import Runtime
from services.assessment.schemas import (
    StatusChangeOut,
    StatusListApplied,
    StatusListIn,
    StatusListOut,
    StatusListPage,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.errors import FieldError, Invalid
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])
KINDS = tuple(k.value for k in rules.Kind)

_FORM_SCHEMA = {"type": "object", "required": ["kind", "file"], "properties": {
    "kind": {"type": "string", "enum": list(KINDS), "description": "deaths、moves 或 assistance"},
    "file": {"type": "string", "format": "binary", "description": ".csv（UTF-8 或 GBK）或 .xlsx，第一行为表头"},
    "source": {"type": "string", "maxLength": 200, "description": "来源说明，默认为文件名"},
}}
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": _FORM_SCHEMA},
    "application/json": {"schema": StatusListIn.model_json_schema()},
}}}


async def _read_upload(request: Request) -> tuple[str, str, list[rules.RawRow], dict]:
    """kind, source, the rows read, and what the idempotency key is checked against."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        kind, upload, source = form.get("kind"), form.get("file"), form.get("source")
        errors = []
        if kind not in KINDS:
            errors.append(FieldError("kind", "名单类型应为 deaths（死亡）、moves（迁出）或 assistance（救助）"))
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors.append(FieldError("file", "请选择要上传的 .csv 或 .xlsx 文件"))
        if errors:
            raise Invalid(errors[0].reason, errors=errors)
        data = await upload.read()
        source = source if isinstance(source, str) and source.strip() else upload.filename
        raws = await asyncio.to_thread(rules.read_file, rules.Kind(kind), upload.filename, data)
        return kind, source.strip()[:200], raws, {"kind": kind, "source": source,
                                                  "sha256": hashlib.sha256(data).hexdigest()}
    try:
        body = StatusListIn.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    raws = rules.read_json_rows(rules.Kind(body.kind), body.rows)
    return body.kind, body.source.strip(), raws, body.model_dump(mode="json")


@router.post("/status-lists", status_code=201, response_model=StatusListOut, openapi_extra=_UPLOAD_BODY,
             summary="上传死亡、迁出或救助名单并试运行（不修改档案；缺少必需列返回 422）")
async def upload_status_list(request: Request, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                             idempotency_key: IdempotencyKey) -> dict:
    status_lists.require_keeper(principal)  # before reading the file: a refused caller learns nothing about it
    kind, source, raws, fingerprint = await _read_upload(request)
    now = ctx.now()

    async def work(session):
        return 201, await status_lists.upload_list(session, principal=principal, cipher=rt.cipher, kind=kind,
                                                   source=source, raws=raws, now=now,
                                                   estimate=rt.recovery_estimates)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/status-lists",
                                        body=fingerprint, work=work)
    return answer


@router.get("/status-lists", response_model=StatusListPage, summary="已上传的名单（市级民政）")
async def list_status_lists(ctx: Ctx, principal: CurrentPrincipal, page: int = Query(1, ge=1),
                            page_size: int = Query(20, ge=1, le=100)) -> dict:
    status_lists.require_keeper(principal)
    async with ctx.db.sessions() as session:
        return await status_lists.list_lists(session, principal=principal, page=page, page_size=page_size)


@router.get("/status-lists/{list_id}", response_model=StatusListOut,
            summary="名单的试运行结果或应用结果（计数为全表，行按 offset/limit 分页）")
async def read_status_list(list_id: UUID, ctx: Ctx, principal: CurrentPrincipal, offset: int = Query(0, ge=0),
                           limit: int = Query(status_lists.DEFAULT_PAGE, ge=1, le=1000)) -> dict:
    status_lists.require_keeper(principal)
    async with ctx.db.sessions() as session:
        return await status_lists.read_list(session, principal=principal, list_id=list_id, offset=offset, limit=limit)


@router.post("/status-lists/{list_id}/apply", response_model=StatusListApplied,
             summary="应用名单（一次事务；重复应用不会再次修改档案）")
async def apply_status_list(list_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                            idempotency_key: IdempotencyKey) -> dict:
    status_lists.require_keeper(principal)
    now = ctx.now()

    async def work(session):
        return 200, await status_lists.apply_list(session, principal=principal, list_id=list_id, source=rt.source,
                                                  now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/status-lists/{list_id}/apply",
                                        body={"list_id": str(list_id)}, work=work)
    return answer


@router.get("/elders/{elder_id}/status-changes", response_model=list[StatusChangeOut],
            summary="老人档案因名单发生的变更（最新在前，附中文说明）")
async def elder_status_changes(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await status_lists.elder_status_changes(session, principal=principal, elder_id=elder_id)
