"""Event handlers of the orders service. The kernel commits each handler's writes together with
the inbox row, so a redelivered event changes nothing; the handlers are idempotent by themselves
too (an elder's facts are overwritten with the same values, a settled order stays settled).
Other services' events are read as plain dicts."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.delivery import settle_from_redemption
from services.orders.elders import record_elder
from shared.app import ServiceContext
from shared.consumer import Subscription
from shared.events import CloudEvent


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    async def on_elder(session: AsyncSession, event: CloudEvent) -> None:
        await record_elder(session, data=event.data, now=ctx.now())

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
