"""Event handlers of the orders service. The kernel commits each handler's writes together with
the inbox row, so a redelivered event changes nothing; the handlers are idempotent by themselves
too (an elder's facts are overwritten with the same values, a settled order stays settled, a
departed elder's rules and orders are already ended and cancelled, a care plan's items already
have their rules). Other services' events are read as plain dicts: care plan events included,
whose types assessment registers."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.care_plans import create_plan_rules, stop_ended_plan, stop_replaced_plan
from services.orders.delivery import settle_from_redemption
from services.orders.departure import end_services, end_stay_at_death
from services.orders.elders import record_elder
from services.orders.runtime import runtime_of
from shared.app import ServiceContext
from shared.events import CloudEvent
from shared.inbox import Subscription


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    def void_after_commit(session: AsyncSession, holds: list) -> None:
        if holds:  # voided only once the cancellations are committed, as the cancel route does
            rt = runtime_of(ctx)
            sa.event.listen(session.sync_session, "after_commit", lambda _s: rt.void_holds_soon(holds), once=True)

    def release_after_commit(session: AsyncSession, beds: list) -> None:
        if beds:  # the bed is released once the stay's end is committed
            rt = runtime_of(ctx)
            sa.event.listen(session.sync_session, "after_commit", lambda _s: rt.release_beds_soon(beds), once=True)

    async def on_elder(session: AsyncSession, event: CloudEvent) -> None:
        now = ctx.now()
        await record_elder(session, data=event.data, now=now)
        void_after_commit(session, await end_services(session, data=event.data, now=now))  # deceased or moved away
        release_after_commit(session, await end_stay_at_death(session, data=event.data, now=now))

    async def on_plan_activated(session: AsyncSession, event: CloudEvent) -> None:
        await create_plan_rules(session, data=event.data, now=ctx.now())

    async def on_plan_replaced(session: AsyncSession, event: CloudEvent) -> None:
        void_after_commit(session, await stop_replaced_plan(session, data=event.data, now=ctx.now()))

    async def on_plan_ended(session: AsyncSession, event: CloudEvent) -> None:
        void_after_commit(session, await stop_ended_plan(session, data=event.data, now=ctx.now()))

    async def on_redeemed(session: AsyncSession, event: CloudEvent) -> None:
        await settle_from_redemption(session, data=event.data, now=ctx.now())

    return [
        Subscription(name="orders.assessment", topics=["youfu.assessment"], handlers={
            "youfu.elder.registered.v1": on_elder,
            "youfu.elder.updated.v1": on_elder,
            "youfu.careplan.activated.v1": on_plan_activated,
            "youfu.careplan.replaced.v1": on_plan_replaced,
            "youfu.careplan.ended.v1": on_plan_ended,
        }),
        Subscription(name="orders.vouchers", topics=["youfu.vouchers"], handlers={
            "youfu.voucher.redeemed.v1": on_redeemed,
        }),
    ]
