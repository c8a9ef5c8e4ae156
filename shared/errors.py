"""Typed business errors. Each class maps to exactly one HTTP status.

This module has no framework imports so that pure domain modules can raise these;
`shared.problem` turns them into RFC 9457 problem+json at the edge.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path, e.g. "items.eating" or "body.phone"
    reason: str  # zh-CN, shown to people


class DomainError(Exception):
    """Base of every error a user can cause. `detail` is zh-CN and says what to do next."""

    status: int = 400
    code: str = "bad_request"
    title: str = "请求有误"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.extra = extra


class BadRequest(DomainError):
    status, code, title = 400, "bad_request", "请求有误"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "需要登录"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "没有权限"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "未找到"


class Conflict(DomainError):
    """The request is valid but the current state forbids it (e.g. an illegal transition)."""

    status, code, title = 409, "conflict", "状态冲突"


class Invalid(DomainError):
    """Well-formed input that breaks a business rule (bad check digit, score out of range)."""

    status, code, title = 422, "invalid", "数据不符合要求"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "内容太大"


class TooManyRequests(DomainError):
    status, code, title = 429, "too_many_requests", "请求过于频繁"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service_unavailable", "服务暂不可用"


def invalid_field(field: str, reason: str, detail: str | None = None) -> Invalid:
    """Shorthand for the common one-field 422."""
    return Invalid(detail or reason, errors=[FieldError(field, reason)])
