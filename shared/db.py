"""Async engine and unit of work per service, for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

from shared.clock import system_clock


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC in and out, on both backends (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# the one clock's reading, under the name the models and older call sites use
utcnow = system_clock


def new_id() -> uuid.UUID:
    return uuid.uuid4()


async def insert_rows(session: AsyncSession, table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL (a list of 165,000 rows in
    about a second, where an executemany takes tens), an executemany on SQLite. Values as the
    driver takes them (UUID, date, aware datetime)."""
    if not rows:
        return
    if session.bind.dialect.name == "postgresql":
        columns = list(rows[0])
        raw = await (await session.connection()).get_raw_connection()
        await raw.driver_connection.copy_records_to_table(
            table.name, columns=columns, records=[tuple(row[c] for c in columns) for row in rows])
        return
    await session.execute(sa.insert(table), rows)


def make_base(name: str) -> type[DeclarativeBase]:
    """A declarative base with its own metadata, one per service, so each service's
    migrations see only its own tables (plus the kernel's)."""
    return type(f"{name.title()}Base", (DeclarativeBase,),
                {"type_annotation_map": {datetime: UTCDateTime()}, "__abstract__": True})


KernelBase = make_base("kernel")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class Database:
    """Engine, session factory and the one way to write: `async with db.transaction() as s`.

    After a commit that added outbox rows, the relay is woken so events leave at once.
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20) -> None:
        self.url = url
        kwargs: dict = {"echo": echo}
        if is_sqlite(url):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # no pre-ping: on asyncpg it is BEGIN, a query and ROLLBACK on every checkout, three
            # round trips per transaction (bench/ordering.py under py-spy). A connection the server
            # dropped fails its one request with 503 (shared/problem.py) and SQLAlchemy then
            # replaces every pooled connection; recycling keeps idle ones from going stale.
            # No overflow: connections past the pool used to be closed on return, so a service
            # that steadily ran more transactions at once than its pool opened a new PostgreSQL
            # session (a forked backend) per transaction: at 5 clients in bench/ordering.py that
            # churn was a quarter of a core and cut the orders placed from 55/s to 34/s. The
            # most a process holds is the same as before (10 kept + 10 overflow = 20), all kept;
            # the 21st transaction waits for a connection instead of opening one.
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if is_sqlite(url):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # SQLite: take the write lock at BEGIN so concurrent writers queue instead of failing;
            # read-only sessions (`sessions()`) begin deferred and never wait for writers (WAL)
            event.listen(self.engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(
                "BEGIN" if conn.get_execution_options().get("youfu_reads") else "BEGIN IMMEDIATE"))

        class _Session(Session):
            pass

        self._sync_session_class = _Session
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=_Session)
        # `sessions()` is for reads, and reads need no transaction: on PostgreSQL they run in
        # autocommit, which spares a BEGIN and a ROLLBACK round trip each (at READ COMMITTED every
        # statement sees its own snapshot either way). Writes go through `transaction()`.
        self.reads_engine = (self.engine.execution_options(youfu_reads=True) if is_sqlite(url)
                             else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self.sessions = async_sessionmaker(self.reads_engine, expire_on_commit=False, sync_session_class=_Session)
        self.outbox_wakeup = asyncio.Event()
        event.listen(_Session, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("outbox_dirty", False):
            self.outbox_wakeup.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits once on success, rolls back on any exception."""
        async with self._writes() as session:
            async with session.begin():
                yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # pysqlite's own transaction handling would fight BEGIN IMMEDIATE; let SQLAlchemy drive it
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
