"""RFC 9457 problem+json for every error, including validation, at every service's edge."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError, FieldError
from shared.observability import current_request_id

log = logging.getLogger("youfu.errors")
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://youfu.example/problems/"

# pydantic error types → reasons people can read
_REASONS_ZH = {
    "missing": "此项必填",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应为文字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "uuid_parsing": "编号格式不正确",
    "uuid_type": "编号格式不正确",
    "date_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "timezone_aware": "时间需要带时区",
    "extra_forbidden": "不认识的字段",
    "json_invalid": "JSON 格式不正确",
    "model_type": "格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "value_error": "取值不正确",
    "too_short": "数量太少",
    "too_long": "数量太多",
}


def problem(status: int, title: str, detail: str, *, code: str, instance: str | None = None,
            errors: list[FieldError] | None = None, **extra) -> JSONResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        "request_id": current_request_id(),
    }
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _database_unavailable(request: Request) -> JSONResponse:
    return problem(503, "暂时无法服务", "数据库暂时不可用，请稍后重试", code="database_unavailable",
                   instance=request.url.path, retry_after=2)


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        # a JSON that does not parse is the body's fault as a whole (FastAPI puts the character offset in loc)
        loc = [] if err.get("type") == "json_invalid" else [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        reason = _REASONS_ZH.get(err.get("type", ""), "取值不正确")
        ctx = err.get("ctx") or {}
        if err.get("type") in ("greater_than_equal", "greater_than") and "ge" in ctx | {"gt": 0}:
            reason = f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
        elif err.get("type") in ("less_than_equal", "less_than"):
            reason = f"不能大于 {ctx.get('le', ctx.get('lt'))}"
        elif err.get("type") == "value_error" and ctx.get("error"):
            reason = str(ctx["error"])
        out.append(FieldError(".".join(loc) or "body", reason))
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem(exc.status, exc.title, exc.detail, code=exc.code, instance=request.url.path,
                       errors=exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = _field_errors(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, "请求有误", "请求内容不是有效的 JSON", code="malformed_json",
                           instance=request.url.path, errors=errors)
        return problem(422, "数据不符合要求", "提交的数据有误，请按提示修改后再试", code="validation_failed",
                       instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        titles = {404: ("未找到", "没有这个地址", "not_found"),
                  405: ("方法不允许", "这个地址不支持该请求方法", "method_not_allowed"),
                  401: ("需要登录", "请先登录", "unauthorized"), 403: ("没有权限", "当前账号没有权限", "forbidden")}
        title, detail, code = titles.get(exc.status_code, ("请求有误", str(exc.detail), "http_error"))
        return problem(exc.status_code, title, detail, code=code, instance=request.url.path)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError):
        # the database dropped or refused the connection (restart, failover, too many clients):
        # a moment's trouble the caller can retry, not a fault in the request
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
            return _database_unavailable(request)
        return await _unexpected(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout):
        log.warning("no database connection free on %s %s", request.method, request.url.path)
        return _database_unavailable(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "系统错误", "系统出了点问题，请稍后再试；如果一直这样，请拨打客服热线", code="internal_error",
                       instance=request.url.path)
