"""Event handlers of the providers service: ratings (`ratings`) and daily load (`workload`) from the
orders topic. The kernel commits each handler's writes with the inbox row (a redelivered event
changes nothing); the search index is told only after that commit, so it never runs ahead of the
database.

The load handlers run once per order, the busiest thing this consumer does: they take a `FastTx`
(`fast_handlers`, see shared/inbox.py); a review, rarer, keeps the ORM session."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers import ratings, workload
from services.providers.runtime import runtime_of
from shared.app import ServiceContext
from shared.city import local_day
from shared.events import CloudEvent
from shared.fast_sql import FastTx
from shared.inbox import Subscription


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the caller's transaction has committed (never on rollback): in-memory
    state such as the search index must not run ahead of the database."""
    sa.event.listen(session.sync_session, "after_commit", lambda _s: callback(), once=True)


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    """The search is looked up when an event arrives: the subscriptions are also listed without a
    running service (tests/faults/harness.py)."""

    def when(event: CloudEvent) -> datetime:
        return event.time if event.time.tzinfo else ctx.now()

    async def on_reviewed(session: AsyncSession, event: CloudEvent) -> None:
        change = await ratings.record_review(session, data=event.data, at=when(event), now=ctx.now())
        if change is not None:
            search = runtime_of(ctx).search
            after_commit(session, lambda: search.apply_rating(change.provider_id, change.provider_sums,
                                                              change.caregiver_id, change.caregiver_sums))

    def load_handler(record):
        async def handle(tx: FastTx, event: CloudEvent) -> None:
            now = ctx.now()
            loads = await record(tx, data=event.data, at=when(event), now=now, today=local_day(now))
            if loads:
                search = runtime_of(ctx).search
                tx.after_commit.append(lambda: [search.apply_load(cid, load) for cid, load in loads.items()])
        return handle

    return [Subscription(name="providers.orders", topics=["youfu.orders"], handlers={
        "youfu.order.reviewed.v1": on_reviewed,
    }, fast_handlers={
        "youfu.order.accepted.v1": load_handler(workload.record_accepted),
        "youfu.order.completed.v1": load_handler(workload.record_completed),
        "youfu.order.cancelled.v1": load_handler(workload.record_cancelled),
        # given back before check-in: the caregiver's load for it ends (an acceptance by someone
        # else, later on the same partition, moves the load to them)
        "youfu.order.returned.v1": load_handler(workload.record_cancelled),
    })]
