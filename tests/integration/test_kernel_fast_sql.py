"""shared/fast_sql: the same Core statements on the asyncpg driver (PostgreSQL) and through
SQLAlchemy (SQLite), with the same answers, types, transactions and error shapes."""
from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base
from shared.events import event_type, make_event
from shared.fast_sql import Lock, Query, fast_reads, fast_transaction, insert_query
from shared.kernel_models import OutboxRow

Base = make_base("fasttest")


class ThingRow(Base):
    __tablename__ = "things"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    state: Mapped[str] = mapped_column(sa.String(20))
    seen_at: Mapped[datetime | None]
    count: Mapped[int] = mapped_column(default=0)
    flag: Mapped[bool] = mapped_column(default=False)


@event_type("youfu.fasttest.thing_named.v1", topic="youfu.fasttest", key="thing_id")
class ThingNamed(BaseModel):
    thing_id: uuid.UUID


INSERT_THING = insert_query(ThingRow.__table__)
THING = Query(sa.select(ThingRow.__table__).where(ThingRow.id == sa.bindparam("thing_id")))
LOCK_THING = Query(sa.select(ThingRow.__table__).where(ThingRow.id == sa.bindparam("thing_id")).with_for_update())
THINGS_IN_STATE = Query(sa.select(ThingRow.id, ThingRow.name).where(ThingRow.state == sa.bindparam("state"))
                        .order_by(ThingRow.name))
# a literal in the statement ("new") besides the named parameters
MOVE_NEW = Query(sa.update(ThingRow).where(ThingRow.id == sa.bindparam("thing_id"), ThingRow.state == "new")
                 .values(state=sa.bindparam("to"), count=ThingRow.count + 1))


@pytest.fixture
async def db(open_both_backends):
    return await open_both_backends("fastsql", Base)


def thing(name: str, **over) -> dict:
    return {"id": uuid.uuid4(), "name": name, "state": "new", "seen_at": datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc),
            "count": 0, "flag": False} | over


async def test_rows_come_back_with_python_types(db):
    t = thing("a", flag=True)
    async with fast_transaction(db) as tx:
        assert await tx.run(INSERT_THING, **t) == 1
    async with fast_reads(db) as r:
        row = await r.row(THING, thing_id=t["id"])
        assert await r.row(THING, thing_id=uuid.uuid4()) is None
    assert row["id"] == t["id"] and isinstance(row["id"], uuid.UUID)
    assert row["seen_at"] == t["seen_at"] and row["seen_at"].utcoffset() == timedelta(0)
    assert row["flag"] is True and row["count"] == 0 and row["name"] == "a"


async def test_a_literal_in_the_statement_is_bound_and_rowcount_is_counted(db):
    t = thing("b")
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **t)
        assert await tx.run(MOVE_NEW, thing_id=t["id"], to="moved") == 1
        assert await tx.run(MOVE_NEW, thing_id=t["id"], to="again") == 0  # no longer "new"
        row = await tx.row(LOCK_THING, thing_id=t["id"])
    assert (row["state"], row["count"]) == ("moved", 1)
    async with fast_reads(db) as r:
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="moved")] == ["b"]


async def test_an_exception_rolls_back_everything_including_the_event(db):
    t = thing("c")
    with pytest.raises(RuntimeError):
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **t)
            await tx.add_event(make_event(ThingNamed(thing_id=t["id"]), source="fasttest"))
            raise RuntimeError("business rule said no")
    async with fast_reads(db) as r:
        assert await r.row(THING, thing_id=t["id"]) is None
    async with db.sessions() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(OutboxRow))).scalar() == 0


async def test_the_event_commits_with_the_change_and_wakes_the_relay(db):
    t = thing("d")
    db.outbox_wakeup.clear()
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **t)
        await tx.add_event(make_event(ThingNamed(thing_id=t["id"]), source="fasttest"))
        assert not db.outbox_wakeup.is_set()  # not before the commit
    assert db.outbox_wakeup.is_set()
    async with db.sessions() as s:
        rows = (await s.execute(sa.select(OutboxRow))).scalars().all()
    assert [(r.type, r.sent_at, r.attempts) for r in rows] == [("youfu.fasttest.thing_named.v1", None, 0)]
    assert str(t["id"]) in rows[0].payload


async def test_a_constraint_violation_is_an_integrity_error_and_the_pool_stays_usable(db):
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **thing("e"))
    with pytest.raises(IntegrityError):
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **thing("e"))
    for _ in range(3):  # the connection went back clean: later transactions work
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **thing(f"e{uuid.uuid4().hex[:6]}"))
    async with fast_reads(db) as r:
        assert len(await r.rows(THINGS_IN_STATE, state="new")) == 4


