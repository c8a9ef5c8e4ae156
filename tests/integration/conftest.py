"""Two in-process 'services' on their own databases, joined by the real broker.

They share nothing but Kafka: the producer writes an effect row and an outbox event in one
transaction; the consumer's handler writes its own effect row with the inbox in one transaction.
"""
from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Mapped, mapped_column

from shared.consumer import ConsumerRunner, Subscription
from shared.db import Database, make_base
from shared.events import CloudEvent, event_type, make_event
from shared.kernel_models import KernelBase
from shared.outbox import KafkaLink, OutboxRelay, add_event

TestBase = make_base("kerneltest")
TOPIC = "youfu.kerneltest"


class Effect(TestBase):
    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.String(100))


@event_type("youfu.kerneltest.pinged.v1", topic=TOPIC, key="thing_id")
class Pinged(BaseModel):
    thing_id: str
    value: str


async def create_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(KernelBase.metadata.create_all)
        await conn.run_sync(TestBase.metadata.create_all)


class Pair:
    def __init__(self, producer_db: Database, consumer_db: Database, bootstrap: str, topic: str) -> None:
        self.producer_db = producer_db
        self.consumer_db = consumer_db
        self.bootstrap = bootstrap
        self.topic = topic
        self.fail_times: dict[str, int] = {}
        self.link = KafkaLink(bootstrap, client_id="test-producer")
        self.relay = OutboxRelay(producer_db, self.link, poll_s=0.2, retention_s=3600)
        self.sub = Subscription(name=f"test-{uuid.uuid4().hex[:6]}", topics=[topic],
                                handlers={"youfu.kerneltest.pinged.v1": self.handle}, max_attempts=3,
                                retry_backoff_s=0.01)
        self.runner = ConsumerRunner(consumer_db, bootstrap, self.sub, client_id="test-consumer")

    async def handle(self, session, event: CloudEvent) -> None:
        value = event.data["value"]
        if self.fail_times.get(value, 0) > 0:
            self.fail_times[value] -= 1
            raise RuntimeError(f"handler told to fail on {value}")
        session.add(Effect(event_id=event.id, value=value))

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

    async def wait_for(self, predicate, timeout_s: float = 30.0) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if await predicate():
                return True
            await asyncio.sleep(0.1)
        return await predicate()


@pytest.fixture
async def pair(databases, broker):
    producer_db = Database(databases.new_url("prod"))
    consumer_db = Database(databases.new_url("cons"))
    await create_tables(producer_db)
    await create_tables(consumer_db)
    p = Pair(producer_db, consumer_db, broker.bootstrap, f"{TOPIC}.{uuid.uuid4().hex[:8]}")
    p.relay.start()
    p.runner.start()
    yield p
    await p.runner.stop()
    await p.relay.stop()
    await producer_db.dispose()
    await consumer_db.dispose()


