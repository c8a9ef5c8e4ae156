"""shared/inbox.py with fast handlers (a FastTx instead of an ORM session), called directly on
PostgreSQL and on SQLite: the inbox claimed by one INSERT … ON CONFLICT DO NOTHING, retries, dead
letters, replays and after-commit callbacks. Through the broker: tests/integration/test_kernel_events.py."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from shared.db import Database
from shared.events import CloudEvent
from shared.fast_sql import Query
from shared.inbox import HandleOutcome, Subscription, handle_event, replay_dead_letter
from shared.kernel_models import DeadLetterRow, InboxRow
from tests.integration.conftest import EFFECT_INSERT, Effect, TestBase

PINGED = "youfu.kerneltest.pinged.v1"
EFFECT_WITH_ID = Query(sa.insert(Effect.__table__).values(id=sa.bindparam("id"), event_id=sa.bindparam("event_id"),
                                                          value=sa.bindparam("value")))


@pytest.fixture
async def db(open_both_backends):
    return await open_both_backends("fastcons", TestBase)


class Consumer:
    """A fast handler that writes one effect row and, once committed, notes its value."""

    def __init__(self, *, fail_times: int = 0, max_attempts: int = 3) -> None:
        self.fail_times = fail_times
        self.tries = 0
        self.committed: list[str] = []
        self.sub = Subscription(name=f"fast-{uuid.uuid4().hex[:6]}", topics=["youfu.kerneltest"], handlers={},
                                fast_handlers={PINGED: self.handle}, max_attempts=max_attempts, retry_backoff_s=0.01)

    async def handle(self, tx, event: CloudEvent) -> None:
        self.tries += 1
        value = event.data["value"]
        await tx.run(EFFECT_INSERT, event_id=event.id, value=value)
        tx.after_commit.append(lambda: self.committed.append(value))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError(f"handler told to fail on {value}")


def pinged(value: str, type_: str = PINGED) -> CloudEvent:
    return CloudEvent(source="/youfu/kerneltest", type=type_, subject=value, data={"thing_id": value, "value": value})


async def effects(db: Database) -> list[str]:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(Effect.value).order_by(Effect.id))).scalars())


async def inbox(db: Database, consumer: str) -> list[str]:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(InboxRow.event_id).where(InboxRow.consumer == consumer))).scalars())


async def dead_letters(db: Database) -> list[DeadLetterRow]:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(DeadLetterRow))).scalars())


async def test_a_fast_handler_applies_once_and_a_redelivery_is_a_duplicate(db):
    c, event = Consumer(), pinged("once")
    outcome = HandleOutcome()
    assert await handle_event(db, c.sub, event, outcome=outcome) == "applied"
    assert await handle_event(db, c.sub, event, outcome=outcome) == "duplicate"
    assert (outcome.applied, outcome.duplicates) == (1, 1)
    assert await effects(db) == ["once"] and await inbox(db, c.sub.name) == [event.id]
    assert c.tries == 1 and c.committed == ["once"]
    other = Consumer()  # the inbox is per consumer: another one applies the same event too
    assert await handle_event(db, other.sub, event) == "applied"
    assert await effects(db) == ["once", "once"]


async def test_an_unknown_type_is_ignored_and_writes_nothing(db):
    c, outcome = Consumer(), HandleOutcome()
    assert await handle_event(db, c.sub, pinged("x", "youfu.kerneltest.other.v1"), outcome=outcome) == "ignored"
    assert outcome.ignored == 1 and c.tries == 0
    assert await inbox(db, c.sub.name) == [] and await effects(db) == []


async def test_a_failing_try_takes_its_writes_back_and_the_next_one_applies(db):
    c = Consumer(fail_times=2)
    assert await handle_event(db, c.sub, pinged("third time")) == "applied"
    assert c.tries == 3 and c.committed == ["third time"]  # the failed tries' callbacks never ran
    assert await effects(db) == ["third time"] and await dead_letters(db) == []


async def test_a_fast_handler_that_keeps_failing_is_dead_lettered_and_replays_once(db):
    c, event = Consumer(fail_times=3), pinged("poison")
    outcome = HandleOutcome()
    assert await handle_event(db, c.sub, event, topic="youfu.kerneltest", outcome=outcome) == "dead"
    assert outcome.dead_lettered == 1 and c.tries == 3 and c.committed == []
    assert await effects(db) == [] and await inbox(db, c.sub.name) == []
    [letter] = await dead_letters(db)
    assert (letter.consumer, letter.event_id, letter.type, letter.attempts) == (c.sub.name, event.id, PINGED, 3)
    assert "handler told to fail on poison" in letter.error and letter.replayed_at is None
    c.fail_times = 3
    assert await handle_event(db, c.sub, event) == "dead"  # delivered again, still failing: still one letter
    assert len(await dead_letters(db)) == 1 and c.tries == 6

    c.fail_times = 0
    assert await replay_dead_letter(db, [Consumer().sub, c.sub], letter.id) == "applied"
    assert await replay_dead_letter(db, [c.sub], letter.id) == "duplicate"
    assert await effects(db) == ["poison"] and c.committed == ["poison"]
    assert (await dead_letters(db))[0].replayed_at is not None
    assert await handle_event(db, c.sub, event) == "duplicate"  # and the broker's redelivery changes nothing


async def test_a_replay_that_fails_changes_nothing(db):
    c, event = Consumer(fail_times=4), pinged("still poison")
    assert await handle_event(db, c.sub, event) == "dead"
    [letter] = await dead_letters(db)
    with pytest.raises(RuntimeError):
        await replay_dead_letter(db, [c.sub], letter.id)
    assert (await dead_letters(db))[0].replayed_at is None
    assert await effects(db) == [] and await inbox(db, c.sub.name) == []


async def test_an_integrity_error_of_the_handlers_own_write_is_retried_then_dead_lettered(db):
    async with db.transaction() as s:
        s.add(Effect(id=7, event_id="earlier", value="taken"))

    async def collide(tx, event: CloudEvent) -> None:
        await tx.run(EFFECT_WITH_ID, id=7, event_id=event.id, value="collides")

    sub = Subscription(name="fast-collide", topics=["youfu.kerneltest"], handlers={}, fast_handlers={PINGED: collide},
                       max_attempts=2, retry_backoff_s=0.01)
    assert await handle_event(db, sub, pinged("collides")) == "dead"  # not taken for a duplicate
    [letter] = await dead_letters(db)
    assert "IntegrityError" in letter.error and await inbox(db, "fast-collide") == []
    assert await effects(db) == ["taken"]


async def test_concurrent_deliveries_of_one_event_apply_it_once(db):
    c, event = Consumer(), pinged("raced")
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(tx, e: CloudEvent) -> None:
        started.set()
        await release.wait()  # holds its transaction (and, on PostgreSQL, the claimed inbox row)
        await c.handle(tx, e)

    c.sub.fast_handlers[PINGED] = slow
    first = asyncio.create_task(handle_event(db, c.sub, event))
    await started.wait()
    second = asyncio.create_task(handle_event(db, c.sub, event))
    await asyncio.sleep(0.3)
    assert not second.done()  # waits for the first transaction instead of applying it again
    release.set()
    assert sorted(await asyncio.gather(first, second)) == ["applied", "duplicate"]
    assert await effects(db) == ["raced"] and c.tries == 1


def test_an_event_type_has_one_kind_of_handler():
    async def orm(session, event) -> None: ...

    async def fast(tx, event) -> None: ...

    with pytest.raises(ValueError, match=PINGED):
        Subscription(name="both", topics=["t"], handlers={PINGED: orm}, fast_handlers={PINGED: fast})
    sub = Subscription(name="split", topics=["t"], handlers={PINGED: orm}, fast_handlers={"youfu.x.v1": fast})
    assert sub.handles(PINGED) and sub.handles("youfu.x.v1") and not sub.handles("youfu.y.v1")
