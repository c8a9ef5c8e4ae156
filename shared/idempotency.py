"""Idempotency keys, kept in the service's own database.

Same key and same body: the first answer again, with no second effect. Same key, different
body: 422. The key row is inserted at the start of the same transaction as the effect, so a
concurrent request with the same key waits on the row lock and then sees the stored answer.
Failed requests store nothing: the transaction that failed rolled back, so a retry runs anew.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, Invalid
from shared.kernel_models import IdempotencyRow

Work = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]


class _KeyTaken(Exception):
    pass


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _replay(row: IdempotencyRow, fp: str) -> tuple[int, Any, bool]:
    if row.fingerprint != fp:
        raise Invalid("这个幂等键已用于另一份不同的请求，请换一个新的键",
                      errors=[FieldError("Idempotency-Key", "同一个键只能对应同一份请求内容")])
    return row.status_code, json.loads(row.response), True


async def run_idempotent(db: Database, *, key: str | None, scope: str, body: Any, work: Work) -> tuple[int, Any, bool]:
    """Run `work` in one transaction at most once per (scope, key). Returns (status, body, replayed)."""
    if not key:
        async with db.transaction() as s:
            status, answer = await work(s)
        return status, answer, False
    if len(key) > 200:
        raise Invalid("幂等键太长", errors=[FieldError("Idempotency-Key", "不能超过 200 个字符")])
    fp = fingerprint(body)
    for _ in range(5):
        try:
            async with db.transaction() as s:
                existing = await s.get(IdempotencyRow, (scope, key))
                if existing is not None:
                    return _replay(existing, fp)
                row = IdempotencyRow(scope=scope, key=key, fingerprint=fp, status_code=0, response="null",
                                     created_at=utcnow())
                s.add(row)
                try:
                    await s.flush()  # takes the key: a concurrent twin blocks here until we finish
                except IntegrityError as exc:
                    raise _KeyTaken from exc
                status, answer = await work(s)
                row.status_code = status
                row.response = json.dumps(answer, default=str, ensure_ascii=False)
            return status, answer, False
        except _KeyTaken:
            continue  # the twin committed first; read its answer on the next pass
    raise RuntimeError("idempotency key contention did not settle")
