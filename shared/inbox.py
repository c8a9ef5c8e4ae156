"""The inbox: each event applied once per subscription, with its effect in one transaction.

A subscription (`Subscription`) names its inbox scope and its handlers by event type. For each
event, the handler's effect and the inbox row (scope, event id) are written in one transaction: a
redelivered event finds its inbox row and changes nothing. A handler that keeps failing puts the
event in `dead_letters` after N tries (never dropped); an operator lists and replays it
(`replay_dead_letter`). The consumer runner (shared/consumer.py) feeds these from the broker.

A handler takes an ORM session (`handlers`) or, on the few paths measured hot, a `FastTx`
(`fast_handlers`, shared/fast_sql.py): there the inbox row is claimed first, by one
INSERT … ON CONFLICT DO NOTHING, instead of an ORM read before the handler and a write after it.

Consecutive events of one partition that a subscription handles with fast handlers share one
transaction (`handle_events`, D78): their inbox rows are claimed by one statement, the handlers run
in the events' order, and one COMMIT ends them. A run that fails is rolled back whole and its
events are handled again one by one, each with its own tries and dead letter, so a bad event never
takes the others' effects with it. An event the partition holds twice is applied once.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, is_sqlite, utcnow
from shared.events import CloudEvent
from shared.fast_sql import FastTx, Query, fast_transaction
from shared.kernel_models import DeadLetterRow, InboxRow
from shared.observability import request_id_var

log = logging.getLogger("youfu.inbox")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
FastHandler = Callable[[FastTx, CloudEvent], Awaitable[None]]


def _claim_inbox(insert) -> sa.Insert:
    """The inbox row, or no row back if this consumer has the event. A concurrent delivery's INSERT
    waits for the first one's transaction: it claims the row if that rolls back, else finds it taken."""
    inbox = InboxRow.__table__
    return (insert(inbox).values(consumer=sa.bindparam("consumer"), event_id=sa.bindparam("event_id"),
                                 received_at=sa.bindparam("received_at"))
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id))


CLAIM_INBOX = Query(_claim_inbox(postgresql.insert), sqlite=_claim_inbox(sqlite.insert))


def _claim_inboxes() -> sa.Insert:
    """`_claim_inbox` for many events in one statement (PostgreSQL): the ids it claimed come back."""
    inbox = InboxRow.__table__
    ids = sa.func.unnest(sa.bindparam("event_ids", type_=postgresql.ARRAY(inbox.c.event_id.type))
                         ).table_valued("event_id").render_derived()
    rows = sa.select(sa.bindparam("consumer", type_=inbox.c.consumer.type), ids.c.event_id,
                     sa.bindparam("received_at", type_=inbox.c.received_at.type))
    return (postgresql.insert(inbox).from_select(["consumer", "event_id", "received_at"], rows)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id))


CLAIM_INBOXES = Query(_claim_inboxes())
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


async def handle_events(db: Database, sub: Subscription, events: list[CloudEvent], *, topic: str = "",
                        outcome: HandleOutcome | None = None) -> list[str]:
    """`handle_event` for a partition's events, in their order (see the module doc: runs of
    fast-handled events share a transaction). One outcome per event."""
    results: list[str] = []
    start = 0
    while start < len(events):
        end = start
        while end < len(events) and events[end].type in sub.fast_handlers:
            end += 1
        together = await _apply_together(db, sub, events[start:end]) if end - start > 1 else None
        if together is not None:
            results += [_count(outcome, what) for what in together]
        else:  # one by one: an event another kind of handler takes, a run of one, or a run that failed
            end = max(end, start + 1)
            for event in events[start:end]:
                results.append(await handle_event(db, sub, event, topic=topic, outcome=outcome))
        start = end
    return results


async def _apply_together(db: Database, sub: Subscription, events: list[CloudEvent]) -> list[str] | None:
    """One transaction for events that all have fast handlers: their outcomes, or None if it
    failed (rolled back; the caller handles them one by one)."""
    try:
        async with fast_transaction(db) as tx:
            if is_sqlite(db.url):  # the embedded default: the single claim, event by event
                claimed = set()
                for event in events:
                    if await tx.row(CLAIM_INBOX, consumer=sub.name, event_id=event.id, received_at=utcnow()):
                        claimed.add(event.id)
            else:
                claimed = {row["event_id"] for row in await tx.rows(
                    CLAIM_INBOXES, consumer=sub.name, event_ids=list({e.id: None for e in events}),
                    received_at=utcnow())}
            outcomes = []
            for event in events:
                if event.id not in claimed:
                    outcomes.append("duplicate")
                    continue
                claimed.discard(event.id)  # the partition may hold one event twice: applied once
                token = request_id_var.set(event.requestid)
                try:
                    await sub.fast_handlers[event.type](tx, event)
                finally:
                    request_id_var.reset(token)
                # sent before the next handler's writes: one batch of deferred writes must not
                # touch a row twice (shared/fast_sql.py), and two events may well change one row
                await tx.flush()
                outcomes.append("applied")
        return outcomes
    except Exception as exc:  # noqa: BLE001 - each event is tried again alone, and dead-lettered there
        log.info("consumer %s: %d events in one transaction failed (%s); handling them one by one",
                 sub.name, len(events), type(exc).__name__)
        return None


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