async def test_a_missing_parameter_is_refused_before_anything_runs(db):
    with pytest.raises(Exception) as caught:
        async with fast_transaction(db) as tx:
            await tx.run(MOVE_NEW, thing_id=uuid.uuid4())  # no "to"
    assert "to" in str(caught.value)


async def test_a_connection_killed_under_a_transaction_is_a_503_shape_and_is_replaced(db):
    if db.url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: a server-side kill")
    with pytest.raises(OperationalError):
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **thing("f"))
            pid = await tx.driver.fetchval("SELECT pg_backend_pid()")
            async with fast_reads(db) as other:
                await other.driver.execute("SELECT pg_terminate_backend($1)", pid)
            await tx.run(INSERT_THING, **thing("g"))
    async with fast_transaction(db) as tx:  # a fresh connection, not the dead one
        await tx.run(INSERT_THING, **thing("h"))
    async with fast_reads(db) as r:
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="new")] == ["h"]


async def test_after_commit_callbacks_run_once_committed_and_never_on_rollback(db):
    seen: list[str] = []
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **thing("i"))
        tx.after_commit.append(lambda: seen.append("first"))
        tx.after_commit.append(lambda: seen.append("second"))
        assert seen == []  # not before the commit
    assert seen == ["first", "second"]
    with pytest.raises(RuntimeError):
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **thing("j"))
            tx.after_commit.append(lambda: seen.append("rolled back"))
            raise RuntimeError("business rule said no")
    with pytest.raises(IntegrityError):
        async with fast_transaction(db) as tx:
            tx.after_commit.append(lambda: seen.append("failed at the database"))
            await tx.run(INSERT_THING, **thing("i"))  # the name is taken: nothing commits
    assert seen == ["first", "second"]


async def test_deferred_writes_go_together_before_the_next_statement_and_the_commit(db):
    a, b, c = thing("m1"), thing("m2"), thing("m3")
    async with fast_transaction(db) as tx:
        tx.later(INSERT_THING, **a)
        tx.later(INSERT_THING, **b)
        # a read sends the queue first (one statement on PostgreSQL): it sees both rows
        assert [x["name"] for x in await tx.rows(THINGS_IN_STATE, state="new")] == ["m1", "m2"]
        # different statements, several parameters each (renumbered in turn), one of them a literal
        tx.later(MOVE_NEW, thing_id=a["id"], to="done")
        tx.later(MOVE_NEW, thing_id=b["id"], to="late")
        tx.later(INSERT_THING, **c)
        await tx.add_event(make_event(ThingNamed(thing_id=c["id"]), source="/test"))
    async with fast_reads(db) as r:  # the rest went at the commit
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="done")] == ["m1"]
        assert (await r.row(THING, thing_id=b["id"]))["state"] == "late"
        assert (await r.row(THING, thing_id=b["id"]))["count"] == 1
        assert (await r.row(THING, thing_id=c["id"]))["name"] == "m3"
    async with db.sessions() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(OutboxRow))).scalar() == 1
    # one failing write fails the batch and the transaction with it, at the commit
    seen: list[str] = []
    with pytest.raises(IntegrityError):
        async with fast_transaction(db) as tx:
            tx.after_commit.append(lambda: seen.append("committed"))
            tx.later(INSERT_THING, **thing("m4"))
            tx.later(INSERT_THING, **thing("m1"))  # the name is taken
    assert seen == []
    async with fast_reads(db) as r:
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="new")] == ["m3"]


async def test_a_deferred_write_outside_a_transaction_is_refused_not_lost(db):
    with pytest.raises(RuntimeError, match="deferred writes"):
        async with fast_reads(db) as r:
            r.later(INSERT_THING, **thing("lost"))
    async with fast_reads(db) as r:
        assert await r.rows(THINGS_IN_STATE, state="new") == []


THING_BY_NAME = Query(sa.select(ThingRow.__table__).where(ThingRow.name == sa.bindparam("thing_name")))
INSERT_THING_ONCE = Query(
    postgresql.insert(ThingRow.__table__).values({c: sa.bindparam(c) for c in ("id", "name", "state", "seen_at", "count",
                                                                              "flag")})
    .on_conflict_do_nothing().returning(ThingRow.__table__.c.id),
    sqlite=sqlite.insert(ThingRow.__table__).values({c: sa.bindparam(c) for c in ("id", "name", "state", "seen_at",
                                                                                 "count", "flag")})
    .on_conflict_do_nothing().returning(ThingRow.__table__.c.id))


