"""The hot paths' way to run SQL: Core statements built once, run on the asyncpg driver.

Why this exists beside the ORM: on the write paths every order takes (place, dispatch, accept)
SQLAlchemy's async layer cost more CPU than the database. Measured here on one transaction of a
locked read, a read, an update and an outbox insert (uvloop, PostgreSQL on this machine):
ORM 2.0 ms of CPU, Core statements built per call 1.55 ms, Core built once 1.0 ms, the same SQL on
the asyncpg connection 0.5 ms. So the statements stay SQLAlchemy Core (one source of SQL, typed
columns, the same migrations), are compiled once per statement, and on PostgreSQL run on the pooled
connection's asyncpg driver; on the embedded SQLite default they run through SQLAlchemy as usual.
Everything else keeps the ORM: this is for the few paths measured hot, not a second data layer.

    ACCEPT = Query(sa.update(OrderRow).where(OrderRow.id == sa.bindparam("order_id")) ...)
    async with fast_transaction(db) as tx:
        row = await tx.row(LOCK_ORDER, order_id=oid)    # a Mapping (row["state"]) or None
        n = await tx.run(ACCEPT, order_id=oid, ...)     # rows affected
        await tx.add_event(event)                       # the outbox row, in this transaction
        tx.after_commit.append(lambda: index.apply(oid))  # runs only once it has committed
        tx.later(INSERT_AUDIT, **values)                # written with the next read or at commit

Locks taken with BEGIN (`fast_transaction(db, lock=Lock.advisory(n))`, `Lock.rows(...)`): a use
case that starts by locking something (a code being redeemed, an elder's wallet) sends the lock
in BEGIN's round trip, as one simple query (`BEGIN; SELECT … FOR UPDATE`). Its first statement
then takes its snapshot after the lock was granted, so a single read sees whatever the lock's last
holder committed: a lock and the reads behind it cost one round trip instead of two. The simple
query protocol carries no parameters, so the values are inlined, and `Lock` accepts only what is
safe to inline: an integer, or codes of letters, digits, `:`, `_`, `-` and `.`.

Deferred writes (`later`): a transaction's last writes usually need no answer (the row inserted,
the outbox row, the idempotency key's stored answer). They are queued and sent together, as one
statement on PostgreSQL (`WITH w0 AS (…), w1 AS (…) SELECT 1`: one round trip instead of one each),
before the next read or run and before COMMIT, so every statement still sees them. The statements
of one batch share a snapshot and run in no promised order, so a batch must not touch one row twice
(inserts, or updates of rows no other queued write touches), nor rely on the order in which a
sequence numbers its rows (put such rows in one multi-row INSERT). An error of a queued write (a unique violation) comes from the
next statement or from the commit, and rolls the transaction back as any error does.

Rows are read-only mappings on both backends (asyncpg Record / SQLAlchemy RowMapping). Values
come back as the same Python types either way (UUID, aware UTC datetime, bool). Errors keep the
shapes the rest of the code and `shared/problem.py` know: a constraint violation is SQLAlchemy's
IntegrityError, a lost connection an OperationalError (and the pooled connection is thrown away).
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, is_sqlite, utcnow
from shared.events import CloudEvent, topic_and_key
from shared.kernel_models import OutboxRow

_PG_DIALECT = AsyncpgDialect()
_PLAIN_CODE = re.compile(r"[A-Za-z0-9:_.-]{1,200}")


class Lock:
    """What a transaction locks in BEGIN's round trip (see the module doc); PostgreSQL only (on
    SQLite the writer's BEGIN IMMEDIATE already serialises the writers)."""

    __slots__ = ("sql",)

    def __init__(self, sql: str) -> None:
        self.sql = sql

    @classmethod
    def advisory(cls, key: int) -> Lock:
        """A transaction-scoped advisory lock on a signed 64-bit key."""
        key = int(key)
        if not -(2 ** 63) <= key < 2 ** 63:
            raise ValueError("an advisory lock key is a signed 64-bit integer")
        return cls(f"SELECT pg_advisory_xact_lock({key})")

    @classmethod
    def rows(cls, table: sa.Table, column: str, values: list[str]) -> Lock:
        """The rows of `table` whose `column` is one of `values`, locked in the column's order
        (the order every other locker of these rows keeps); missing rows lock nothing."""
        if not values or not all(isinstance(v, str) and _PLAIN_CODE.fullmatch(v) for v in values):
            raise ValueError("row locks take one or more plain codes (letters, digits, : _ - .)")
        col = table.c[column].name
        listed = ", ".join(f"'{v}'" for v in sorted(set(values)))
        return cls(f'SELECT 1 FROM "{table.name}" WHERE "{col}" IN ({listed}) ORDER BY "{col}" FOR UPDATE')


