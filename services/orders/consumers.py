"""Event handlers of the orders service. The kernel commits each handler's writes together with
the inbox row, so a redelivered event changes nothing; the handlers are idempotent by themselves
too (an elder's facts are overwritten with the same values, a settled order stays settled, a
departed elder's rules and orders are already ended and cancelled).
Other services' events are read as plain dicts."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.delivery import settle_from_redemption
from services.orders.departure import end_services, end_stay_at_death
from services.orders.elders import record_elder
from services.orders.runtime import runtime_of
from shared.app import ServiceContext
from shared.consumer import Subscription
from shared.events import CloudEvent


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    async def on_elder(session: AsyncSession, event: CloudEvent) -> None:
        now = ctx.now()
        await record_elder(session, data=event.data, now=now)
        holds = await end_services(session, data=event.data, now=now)  # deceased or moved away
        beds = await end_stay_at_death(session, data=event.data, now=now)
        rt = runtime_of(ctx)
        if holds:  # voided only once the cancellations are committed, as the cancel route does
            sa.event.listen(session.sync_session, "after_commit", lambda _s: rt.void_holds_soon(holds), once=True)
        if beds:  # the bed is released once the stay's end is committed
            sa.event.listen(session.sync_session, "after_commit", lambda _s: rt.release_beds_soon(beds), once=True)

    async def on_redeemed(session: AsyncSession, event: CloudEvent) -> None:
        await settle_from_redemption(session, data=event.data, now=ctx.now())

    return [
        Subscription(name="orders.assessment", topics=["youfu.assessment"], handlers={
            "youfu.elder.registered.v1": on_elder,
            "youfu.elder.updated.v1": on_elder,
        }),
        Subscription(name="orders.vouchers", topics=["youfu.vouchers"], handlers={
            "youfu.voucher.redeemed.v1": on_redeemed,
        }),
    ]
