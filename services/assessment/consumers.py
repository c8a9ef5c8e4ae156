"""Event handlers of the assessment service. It consumes one event: orders'
`youfu.order.completed.v1`, from which it learns that an elder's 适老化改造 (home adaptation) order
is done, a prerequisite of opening a home bed. The kernel commits the handler's write with the
inbox row; the handler is idempotent by itself too (one row per order). Other services' events
are read as plain dicts."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment.home_beds import record_adaptation
from shared.app import ServiceContext
from shared.events import CloudEvent
from shared.inbox import Subscription


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    async def on_order_completed(session: AsyncSession, event: CloudEvent) -> None:
        await record_adaptation(session, data=event.data, now=ctx.now())

    return [
        Subscription(name="assessment.orders", topics=["youfu.orders"], handlers={
            "youfu.order.completed.v1": on_order_completed,
        }),
    ]