class Query:
    """A Core statement with named bind parameters, compiled for PostgreSQL on first use.

    Name a WHERE parameter of an UPDATE differently from the table's columns (`key_scope`, not
    `scope`): SQLAlchemy takes a parameter named like a column for that column's new value, and
    refuses the statement on SQLite.

    `sqlite`: the same statement for SQLite where the two need different constructs (an upsert
    from each dialect's `insert`, no SKIP LOCKED); the transaction picks the one for its backend."""

    __slots__ = ("stmt", "sqlite_stmt", "_pg")

    def __init__(self, stmt: sa.Executable, *, sqlite: sa.Executable | None = None) -> None:
        self.stmt = stmt
        self.sqlite_stmt = stmt if sqlite is None else sqlite
        self._pg: tuple[str, Any] | None = None

    def pg(self, params: dict) -> tuple[str, list]:
        if self._pg is None:
            compiled = self.stmt.compile(dialect=_PG_DIALECT)
            if "POSTCOMPILE" in compiled.string:  # an IN list is expanded per call, not compiled once
                raise ValueError("IN (…) lists are not supported by fast_sql; spell the choices out with or_()")
            self._pg = (compiled.string, compiled)
        sql, compiled = self._pg
        values = compiled.construct_params(params)  # literals of the statement included; a missing one raises
        return sql, [values[name] for name in compiled.positiontup]


def insert_query(table: sa.Table, columns: list[str] | None = None) -> Query:
    """INSERT of the named columns (default: all), each bound by its column name; every one must
    be given when it runs (no Python-side defaults on this path)."""
    names = columns or [c.key for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    return Query(sa.insert(table).values({name: sa.bindparam(name) for name in names}))


OUTBOX_INSERT = insert_query(OutboxRow.__table__, ["event_id", "topic", "key", "type", "payload", "created_at",
                                                  "attempts"])


_PARAM = re.compile(r"\$(\d+)\b")
_TOGETHER: dict[tuple[Query, ...], str] = {}


def _renumbered(sql: str, offset: int) -> str:
    """A compiled statement's $n parameters moved up by `offset`, to follow another's in one statement."""
    return _PARAM.sub(lambda m: f"${int(m.group(1)) + offset}", sql) if offset else sql


def _together(queries: tuple[Query, ...], compiled: list[tuple[str, list]]) -> str:
    """Several data-modifying statements as one (each a WITH item; their $n renumbered in turn),
    built once per sequence of statements so asyncpg's statement cache prepares it once."""
    combined = _TOGETHER.get(queries)
    if combined is None:
        parts, offset = [], 0
        for i, (sql, args) in enumerate(compiled):
            parts.append(f"w{i} AS ({_renumbered(sql, offset)})")
            offset += len(args)
        combined = _TOGETHER[queries] = "WITH " + ", ".join(parts) + " SELECT 1"
    return combined


_AFTER_INSERT: dict[tuple[Query, Query], str] = {}


def _after_insert(insert: Query, select: Query, insert_sql: str, insert_args: list, select_sql: str) -> str:
    """An INSERT … RETURNING and a SELECT as one statement: how many rows the insert made, and the
    select's row if it has one (`_found`), its parameters numbered after the insert's."""
    combined = _AFTER_INSERT.get((insert, select))
    if combined is None:
        select_sql = _renumbered(select_sql, len(insert_args))
        combined = _AFTER_INSERT[(insert, select)] = (
            f"WITH ins AS ({insert_sql}) SELECT (SELECT count(*) FROM ins) AS _inserted, sel.* "
            f"FROM (SELECT 1) AS _one LEFT JOIN LATERAL (SELECT true AS _found, s.* FROM ({select_sql}) AS s) "
            f"AS sel ON true")
    return combined


def _as_sqlalchemy_error(exc: Exception, sql: str, args) -> Exception:
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return sa_exc.IntegrityError(sql, args, exc)
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, ConnectionError)):
        return sa_exc.OperationalError(sql, args, exc, connection_invalidated=True)
    return sa_exc.DBAPIError(sql, args, exc)


