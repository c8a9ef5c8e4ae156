"""shared/inbox.py `handle_events`: a partition's consecutive fast-handled events in one transaction
(D78), on PostgreSQL and on SQLite. What must hold: each event applied once and in order, one
transaction for the run (PostgreSQL's transaction id), a failing event costing only itself, an
ORM-handled event keeping its place. Through the broker: tests/integration/test_kernel_events.py."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import CloudEvent
from shared.fast_sql import Query
from shared.inbox import HandleOutcome, Subscription, handle_events
from shared.kernel_models import DeadLetterRow, InboxRow
from tests.integration.conftest import EFFECT_INSERT, Effect, TestBase

PINGED = "youfu.kerneltest.pinged.v1"
NOTED = "youfu.kerneltest.noted.v1"  # handled by an ORM handler
TXID = Query(sa.select(sa.func.txid_current().label("txid")))


@pytest.fixture
async def db(open_both_backends):
    return await open_both_backends("inboxruns", TestBase)


class Consumer:
    """Fast handler: one effect row, its value noted once committed, and (PostgreSQL) the
    transaction it ran in. Events whose value is in `poison` always fail."""

    def __init__(self, db: Database, *, poison: tuple[str, ...] = ()) -> None:
        self.pg = not db.url.startswith("sqlite")
        self.poison = poison
        self.committed: list[str] = []
        self.txids: dict[str, int] = {}
        self.sub = Subscription(name=f"runs-{uuid.uuid4().hex[:6]}", topics=["youfu.kerneltest"],
                                handlers={NOTED: self.note}, fast_handlers={PINGED: self.handle},
                                max_attempts=2, retry_backoff_s=0.01)

    async def handle(self, tx, event: CloudEvent) -> None:
        value = event.data["value"]
        await tx.run(EFFECT_INSERT, event_id=event.id, value=value)
        if self.pg:
            self.txids[value] = (await tx.row(TXID))["txid"]
        tx.after_commit.append(lambda: self.committed.append(value))
        if value in self.poison:
            raise RuntimeError(f"{value} always fails")

    async def note(self, session: AsyncSession, event: CloudEvent) -> None:
        session.add(Effect(event_id=event.id, value=event.data["value"]))


def event(value: str, type_: str = PINGED) -> CloudEvent:
    return CloudEvent(source="/youfu/kerneltest", type=type_, subject=value, data={"thing_id": value, "value": value})


async def effects(db: Database) -> list[str]:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(Effect.value).order_by(Effect.id))).scalars())


async def count(db: Database, row, consumer: str) -> int:
    async with db.sessions() as s:
        return (await s.execute(sa.select(sa.func.count()).select_from(row).where(row.consumer == consumer))).scalar()


async def test_a_run_of_fast_events_is_one_transaction_applied_in_order_and_once(db):
    c = Consumer(db)
    run = [event(v) for v in ("a", "b", "c", "d")]
    outcome = HandleOutcome()
    assert await handle_events(db, c.sub, run, outcome=outcome) == ["applied"] * 4
    assert outcome.applied == 4
    assert await effects(db) == ["a", "b", "c", "d"] and c.committed == ["a", "b", "c", "d"]
    assert await count(db, InboxRow, c.sub.name) == 4
    if c.pg:
        assert len(set(c.txids.values())) == 1  # one transaction, one commit, for the four
    assert await handle_events(db, c.sub, run, outcome=outcome) == ["duplicate"] * 4  # redelivered
    assert outcome.duplicates == 4 and await effects(db) == ["a", "b", "c", "d"]


async def test_an_event_the_partition_holds_twice_is_applied_once(db):
    c = Consumer(db)
    a, b = event("a"), event("b")
    assert await handle_events(db, c.sub, [a, a, b, a]) == ["applied", "duplicate", "applied", "duplicate"]
    assert await effects(db) == ["a", "b"] and c.committed == ["a", "b"]


async def test_a_failing_event_costs_only_itself(db):
    c = Consumer(db, poison=("poison",))
    run = [event("a"), event("poison"), event("b")]
    assert await handle_events(db, c.sub, run, topic="youfu.kerneltest") == ["applied", "dead", "applied"]
    # the run's transaction was rolled back whole (its callbacks never ran); then one by one
    assert await effects(db) == ["a", "b"] and c.committed == ["a", "b"]
    assert await count(db, InboxRow, c.sub.name) == 2
    async with db.sessions() as s:
        [letter] = (await s.execute(sa.select(DeadLetterRow))).scalars().all()
    assert (letter.consumer, letter.event_id) == (c.sub.name, run[1].id)
    if c.pg:
        assert c.txids["a"] != c.txids["b"]  # each alone, after the run failed


async def test_an_event_for_another_kind_of_handler_keeps_its_place(db):
    c = Consumer(db)
    run = [event("p1"), event("n1", NOTED), event("p2"), event("p3")]
    assert await handle_events(db, c.sub, run) == ["applied"] * 4
    assert await effects(db) == ["p1", "n1", "p2", "p3"]
    if c.pg:  # p1 alone before the ORM event, p2 and p3 together after it
        assert c.txids["p2"] == c.txids["p3"] != c.txids["p1"]
