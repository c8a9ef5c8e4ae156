"""The providers service's load handlers (services/providers/consumers.py, workload.py) as fast
handlers, called through the kernel's `handle_event` on PostgreSQL and SQLite: each caregiver's
load today follows an order through acceptance, re-dispatch, cancellation and completion, a
redelivery changes nothing, and the index hears each change once committed (that callbacks never
run before the commit or after a rollback: test_kernel_fast_sql.py, test_kernel_fast_consumer.py).
The same through the broker and the real index: tests/integration/test_providers_candidates.py."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from services.providers.consumers import make_subscriptions
from services.providers.models import Base, OrderLoadRow
from shared.db import Database
from shared.events import CloudEvent
from shared.inbox import handle_event

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 on 10 March in Shanghai
TODAY = date(2026, 3, 10)


@pytest.fixture
async def db(open_both_backends):
    return await open_both_backends("fastloads", Base)


class IndexTold:
    """In the candidate index's place (services/providers/nearest/candidates.py): the loads it was told, in order."""

    def __init__(self) -> None:
        self.loads: list[tuple[uuid.UUID, int]] = []

    def apply_load(self, caregiver_id: uuid.UUID, load: int) -> None:
        self.loads.append((caregiver_id, load))

    def told_since(self, mark: int) -> dict[uuid.UUID, int]:
        return dict(self.loads[mark:])


def order_event(kind: str, order_id: uuid.UUID, **data) -> CloudEvent:
    return CloudEvent(source="/youfu/orders", type=f"youfu.order.{kind}.v1", subject=str(order_id), time=NOW,
                      data={"order_id": str(order_id), "elder_id": str(uuid.uuid4())}
                      | {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()})


async def load_rows(db: Database) -> dict[uuid.UUID, tuple]:
    async with db.sessions() as s:
        rows = (await s.execute(sa.select(OrderLoadRow))).scalars().all()
    return {r.order_id: (r.caregiver_id, r.day, r.cancelled) for r in rows}


async def test_loads_follow_an_order_and_the_index_hears_each_committed_change(db):
    index = IndexTold()
    [sub] = make_subscriptions(SimpleNamespace(runtime=SimpleNamespace(search=index), now=lambda: NOW))
    assert set(sub.fast_handlers) == {"youfu.order.accepted.v1", "youfu.order.completed.v1",
                                      "youfu.order.cancelled.v1", "youfu.order.returned.v1"}
    assert set(sub.handlers) == {"youfu.order.reviewed.v1"}
    provider, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    o1, o2, o3, o4 = (uuid.uuid4() for _ in range(4))

    async def deliver(event: CloudEvent, expected: str = "applied") -> dict[uuid.UUID, int]:
        mark = len(index.loads)
        assert await handle_event(db, sub, event) == expected
        return index.told_since(mark)

    accepted = order_event("accepted", o1, provider_id=provider, caregiver_id=a)
    assert await deliver(accepted) == {a: 1}
    assert await deliver(accepted, "duplicate") == {}  # redelivered: nothing counted or told twice
    # given back and accepted by someone else: it moves with the order
    assert await deliver(order_event("accepted", o1, provider_id=provider, caregiver_id=b)) == {a: 0, b: 1}
    assert await deliver(order_event("accepted", o2, provider_id=provider, caregiver_id=b)) == {b: 2}
    assert await deliver(order_event("cancelled", o1, provider_id=provider)) == {b: 1}
    assert await deliver(order_event("cancelled", o1, provider_id=provider)) == {}  # already cancelled
    assert await deliver(order_event("completed", o2, provider_id=provider, caregiver_id=b)) == {}  # already counted
    # completed, its acceptance never seen: it took the caregiver's time all the same
    assert await deliver(order_event("completed", o3, provider_id=provider, caregiver_id=a)) == {a: 1}
    # served the day after tomorrow: counted on that day, today's load unchanged
    later = NOW + timedelta(days=2)
    assert await deliver(order_event("accepted", o4, provider_id=provider, caregiver_id=a,
                                     window_start=later.isoformat())) == {a: 1}
    assert await deliver(order_event("accepted", uuid.uuid4(), provider_id=provider)) == {}  # no caregiver
    assert await deliver(order_event("cancelled", uuid.uuid4())) == {}  # an order never seen

    assert await load_rows(db) == {o1: (b, TODAY, True), o2: (b, TODAY, False), o3: (a, TODAY, False),
                                   o4: (a, TODAY + timedelta(days=2), False)}
    # accepted again after the cancellation (dispatched anew): counted again
    assert await deliver(order_event("accepted", o1, provider_id=provider, caregiver_id=a)) == {a: 2, b: 1}
    assert (await load_rows(db))[o1] == (a, TODAY, False)
    # given back before check-in: the load ends, and the next acceptance counts for whoever takes it
    assert await deliver(order_event("returned", o1, provider_id=provider, caregiver_id=a, reason="临时有事")) == {a: 1}
    assert await deliver(order_event("accepted", o1, provider_id=provider, caregiver_id=b)) == {a: 1, b: 2}

