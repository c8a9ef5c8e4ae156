"""Event handlers of the providers service: ratings and daily load from the orders topic. The
kernel commits each handler's writes with the inbox row (a redelivered event changes nothing);
the search index is told only after that commit, so it never runs ahead of the database.

The load handlers run once per order, the busiest thing this consumer does: they take a `FastTx`
(`fast_handlers`, see shared/consumer.py); a review, rarer, keeps the ORM session."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.providers import domain, order_events
from services.providers.service import after_commit, current_time
from shared.consumer import Subscription
from shared.events import CloudEvent
from shared.fast_sql import FastTx


def make_subscriptions(ctx) -> list[Subscription]:
    search = ctx.extras["search"]

    def when(event: CloudEvent) -> datetime:
        return event.time if event.time.tzinfo else current_time(ctx)

    async def on_reviewed(session: AsyncSession, event: CloudEvent) -> None:
        change = await order_events.record_review(session, data=event.data, at=when(event), now=current_time(ctx))
        if change is not None:
            after_commit(session, lambda: search.apply_rating(change.provider_id, change.provider_sums,
                                                              change.caregiver_id, change.caregiver_sums))

    def load_handler(record):
        async def handle(tx: FastTx, event: CloudEvent) -> None:
            now = current_time(ctx)
            loads = await record(tx, data=event.data, at=when(event), now=now, today=domain.local_day(now))
            if loads:
                tx.after_commit.append(lambda: [search.apply_load(cid, load) for cid, load in loads.items()])
        return handle

    return [Subscription(name="providers.orders", topics=["youfu.orders"], handlers={
        "youfu.order.reviewed.v1": on_reviewed,
    }, fast_handlers={
        "youfu.order.accepted.v1": load_handler(order_events.record_accepted),
        "youfu.order.completed.v1": load_handler(order_events.record_completed),
        "youfu.order.cancelled.v1": load_handler(order_events.record_cancelled),
    })]
