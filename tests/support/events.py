"""Events around one service under test: what it wrote to its outbox, and another service's event
sent straight to the broker (as that service's outbox relay would)."""
from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from shared.db import Database
from shared.events import CloudEvent
from shared.kernel_models import OutboxRow


async def outbox_events(db: Database, type_: str) -> list[dict]:
    """The CloudEvents of type `type_` in the outbox of `db`, whole (`["data"]` is the payload), in order."""
    async with db.sessions() as s:
        rows = (await s.execute(sa.select(OutboxRow.payload).where(OutboxRow.type == type_)
                                .order_by(OutboxRow.seq))).scalars()
        return [json.loads(p) for p in rows]


async def send_event(bootstrap: str, topic: str, key: str, event: CloudEvent) -> CloudEvent:
    """Send `event` as CloudEvents JSON to `topic` (the full name, prefix included) and wait for the broker's ack."""

    def send() -> None:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        try:
            producer.send(topic, key=key.encode(), value=event.to_json().encode()).get(timeout=10)
        finally:
            producer.close()

    await asyncio.to_thread(send)
    return event
