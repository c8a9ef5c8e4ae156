"""Idempotency keys, kept in the service's own database.

Same key and same body: the first answer again, with no second effect. Same key, different
body: 422. The key row is inserted (ON CONFLICT DO NOTHING) at the start of the same transaction
as the effect, so a concurrent request with the same key waits on it and then reads the stored
answer.
Failed requests store nothing: the transaction that failed rolled back, so a retry runs anew.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, Invalid
from shared.fast_sql import FastTx, Query, fast_transaction
from shared.kernel_models import IdempotencyRow

Work = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]
FastWork = Callable[[FastTx], Awaitable[tuple[int, Any]]]


class _KeyTaken(Exception):
    pass


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _check_key(key: str) -> None:
    if len(key) > 200:
        raise Invalid("幂等键太长", errors=[FieldError("Idempotency-Key", "不能超过 200 个字符")])


def _replay(row, fp: str) -> tuple[int, Any, bool]:
    """The stored answer (`row`: an IdempotencyRow or a fast row mapping) for the same body."""
    row = row if isinstance(row, IdempotencyRow) else IdempotencyRow(**row)
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
    _check_key(key)
    fp = fingerprint(body)
    for _ in range(5):
        try:
            async with db.transaction() as s:
                # Take the key first, in one round trip: a concurrent twin's insert waits on ours
                # until we commit, then inserts nothing and reads our answer.
                if not await _take_key(s, scope=scope, key=key, fp=fp):
                    existing = await s.get(IdempotencyRow, (scope, key))
                    if existing is None:
                        raise _KeyTaken  # the holder rolled back between the two statements
                    return _replay(existing, fp)
                status, answer = await work(s)
                await s.execute(sa.update(IdempotencyRow)
                                .where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)
                                .values(status_code=status, response=json.dumps(answer, default=str, ensure_ascii=False))
                                .execution_options(synchronize_session=False))
            return status, answer, False
        except _KeyTaken:
            continue  # try again from the start: take the key or read the answer
    raise RuntimeError("idempotency key contention did not settle")


async def _take_key(s: AsyncSession, *, scope: str, key: str, fp: str) -> bool:
    """Insert the key row unless it exists; True if this transaction now holds it."""
    insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
    taken = await s.execute(insert(IdempotencyRow).values(scope=scope, key=key, fingerprint=fp, status_code=0,
                                                          response="null", created_at=utcnow())
                            .on_conflict_do_nothing().returning(IdempotencyRow.key))
    return taken.first() is not None


# ---- the same on shared.fast_sql, for the hot write paths -------------------------------------

_keys = IdempotencyRow.__table__
_KEY_VALUES = {name: sa.bindparam(name) for name in ("scope", "key", "fingerprint", "created_at")}
def _take_key_statement(insert) -> sa.Insert:
    return insert(_keys).values(**_KEY_VALUES, status_code=0, response="null").on_conflict_do_nothing().returning(
        _keys.c.key)


_TAKE_KEY = Query(_take_key_statement(pg_insert), sqlite=_take_key_statement(sqlite_insert))
_READ_KEY = Query(sa.select(_keys).where(_keys.c.scope == sa.bindparam("scope"), _keys.c.key == sa.bindparam("key")))
_STORE_ANSWER = Query(sa.update(_keys).where(_keys.c.scope == sa.bindparam("key_scope"),
                                             _keys.c.key == sa.bindparam("key_key"))
                      .values(status_code=sa.bindparam("status_code"), response=sa.bindparam("response")))


async def run_idempotent_fast(db: Database, *, key: str | None, scope: str, body: Any,
                              work: FastWork) -> tuple[int, Any, bool]:
    """`run_idempotent` with `work` on a `FastTx`: the same rules, the same table."""
    if not key:
        async with fast_transaction(db) as tx:
            status, answer = await work(tx)
        return status, answer, False
    _check_key(key)
    fp = fingerprint(body)
    for _ in range(5):
        async with fast_transaction(db) as tx:
            if await tx.row(_TAKE_KEY, scope=scope, key=key, fingerprint=fp, created_at=utcnow()) is None:
                existing = await tx.row(_READ_KEY, scope=scope, key=key)
                if existing is None:
                    continue  # the holder rolled back between the two statements: from the start
                return _replay(existing, fp)
            status, answer = await work(tx)
            await tx.run(_STORE_ANSWER, key_scope=scope, key_key=key, status_code=status,
                         response=json.dumps(answer, default=str, ensure_ascii=False))
        return status, answer, False
    raise RuntimeError("idempotency key contention did not settle")
