"""Consumer runner: kafka-python on a worker thread, async handlers on the service's loop.

For each record (a CloudEvent in either content mode of the Kafka binding, `event_from_record` in
shared/events.py): the handler's effect and the inbox row (consumer, event id) are written in
one transaction; only then is the offset committed. A redelivered event finds its inbox row
and changes nothing. A handler that keeps failing puts the event in `dead_letters` after N
tries (never dropped); an operator lists and replays it.

A handler takes an ORM session (`handlers`) or, on the few paths measured hot, a `FastTx`
(`fast_handlers`, shared/fast_sql.py): there the inbox row is claimed first, by one
INSERT … ON CONFLICT DO NOTHING, instead of an ORM read before the handler and a write after it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import failpoints
from shared.db import Database, utcnow
from shared.events import CloudEvent, event_from_record
from shared.fast_sql import FastTx, Query, fast_transaction
from shared.kernel_models import DeadLetterRow, InboxRow
from shared.observability import request_id_var

log = logging.getLogger("youfu.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
FastHandler = Callable[[FastTx, CloudEvent], Awaitable[None]]

# How long the broker may hold a fetch that finds nothing. The bundled broker (Tansu) holds it the
# whole time even when records arrive meanwhile, so a busy consumer asks for 25 ms: each hop of a
# saga paid up to ~250 ms with kafka-python's default 500 (bench/settle_latency.py). Idle, the same
# 40 fetches a second cost ≈0.13 of a core per service and more in the broker (an idle platform
# took 0.56 of a core, 0.14 with this: bench/idle_platform.py): after IDLE_AFTER_S quiet a consumer
# asks for 250 ms instead, and the first record it handles puts it back at 25 ms. What that costs:
# an event after a quiet spell waits up to 250 ms longer.
#
# "Quiet" means no record this consumer handles, not no record at all (D76): the consumers of a busy
# topic that need one event type in ten (assessment reads every order event for order.completed)
# fetched as often as records arrived, each fetch a few records to decode and skip. Quiet, the
# broker also holds a fetch until QUIET_FETCH_MIN_BYTES have arrived (or the 250 ms are up): four
# fetches a second however busy the topic, and the same wait as above for the first handled one.
BUSY_FETCH_WAIT_MS = 25
IDLE_FETCH_WAIT_MS = 250
IDLE_AFTER_S = 5.0
QUIET_FETCH_MIN_BYTES = 1 << 20
COMMIT_EVERY_S = 0.5


def _claim_inbox(insert) -> sa.Insert:
    """The inbox row, or no row back if this consumer has the event. A concurrent delivery's INSERT
    waits for the first one's transaction: it claims the row if that rolls back, else finds it taken."""
    inbox = InboxRow.__table__
    return (insert(inbox).values(consumer=sa.bindparam("consumer"), event_id=sa.bindparam("event_id"),
                                 received_at=sa.bindparam("received_at"))
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id))


CLAIM_INBOX = Query(_claim_inbox(postgresql.insert), sqlite=_claim_inbox(sqlite.insert))
MARK_REPLAYED = Query(sa.update(DeadLetterRow).where(DeadLetterRow.id == sa.bindparam("letter_id"))
                      .values(replayed_at=sa.bindparam("at")))


