"""Two in-process 'services' on their own databases, joined by the real broker.

They share nothing but Kafka: the producer writes an effect row and an outbox event in one
transaction; the consumer's handler writes its own effect row with the inbox in one transaction.
`pair` has an ORM handler; `@pytest.mark.parametrize("pair", ["orm", "fast"], indirect=True)` runs
a test with each, the fast one taking a FastTx (shared/fast_sql.py) instead of a session.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Mapped, mapped_column

from shared.consumer import ConsumerRunner
from shared.db import Database, make_base
from shared.events import CloudEvent, event_type, make_event
from shared.fast_sql import insert_query
from shared.inbox import Subscription
from shared.kernel_models import KernelBase
from shared.outbox import KafkaLink, OutboxRelay, add_event
from tests.support.waiting import wait_for

TestBase = make_base("kerneltest")
TOPIC = "youfu.kerneltest"


class Effect(TestBase):
    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.String(100))


EFFECT_INSERT = insert_query(Effect.__table__, ["event_id", "value"])


@event_type("youfu.kerneltest.pinged.v1", topic=TOPIC, key="thing_id")
class Pinged(BaseModel):
    thing_id: str
    value: str


@pytest.fixture(params=["postgresql", "sqlite"])
async def open_both_backends(request, databases, tmp_path):
    """`await open_db(label, *bases)`: a fresh database with the kernel's tables and `bases`', once on
    PostgreSQL and once on SQLite (the fast_sql paths run different code on each)."""
    opened: list[Database] = []

    async def open_db(label: str, *bases) -> Database:
        if request.param == "postgresql":
            url = databases.new_url(label)
            if url.startswith("sqlite"):
                pytest.skip("the suite runs without PostgreSQL")
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / (label + '.db')}"
        db = Database(url)
        async with db.engine.begin() as conn:
            for base in (KernelBase, *bases):
                await conn.run_sync(base.metadata.create_all)
        opened.append(db)
        return db

    yield open_db
    for db in opened:
        await db.dispose()


async def create_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(KernelBase.metadata.create_all)
        await conn.run_sync(TestBase.metadata.create_all)


class Pair:
    def __init__(self, producer_db: Database, consumer_db: Database, bootstrap: str, topic: str, *,
                 fast: bool = False) -> None:
        self.producer_db = producer_db
        self.consumer_db = consumer_db
        self.bootstrap = bootstrap
        self.topic = topic
        self.fail_times: dict[str, int] = {}
        self.committed: list[str] = []  # values whose fast transaction committed (its after_commit ran)
        self.link = KafkaLink(bootstrap, client_id="test-producer")
        self.relay = OutboxRelay(producer_db, self.link, poll_s=0.2, retention_s=3600)
        handlers = {"youfu.kerneltest.pinged.v1": self.handle_fast if fast else self.handle}
        self.sub = Subscription(name=f"test-{uuid.uuid4().hex[:6]}", topics=[topic],
                                handlers={} if fast else handlers, fast_handlers=handlers if fast else {},
                                max_attempts=3, retry_backoff_s=0.01)
        self.runner = ConsumerRunner(consumer_db, bootstrap, self.sub, client_id="test-consumer")

    def fail_if_told(self, value: str) -> None:
        if self.fail_times.get(value, 0) > 0:
            self.fail_times[value] -= 1
            raise RuntimeError(f"handler told to fail on {value}")

    async def handle(self, session, event: CloudEvent) -> None:
        value = event.data["value"]
        self.fail_if_told(value)
        session.add(Effect(event_id=event.id, value=value))

    async def handle_fast(self, tx, event: CloudEvent) -> None:
        value = event.data["value"]
        await tx.run(EFFECT_INSERT, event_id=event.id, value=value)
        self.fail_if_told(value)  # after its write: a failure must take the write back
        tx.after_commit.append(lambda: self.committed.append(value))

    async def publish(self, value: str, *, fail: bool = False) -> CloudEvent:
        event = make_event(Pinged(thing_id=value, value=value), source="/youfu/kerneltest")
        event_topic = self.topic
        async with self.producer_db.transaction() as s:
            from shared.kernel_models import OutboxRow

            add_event(s, event)
            # per-test topic keeps tests independent on the one shared broker
            for obj in s.new:
                if isinstance(obj, OutboxRow):
                    obj.topic = event_topic
            s.add(Effect(event_id=event.id, value=f"source:{value}"))
            if fail:
                raise RuntimeError("rolled back on purpose")
        return event

    async def effects(self, db: Database | None = None) -> list[str]:
        async with (db or self.consumer_db).sessions() as s:
            return list((await s.execute(sa.select(Effect.value).order_by(Effect.id))).scalars())

    async def wait_for(self, predicate, timeout_s: float = 60.0):
        # 60 s, not 30: in the whole suite three workers and the browser tests share two cores and
        # one broker, and a new consumer group's first join and fetch once took longer than 30 s
        # (test_cloudevents_binding, fresh-clone run of 2026-12-05 10:01; it passes alone in 12 s)
        return await wait_for(predicate, timeout_s)


@pytest.fixture
async def pair(request, databases, broker):
    producer_db = Database(databases.new_url("prod"))
    consumer_db = Database(databases.new_url("cons"))
    await create_tables(producer_db)
    await create_tables(consumer_db)
    p = Pair(producer_db, consumer_db, broker.bootstrap, f"{TOPIC}.{uuid.uuid4().hex[:8]}",
             fast=getattr(request, "param", "orm") == "fast")
    p.relay.start()
    p.runner.start()
    yield p
    await p.runner.stop()
    await p.relay.stop()
    await producer_db.dispose()
    await consumer_db.dispose()


