"""Event handlers of the providers service: ratings and daily load from the orders topic. The
kernel commits each handler's writes with the inbox row (a redelivered event changes nothing);
the search index is told only after that commit, so it never runs ahead of the database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.providers import domain, order_events
from services.providers.service import after_commit, current_time
from shared.consumer import Subscription
from shared.events import CloudEvent


def make_subscriptions(ctx) -> list[Subscription]:
    search = ctx.extras["search"]

    def when(event: CloudEvent) -> datetime:
        return event.time if event.time.tzinfo else current_time(ctx)

    def tell_index(session: AsyncSession, loads: dict) -> None:
        if loads:
            after_commit(session, lambda: [search.apply_load(cid, load) for cid, load in loads.items()])

    async def on_reviewed(session: AsyncSession, event: CloudEvent) -> None:
        change = await order_events.record_review(session, data=event.data, at=when(event), now=current_time(ctx))
        if change is not None:
            after_commit(session, lambda: search.apply_rating(change.provider_id, change.provider_sums,
                                                              change.caregiver_id, change.caregiver_sums))

    def load_handler(record):
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            now = current_time(ctx)
            tell_index(session, await record(session, data=event.data, at=when(event), now=now,
                                             today=domain.local_day(now)))
        return handle

    return [Subscription(name="providers.orders", topics=["youfu.orders"], handlers={
        "youfu.order.reviewed.v1": on_reviewed,
        "youfu.order.accepted.v1": load_handler(order_events.record_accepted),
        "youfu.order.completed.v1": load_handler(order_events.record_completed),
        "youfu.order.cancelled.v1": load_handler(order_events.record_cancelled),
    })]
