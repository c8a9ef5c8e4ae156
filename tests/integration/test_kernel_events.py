"""Outbox → real broker → consumer with inbox, across two databases."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from shared.consumer import BUSY_FETCH_WAIT_MS, IDLE_FETCH_WAIT_MS, QUIET_FETCH_MIN_BYTES
from shared.db import utcnow
from shared.events import CloudEvent
from shared.inbox import handle_event, replay_dead_letter
from shared.kernel_models import DeadLetterRow, OutboxRow
from tests.support.events import send_event

pytestmark = pytest.mark.slow
both_handler_kinds = pytest.mark.parametrize("pair", ["orm", "fast"], indirect=True)


@both_handler_kinds
async def test_event_reaches_other_service_and_rollback_publishes_nothing(pair):
    with pytest.raises(RuntimeError):
        await pair.publish("never", fail=True)
    await pair.publish("first")
    assert await pair.wait_for(lambda: _has(pair, "first"))
    await asyncio.sleep(0.5)  # give a wrongly-published "never" the time to show up
    assert await pair.effects() == ["first"]
    async with pair.producer_db.sessions() as s:
        types = (await s.execute(sa.select(OutboxRow.key))).scalars().all()
    assert types == ["first"]
    assert await pair.effects(pair.producer_db) == ["source:first"]
    if pair.sub.fast_handlers:
        assert pair.committed == ["first"]


@both_handler_kinds
async def test_redelivery_leaves_one_effect(pair):
    event = await pair.publish("once")
    assert await pair.wait_for(lambda: _has(pair, "once"))
    # the same event delivered again, directly and through the broker
    assert await handle_event(pair.consumer_db, pair.sub, event) == "duplicate"
    async with pair.producer_db.transaction() as s:
        await s.execute(sa.update(OutboxRow).values(sent_at=None))
        s.info["outbox_dirty"] = True
    assert await pair.wait_for(lambda: _outbox_empty(pair))
    await asyncio.sleep(1.0)
    assert await pair.effects() == ["once"]
    if pair.sub.fast_handlers:
        assert pair.committed == ["once"]  # a duplicate commits nothing of the handler's


@both_handler_kinds
async def test_failing_handler_goes_to_dead_letters_and_replays_once(pair):
    pair.fail_times["poison"] = 3  # == max_attempts
    await pair.publish("poison")
    await pair.publish("after")  # the partition is not blocked by the poison event
    assert await pair.wait_for(lambda: _has(pair, "after"))
    assert await pair.wait_for(lambda: _dead_letters(pair))
    async with pair.consumer_db.sessions() as s:
        letters = (await s.execute(sa.select(DeadLetterRow))).scalars().all()
    assert [(x.type, x.attempts) for x in letters] == [("youfu.kerneltest.pinged.v1", 3)]
    assert "handler told to fail" in letters[0].error
    assert "poison" not in await pair.effects()
    assert await replay_dead_letter(pair.consumer_db, [pair.sub], letters[0].id) == "applied"
    assert await replay_dead_letter(pair.consumer_db, [pair.sub], letters[0].id) == "duplicate"
    assert sorted(await pair.effects()) == ["after", "poison"]
    async with pair.consumer_db.sessions() as s:
        assert (await s.get(DeadLetterRow, letters[0].id)).replayed_at is not None
    if pair.sub.fast_handlers:
        assert pair.committed == ["after", "poison"]  # the failed tries' callbacks never ran


async def test_broker_outage_delays_but_loses_nothing(pair, broker):
    await pair.publish("before")
    assert await pair.wait_for(lambda: _has(pair, "before"))
    broker.stop()
    try:
        started = asyncio.get_running_loop().time()
        for i in range(20):
            await pair.publish(f"during-{i}")  # writes don't need the broker
        assert asyncio.get_running_loop().time() - started < 5
        await asyncio.sleep(1.0)
        async with pair.producer_db.sessions() as s:
            pending = (await s.execute(sa.select(sa.func.count()).select_from(OutboxRow)
                                       .where(OutboxRow.sent_at.is_(None)))).scalar_one()
        assert pending == 20
    finally:
        broker.start()  # empty: the in-memory broker forgot everything
    expected = ["before"] + [f"during-{i}" for i in range(20)]
    assert await pair.wait_for(lambda: _has_all(pair, expected), timeout_s=60)
    await asyncio.sleep(1.0)
    effects = await pair.effects()
    assert sorted(effects) == sorted(expected)  # each exactly once, including the re-sent "before"



async def test_an_idle_consumer_polls_slower_and_a_record_brings_it_back(pair):
    await pair.publish("first")
    assert await pair.wait_for(lambda: _has(pair, "first"))
    assert pair.runner.fetch_wait_ms == BUSY_FETCH_WAIT_MS
    pair.runner.idle_after_s = 0.5  # 5 s in service

    async def idle() -> bool:
        return pair.runner.fetch_wait_ms == IDLE_FETCH_WAIT_MS

    assert await pair.wait_for(idle, timeout_s=10)
    await pair.publish("after a quiet spell")
    assert await pair.wait_for(lambda: _has(pair, "after a quiet spell"))
    assert await pair.wait_for(lambda: _pace_is(pair, BUSY_FETCH_WAIT_MS, 1), timeout_s=5)
    assert await pair.effects() == ["first", "after a quiet spell"]


async def test_records_it_does_not_handle_leave_a_consumer_quiet(pair):
    """A busy topic of events this consumer skips is a quiet spell for it (D76): the broker holds
    its fetches until a megabyte or the idle wait, and the first event it handles makes it busy."""
    await pair.publish("first")
    assert await pair.wait_for(lambda: _has(pair, "first"))
    assert (pair.runner.fetch_wait_ms, pair.runner.fetch_min_bytes) == (BUSY_FETCH_WAIT_MS, 1)
    pair.runner.idle_after_s = 0.5  # 5 s in service
    stop = asyncio.Event()

    async def skipped_stream() -> int:
        sent = 0
        while not stop.is_set():  # another service's events on the same topic, none handled here
            await send_event(pair.bootstrap, pair.topic, "k", CloudEvent(
                source="/youfu/elsewhere", type="youfu.kerneltest.other.v1", subject="k", data={"n": sent}))
            sent += 1
            await asyncio.sleep(0.05)
        return sent

    stream = asyncio.create_task(skipped_stream())
    try:
        async def quiet() -> bool:
            return (pair.runner.fetch_wait_ms, pair.runner.fetch_min_bytes) == (IDLE_FETCH_WAIT_MS,
                                                                                QUIET_FETCH_MIN_BYTES)

        assert await pair.wait_for(quiet, timeout_s=20)
        await asyncio.sleep(1.0)  # the stream goes on: still quiet
        assert await quiet()
        await pair.publish("handled amid the stream")
        assert await pair.wait_for(lambda: _has(pair, "handled amid the stream"))
        assert await pair.wait_for(lambda: _pace_is(pair, BUSY_FETCH_WAIT_MS, 1), timeout_s=5)
    finally:
        stop.set()
    assert await stream > 10
    assert await pair.effects() == ["first", "handled amid the stream"]

async def _has(pair, value: str) -> bool:
    return value in await pair.effects()


async def _pace_is(pair, wait_ms: int, min_bytes: int) -> bool:
    # the runner's thread sets its pace after the handler's transaction has committed: a test that
    # sees the effect may look before the thread has got there
    return (pair.runner.fetch_wait_ms, pair.runner.fetch_min_bytes) == (wait_ms, min_bytes)


async def _has_all(pair, values: list[str]) -> bool:
    return set(values) <= set(await pair.effects())


async def _outbox_empty(pair) -> bool:
    async with pair.producer_db.sessions() as s:
        return (await s.execute(sa.select(sa.func.count()).select_from(OutboxRow)
                                .where(OutboxRow.sent_at.is_(None)))).scalar_one() == 0


async def _dead_letters(pair) -> int:
    async with pair.consumer_db.sessions() as s:
        return (await s.execute(sa.select(sa.func.count()).select_from(DeadLetterRow))).scalar_one()


@both_handler_kinds
async def test_the_relay_vacuums_its_outbox_and_claims_through_the_unsent_index(pair):
    # D74: every sent row leaves a dead version; the relay vacuums and analyzes the outbox after
    # `tidy_after_rows`, so the claim stays a plain scan of the partial index of unsent rows (a
    # bitmap scan over the old (sent_at, seq) index visited every sent row's page until a vacuum)
    if str(pair.producer_db.url).startswith("sqlite"):
        pytest.skip("VACUUM and the planner's choice are PostgreSQL's")
    pair.relay.tidy_after_rows = 20
    async with pair.producer_db.transaction() as s:  # a day's sent rows, as the retention keeps them
        await s.execute(sa.text(
            "INSERT INTO outbox (event_id, topic, key, type, payload, created_at, sent_at, attempts) "
            "SELECT 'old-' || i, 'youfu.old', 'k', 'youfu.old.v1', repeat('x', 400), now(), now(), 0 "
            "FROM generate_series(1, 5000) AS i"))
    for i in range(30):
        await pair.publish(f"v{i}")
    assert await pair.wait_for(lambda: _counted(pair, 30))

    async def vacuumed() -> bool:
        async with pair.producer_db.sessions() as s:
            row = (await s.execute(sa.text(
                "SELECT vacuum_count, analyze_count FROM pg_stat_user_tables WHERE relname = 'outbox'"))).one()
        return row.vacuum_count >= 1 and row.analyze_count >= 1
    assert await pair.wait_for(vacuumed)
    from shared.outbox import _CLAIM

    sql, args = _CLAIM.pg({"batch": 500, "now": utcnow()})
    async with pair.producer_db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        plan = "\n".join(r[0] for r in await driver.fetch("EXPLAIN " + sql, *args))
    # a plain index scan of the unsent rows (the partial index, or sent_at's NULL end when the
    # planner counts a few rows pending): it marks the entries of sent rows dead as it passes
    # them, so the next claim steps over them cheaply. Not a bitmap scan, not the whole table.
    assert "Index Scan using ix_outbox_" in plan and "Bitmap" not in plan and "Seq Scan" not in plan, plan


async def _counted(pair, n: int) -> bool:
    return len([v for v in await pair.effects() if v.startswith("v")]) >= n