async def test_an_insert_and_a_read_in_one_round_trip(db):
    # the idempotency key taken with the use case's first read (shared/idempotency.py `first`)
    old = thing("old", count=7)
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **old)
    async with fast_transaction(db) as tx:
        inserted, row = await tx.row_after_insert(INSERT_THING_ONCE, thing("new"), THING_BY_NAME, {"thing_name": "old"})
        assert inserted and row["count"] == 7 and row["id"] == old["id"]
        inserted, row = await tx.row_after_insert(INSERT_THING_ONCE, thing("new"), THING_BY_NAME, {"thing_name": "none"})
        assert not inserted and row is None  # the name was taken by the first call; nothing found
    async with fast_reads(db) as r:
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="new")] == ["new", "old"]


SET_COUNT = Query(sa.update(ThingRow).where(ThingRow.id == sa.bindparam("thing_id")).values(count=sa.bindparam("n")))


@pytest.mark.parametrize("kind", ["rows", "advisory", "none"])
async def test_a_lock_taken_with_begin_is_held_before_the_first_read(db, kind):
    # read, wait, write back plus one, in four transactions at once: with the lock in BEGIN's round
    # trip each first read already sees the last holder's write, so no increment is lost. Without
    # a lock (the control) PostgreSQL loses them; SQLite's writers queue at BEGIN anyway.
    t = thing("counted")
    async with fast_transaction(db) as tx:
        await tx.run(INSERT_THING, **t)
    lock = {"rows": Lock.rows(ThingRow.__table__, "name", ["counted"]), "advisory": Lock.advisory(-(2 ** 63)),
            "none": None}[kind]

    async def increment() -> None:
        async with fast_transaction(db, lock=lock) as tx:
            n = (await tx.row(THING, thing_id=t["id"]))["count"]
            await asyncio.sleep(0.05)
            tx.later(SET_COUNT, thing_id=t["id"], n=n + 1)

    await asyncio.gather(*(increment() for _ in range(4)))
    async with fast_reads(db) as r:
        count = (await r.row(THING, thing_id=t["id"]))["count"]
    if kind == "none" and not str(db.url).startswith("sqlite"):
        assert count < 4, "the control lost no increment: the test would not see a missing lock"
    else:
        assert count == 4, (kind, count)


async def test_a_failing_lock_at_begin_rolls_back_and_the_connection_stays_usable(db):
    if str(db.url).startswith("sqlite"):
        pytest.skip("locks with BEGIN are PostgreSQL's")
    broken = Lock('SELECT 1 FROM "no_such_table" FOR UPDATE')  # what a wrong table name would do
    with pytest.raises(sa.exc.DBAPIError):
        async with fast_transaction(db, lock=broken) as tx:
            await tx.run(INSERT_THING, **thing("never"))
    async with fast_transaction(db, lock=Lock.advisory(7)) as tx:
        await tx.run(INSERT_THING, **thing("after"))
    async with fast_reads(db) as r:
        assert [x["name"] for x in await r.rows(THINGS_IN_STATE, state="new")] == ["after"]


PG_SOCKET_DIR = "/var/run/postgresql"  # where Debian's PostgreSQL puts its socket


@pytest.mark.skipif(not os.path.exists(f"{PG_SOCKET_DIR}/.s.PGSQL.5432"), reason="no local PostgreSQL socket")
async def test_a_unix_socket_url_serves_the_orm_and_fast_sql(databases):
    """The URL form D77 documents for a platform on the database's own host
    (`postgresql+asyncpg://user@/name?host=<socket dir>`) reaches PostgreSQL over its socket, for
    the ORM and for fast_sql's driver path alike."""
    from shared.db import Database

    tcp_url = databases.new_url("socket")
    name = tcp_url.rsplit("/", 1)[1]
    db = Database(f"postgresql+asyncpg://postgres@/{name}?host={PG_SOCKET_DIR}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        t = thing("over the socket")
        async with fast_transaction(db) as tx:
            await tx.run(INSERT_THING, **t)
            # a connection over a Unix socket has no client address
            assert (await tx.row(Query(sa.select(sa.func.inet_client_addr().label("addr")))))["addr"] is None
        async with db.sessions() as s:
            assert (await s.get(ThingRow, t["id"])).name == "over the socket"
    finally:
        await db.dispose()