@dataclass
class Subscription:
    """`name` is the inbox scope (and the consumer group when a runner has only this one);
    handlers are keyed by event type, each type in `handlers` (ORM) or `fast_handlers`, not both."""

    name: str
    topics: list[str]
    handlers: dict[str, Handler]
    max_attempts: int = 5
    retry_backoff_s: float = 0.05
    fast_handlers: dict[str, FastHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if both := self.handlers.keys() & self.fast_handlers.keys():
            raise ValueError(f"{self.name}: {sorted(both)} in both handlers and fast_handlers")

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers or event_type in self.fast_handlers


@dataclass
class HandleOutcome:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    ignored: int = 0
    seen: list[str] = field(default_factory=list)


async def handle_event(db: Database, sub: Subscription, event: CloudEvent, *, topic: str = "",
                       outcome: HandleOutcome | None = None) -> str:
    """Apply one event exactly once. Returns 'applied', 'duplicate', 'ignored' or 'dead'."""
    if not sub.handles(event.type):
        return _count(outcome, "ignored")
    token = request_id_var.set(event.requestid)
    try:
        last_error = ""
        for attempt in range(1, sub.max_attempts + 1):
            try:
                return _count(outcome, await _apply(db, sub, event))
            except IntegrityError as exc:
                # a concurrent delivery of the same event won the inbox row (ORM handlers), or the
                # handler's own write collided with another one's: retried unless it is a duplicate
                async with db.sessions() as s:
                    if await s.get(InboxRow, (sub.name, event.id)) is not None:
                        return _count(outcome, "duplicate")
                last_error = "".join(traceback.format_exception_only(exc))
            except Exception as exc:
                last_error = "".join(traceback.format_exception(exc))[-4000:]
                log.warning("handler %s failed on %s (attempt %d/%d): %s", sub.name, event.type,
                            attempt, sub.max_attempts, exc, extra={"event_id": event.id})
            await asyncio.sleep(sub.retry_backoff_s * attempt)
        await _dead_letter(db, sub, event, topic, last_error)
        return _count(outcome, "dead")
    finally:
        request_id_var.reset(token)


async def _apply(db: Database, sub: Subscription, event: CloudEvent, *, replayed_letter=None) -> str:
    """One try in one transaction: the handler's effect with the inbox row ('applied'), or nothing
    when the inbox has the event ('duplicate'). A replay marks its dead letter in it too."""
    fast = sub.fast_handlers.get(event.type)
    if fast is not None:
        async with fast_transaction(db) as tx:
            claimed = await tx.row(CLAIM_INBOX,
                                   consumer=sub.name, event_id=event.id, received_at=utcnow()) is not None
            if claimed:
                await fast(tx, event)
            if replayed_letter is not None:
                await tx.run(MARK_REPLAYED, letter_id=replayed_letter, at=utcnow())
        return "applied" if claimed else "duplicate"
    async with db.transaction() as s:
        claimed = await s.get(InboxRow, (sub.name, event.id)) is None
        if claimed:
            await sub.handlers[event.type](s, event)
            s.add(InboxRow(consumer=sub.name, event_id=event.id, received_at=utcnow()))
        if replayed_letter is not None:
            (await s.get(DeadLetterRow, replayed_letter)).replayed_at = utcnow()
    return "applied" if claimed else "duplicate"


def _count(outcome: HandleOutcome | None, what: str) -> str:
    if outcome is not None:
        attr = {"applied": "applied", "duplicate": "duplicates", "dead": "dead_lettered", "ignored": "ignored"}[what]
        setattr(outcome, attr, getattr(outcome, attr) + 1)
    return what


async def _dead_letter(db: Database, sub: Subscription, event: CloudEvent, topic: str, error: str) -> None:
    async with db.transaction() as s:
        exists = (await s.execute(sa.select(DeadLetterRow.id).where(
            DeadLetterRow.consumer == sub.name, DeadLetterRow.event_id == event.id))).first()
        if exists is None:
            s.add(DeadLetterRow(consumer=sub.name, event_id=event.id, topic=topic, type=event.type,
                                payload=event.to_json(), error=error, attempts=sub.max_attempts,
                                created_at=utcnow(), replayed_at=None))
    log.error("event %s moved to dead letters of %s", event.id, sub.name, extra={"event_id": event.id})


async def replay_dead_letter(db: Database, subs: list[Subscription], letter_id) -> str:
    """Run the handler once more for a dead letter; success marks it replayed."""
    async with db.sessions() as s:
        letter = await s.get(DeadLetterRow, letter_id)
    if letter is None:
        from shared.errors import NotFound

        raise NotFound("没有这条死信记录")
    sub = next(x for x in subs if x.name == letter.consumer)
    event = CloudEvent.from_json(letter.payload)
    if not sub.handles(event.type):
        raise KeyError(event.type)  # no handler for it any more: refused before anything is written
    return await _apply(db, sub, event, replayed_letter=letter_id)


class ConsumerRunner:
    """One KafkaConsumer for a service's subscriptions, on its own thread (kafka-python consumers
    are not thread-safe); records are handed to the service's event loop one at a time, and the
    offset is committed only after the handlers' transactions committed.

    One consumer per service rather than per subscription: against a broker that holds every
    fetch for `fetch_max_wait_ms`, each idle consumer costs a steady share of a core just polling.
    The consumer group is the service (`group`); the inbox scope stays each subscription's name."""

    def __init__(self, db: Database, bootstrap: str, subs: Subscription | list[Subscription], *, client_id: str,
                 group: str | None = None, on_outcome=None, topic_prefix: str = "",
                 idle_after_s: float = IDLE_AFTER_S) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.subs = [subs] if isinstance(subs, Subscription) else list(subs)
        self.group = group or self.subs[0].name
        self.by_topic: dict[str, list[Subscription]] = {}
        for sub in self.subs:
            for topic in sub.topics:
                self.by_topic.setdefault(topic, []).append(sub)
        self.client_id = client_id
        self.on_outcome = on_outcome
        self.topic_prefix = topic_prefix
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.assigned = threading.Event()
        self.idle_after_s = idle_after_s
        self.fetch_wait_ms = BUSY_FETCH_WAIT_MS  # what the consumer asks the broker for now
        self.fetch_min_bytes = 1

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.group}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread:
            await asyncio.to_thread(self._thread.join, 10)

    def _consumer(self):
        from kafka import KafkaConsumer

        return KafkaConsumer(
            *(self.topic_prefix + t for t in self.by_topic), bootstrap_servers=self.bootstrap,
            group_id=self.topic_prefix + self.group,  # namespaced with the topics: no group shared across namespaces
            client_id=self.client_id, enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_records=200,
            fetch_max_wait_ms=BUSY_FETCH_WAIT_MS,  # not kafka-python's 500: see BUSY_FETCH_WAIT_MS
            request_timeout_ms=7000, reconnect_backoff_max_ms=1000,
        )

    def _run(self) -> None:
        consumer = None
        last_handled = last_commit = time.monotonic()
        handled: dict = {}  # partition -> next offset, handled but not yet committed
        while not self._stop.is_set():
            try:
                if consumer is None:
                    handled.clear()  # a new consumer starts from the committed offsets anyway
                    consumer = self._consumer()
                    self.fetch_wait_ms, self.fetch_min_bytes = BUSY_FETCH_WAIT_MS, 1
                batch = consumer.poll(timeout_ms=300)
                if consumer.assignment():
                    self.assigned.set()
                now = time.monotonic()
                for tp, records in batch.items():
                    done = None
                    for record in records:
                        if self._stop.is_set():
                            break
                        names = self._handle_record(record)
                        for name in names:
                            failpoints.hit("consumer.after_effect", name, record.value)
                        if names:
                            last_handled = now
                        done = record.offset
                    if done is not None:
                        handled[tp] = done + 1
                # busy while it handles something; quiet after IDLE_AFTER_S of nothing to handle
                self._pace(consumer, busy=now - last_handled <= self.idle_after_s)
                # Offsets are committed when a poll comes back empty, else every COMMIT_EVERY_S:
                # each commit is a synchronous broker round trip, and under a trickle of events
                # committing after every poll cost a commit per event. A crash before the commit
                # only redelivers effects the inbox already holds.
                if handled and (not batch or now - last_commit >= COMMIT_EVERY_S or self._stop.is_set()):
                    _commit(consumer, handled)
                    last_commit = now
            except Exception as exc:
                log.warning("consumer %s: %s; reconnecting", self.group, exc)
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception:
                        pass
                consumer = None
                self._stop.wait(1.0)
        if consumer is not None:
            try:
                if handled:
                    _commit(consumer, handled)
                consumer.close(autocommit=False)
            except Exception:
                pass

    def _pace(self, consumer, *, busy: bool) -> None:
        """Busy: the broker holds an empty fetch BUSY_FETCH_WAIT_MS. Quiet: IDLE_FETCH_WAIT_MS, or
        until QUIET_FETCH_MIN_BYTES have arrived. kafka-python reads both settings from its
        fetcher's config at every fetch; it has no public setter, so a version without them keeps
        the busy pace (correct, only dearer when quiet)."""
        wait_ms, min_bytes = (BUSY_FETCH_WAIT_MS, 1) if busy else (IDLE_FETCH_WAIT_MS, QUIET_FETCH_MIN_BYTES)
        if (wait_ms, min_bytes) == (self.fetch_wait_ms, self.fetch_min_bytes):
            return
        config = getattr(getattr(consumer, "_fetcher", None), "config", None)
        if isinstance(config, dict) and "fetch_max_wait_ms" in config and "fetch_min_bytes" in config:
            config["fetch_max_wait_ms"], config["fetch_min_bytes"] = wait_ms, min_bytes
            self.fetch_wait_ms, self.fetch_min_bytes = wait_ms, min_bytes

    def _handle_record(self, record) -> list[str]:
        """Hand one record to every subscription of its topic; returns their names."""
        try:
            event = event_from_record(record.value, record.headers)  # either content mode of the binding
        except Exception as exc:
            # not a CloudEvent: nothing could ever handle it; keep it visible, don't block the partition
            log.error("undecodable record on %s@%s: %s", record.topic, record.offset, exc)
            return []
        topic = record.topic.removeprefix(self.topic_prefix)
        names = []
        for sub in self.by_topic.get(topic, ()):
            if not sub.handles(event.type):  # no hop to the event loop for events nobody handles
                if self.on_outcome:
                    self.on_outcome(event.type, "ignored")
                continue
            fut = asyncio.run_coroutine_threadsafe(handle_event(self.db, sub, event, topic=topic), self._loop)
            while True:
                try:
                    result = fut.result(timeout=1.0)
                    break
                except TimeoutError:
                    if self._stop.is_set() and self._loop.is_closed():
                        raise
            names.append(sub.name)
            if self.on_outcome:
                self.on_outcome(event.type, result)
        return names


def _commit(consumer, handled: dict) -> None:
    """Commit the next offset of every partition handled since the last commit, and forget them.

    A commit refused because the group is rebalancing (another replica joined or left) is given
    up, not retried and not a reason to close the consumer: closing sends LeaveGroup, and a member
    leaving while a rebalance is pending wedges the bundled broker's group for good
    (tests/faults/repro_tansu_group_wedge.py). The next poll takes part in the rebalance; the
    records are redelivered to whichever replica owns their partition, and the inbox drops the
    repeats."""
    from kafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError
    from kafka.structs import OffsetAndMetadata

    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in handled.items()})
    except (CommitFailedError, RebalanceInProgressError, IllegalGenerationError, UnknownMemberIdError) as exc:
        log.info("offsets not committed during a rebalance (%s); redelivered records are dropped by the inbox",
                 type(exc).__name__)
    handled.clear()
