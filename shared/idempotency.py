"""Idempotency keys, kept in the service's own database.

Same key and same body: the first answer again, with no second effect. Same key, different
body: 422. The key row is inserted (ON CONFLICT DO NOTHING) at the start of the same transaction
as the effect, so a concurrent request with the same key waits on it and then reads the stored
answer.
Failed requests store nothing: the transaction that failed rolled back, so a retry runs anew.

One algorithm (`_once_per_key`), one set of statements, two ways in: `run_idempotent` with the
work on an ORM session, `run_idempotent_fast` with the work on a `shared.fast_sql` transaction
(the hot write paths).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, Invalid
from shared.fast_sql import FastTx, Lock, Query, fast_transaction
from shared.kernel_models import IdempotencyRow

Work = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]
FastWork = Callable[[FastTx], Awaitable[tuple[int, Any]]]
T = TypeVar("T")


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _check_key(key: str) -> None:
    if len(key) > 200:
        raise Invalid("幂等键太长", errors=[FieldError("Idempotency-Key", "不能超过 200 个字符")])


def _replay(row: Mapping, fp: str) -> tuple[int, Any, bool]:
    """The stored answer (a row of the keys table) for the same body."""
    if row["fingerprint"] != fp:
        raise Invalid("这个幂等键已用于另一份不同的请求，请换一个新的键",
                      errors=[FieldError("Idempotency-Key", "同一个键只能对应同一份请求内容")])
    return row["status_code"], json.loads(row["response"]), True


# ---- the statements -----------------------------------------------------------------------------

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


class _Statements(Protocol):
    """What the algorithm needs of a transaction: `FastTx` has it, `_SessionStatements` gives it
    to an ORM session."""

    async def row(self, query: Query, **params) -> Mapping | None: ...

    async def run(self, query: Query, **params) -> int: ...


class _SessionStatements:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = session.bind.dialect.name == "postgresql"

    def _stmt(self, query: Query) -> sa.Executable:
        return query.stmt if self.postgres else query.sqlite_stmt

    async def row(self, query: Query, **params) -> Mapping | None:
        found = (await self.session.execute(self._stmt(query), params)).first()
        return None if found is None else found._mapping

    async def run(self, query: Query, **params) -> int:
        return (await self.session.execute(self._stmt(query), params)).rowcount


# ---- the algorithm ------------------------------------------------------------------------------


async def _once_per_key(begin: Callable[[], AbstractAsyncContextManager[T]], statements: Callable[[T], _Statements],
                        *, key: str | None, scope: str, body: Any,
                        work: Callable[..., Awaitable[tuple[int, Any]]],
                        first: tuple[Query, dict] | None = None) -> tuple[int, Any, bool]:
    """Run `work` in one transaction (`begin()`) at most once per (scope, key). Returns (status,
    body, replayed). With `first` (a FastTx's read), that read's row is taken in the key's round
    trip and handed to `work(tx, row)`."""
    if not key:
        async with begin() as tx:
            if first is None:
                status, answer = await work(tx)
            else:
                status, answer = await work(tx, await tx.row(first[0], **first[1]))
        return status, answer, False
    _check_key(key)
    fp = fingerprint(body)
    for _ in range(5):
        async with begin() as tx:
            keys = statements(tx)
            # Take the key first, in one round trip: a concurrent twin's insert waits on ours
            # until we commit, then inserts nothing and reads our answer.
            taking = dict(scope=scope, key=key, fingerprint=fp, created_at=utcnow())
            if first is None:
                taken, first_row = await keys.row(_TAKE_KEY, **taking) is not None, None
            else:
                taken, first_row = await tx.row_after_insert(_TAKE_KEY, taking, first[0], first[1])
            if not taken:
                existing = await keys.row(_READ_KEY, scope=scope, key=key)
                if existing is None:
                    continue  # the holder rolled back between the two statements: from the start
                return _replay(existing, fp)
            status, answer = await (work(tx) if first is None else work(tx, first_row))
            stored = dict(key_scope=scope, key_key=key, status_code=status,
                          response=json.dumps(answer, default=str, ensure_ascii=False))
            if isinstance(keys, FastTx):  # sent with the work's last writes, in one round trip
                keys.later(_STORE_ANSWER, **stored)
            else:
                await keys.run(_STORE_ANSWER, **stored)
        return status, answer, False
    raise RuntimeError("idempotency key contention did not settle")


async def run_idempotent(db: Database, *, key: str | None, scope: str, body: Any, work: Work) -> tuple[int, Any, bool]:
    """Run `work` on an ORM session in one transaction at most once per (scope, key)."""
    return await _once_per_key(db.transaction, _SessionStatements, key=key, scope=scope, body=body, work=work)


async def run_idempotent_fast(db: Database, *, key: str | None, scope: str, body: Any,
                              work: FastWork | Callable[[FastTx, Mapping | None], Awaitable[tuple[int, Any]]],
                              first: tuple[Query, dict] | None = None, lock: Lock | None = None) -> tuple[int, Any, bool]:
    """`run_idempotent` with `work` on a `FastTx`: the same rules, the same table. `first`: a
    read (statement, parameters) sent with the key in one round trip; its row (or None) is
    `work`'s second argument. `lock`: taken with BEGIN, before the key (`fast_transaction`)."""
    return await _once_per_key(lambda: fast_transaction(db, lock=lock), lambda tx: tx, key=key, scope=scope,
                               body=body, work=work, first=first)