class FastTx:
    """One connection, optionally in a transaction; see the module doc."""

    def __init__(self, db: Database, conn: AsyncConnection, driver=None) -> None:
        self.db, self.conn, self.driver = db, conn, driver
        self.outbox_dirty = False
        self.broken = False
        # run, in order, once the transaction has committed (never on rollback): in-memory state
        # such as a search index must not run ahead of the database
        self.after_commit: list[Callable[[], None]] = []
        self._later: list[tuple[Query, dict]] = []

    def later(self, query: Query, **params) -> None:
        """Queue a write whose result nobody reads; see "Deferred writes" in the module doc."""
        self._later.append((query, params))

    async def flush(self) -> None:
        """Send the queued writes now (one round trip on PostgreSQL)."""
        if not self._later:
            return
        pending, self._later = self._later, []
        if self.driver is None:
            for query, params in pending:
                await self.conn.execute(query.sqlite_stmt, params)
            return
        if len(pending) == 1:
            sql, args = pending[0][0].pg(pending[0][1])
        else:
            compiled = [query.pg(params) for query, params in pending]
            sql = _together(tuple(query for query, _ in pending), compiled)
            args = [a for _, each in compiled for a in each]
        await self._call(self.driver.execute, sql, args)

    async def rows(self, query: Query, **params) -> list[Mapping]:
        await self.flush()
        if self.driver is None:
            return [r._mapping for r in await self.conn.execute(query.sqlite_stmt, params)]
        sql, args = query.pg(params)
        return await self._call(self.driver.fetch, sql, args)

    async def row(self, query: Query, **params) -> Mapping | None:
        await self.flush()
        if self.driver is None:
            found = (await self.conn.execute(query.sqlite_stmt, params)).first()
            return None if found is None else found._mapping
        sql, args = query.pg(params)
        return await self._call(self.driver.fetchrow, sql, args)

    async def row_after_insert(self, insert: Query, insert_params: dict, select: Query,
                               select_params: dict) -> tuple[bool, Mapping | None]:
        """An INSERT … RETURNING (did it insert?) and then a SELECT's first row, in one round trip on
        PostgreSQL (the idempotency key taken with the use case's first read); two on SQLite. The
        SELECT sees the statement's snapshot, so it must not need the insert's row."""
        await self.flush()
        if self.driver is None:
            inserted = (await self.conn.execute(insert.sqlite_stmt, insert_params)).first() is not None
            found = (await self.conn.execute(select.sqlite_stmt, select_params)).first()
            return inserted, None if found is None else found._mapping
        insert_sql, insert_args = insert.pg(insert_params)
        select_sql, select_args = select.pg(select_params)
        row = await self._call(self.driver.fetchrow, _after_insert(insert, select, insert_sql, insert_args, select_sql),
                               insert_args + select_args)
        found = {k: v for k, v in row.items() if k not in ("_inserted", "_found")} if row["_found"] else None
        return row["_inserted"] > 0, found

    async def run(self, query: Query, **params) -> int:
        """Run a statement; the number of rows it changed."""
        await self.flush()
        if self.driver is None:
            return (await self.conn.execute(query.sqlite_stmt, params)).rowcount
        sql, args = query.pg(params)
        status = await self._call(self.driver.execute, sql, args)
        tail = status.rsplit(" ", 1)[-1]  # "UPDATE 1", "INSERT 0 1"
        return int(tail) if tail.isdigit() else 0

    async def add_event(self, event: CloudEvent) -> None:
        """The event's outbox row in this transaction (a deferred write); the relay is woken after
        the commit."""
        topic, key = topic_and_key(event)
        self.later(OUTBOX_INSERT, event_id=event.id, topic=topic, key=key, type=event.type,
                       payload=event.to_json(), created_at=utcnow(), attempts=0)
        self.outbox_dirty = True

    async def _call(self, fn, sql: str, args: list):
        try:
            return await fn(sql, *args)
        except Exception as exc:
            import asyncpg

            if isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ConnectionError)):
                wrapped = _as_sqlalchemy_error(exc, sql, args)
                self.broken = isinstance(wrapped, sa_exc.OperationalError)
                raise wrapped from exc
            raise


@asynccontextmanager
async def fast_transaction(db: Database, *, lock: Lock | None = None) -> AsyncIterator[FastTx]:
    """One transaction: commits on success, rolls back on any exception. `lock`: taken with BEGIN
    in its round trip (PostgreSQL), before the first statement's snapshot."""
    if is_sqlite(db.url):
        async with db.engine.begin() as conn:
            tx = FastTx(db, conn)
            yield tx
            await tx.flush()
        _committed(tx)
        return
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        tx = FastTx(db, conn, driver)
        begin = "BEGIN" if lock is None else f"BEGIN; {lock.sql}"
        try:
            try:
                await tx._call(driver.execute, begin, [])  # no arguments: the simple query protocol
                yield tx
                await tx.flush()  # the queued writes fail or commit with the rest
            except BaseException:
                if not tx.broken and driver.is_in_transaction():
                    await tx._call(driver.execute, "ROLLBACK", [])
                raise
            await tx._call(driver.execute, "COMMIT", [])
        except BaseException:
            if tx.broken:
                await conn.invalidate()  # never hand a dead connection to the next caller
            raise
    _committed(tx)


def _committed(tx: FastTx) -> None:
    if tx.outbox_dirty:
        tx.db.outbox_wakeup.set()
    for callback in tx.after_commit:
        callback()


@asynccontextmanager
async def fast_reads(db: Database) -> AsyncIterator[FastTx]:
    """Reads outside a transaction (autocommit on PostgreSQL: each statement sees its own
    snapshot; SQLite: a deferred read transaction that never waits for writers)."""
    if is_sqlite(db.url):
        async with db.reads_engine.connect() as conn:
            tx = FastTx(db, conn)
            yield tx
            if tx._later:
                raise RuntimeError("deferred writes on a read-only connection")
        return
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        tx = FastTx(db, conn, driver)
        try:
            yield tx
            if tx._later:  # a write queued here would be lost: say so instead
                raise RuntimeError("deferred writes need fast_transaction, not fast_reads")
        except BaseException:
            if tx.broken:
                await conn.invalidate()
            raise
