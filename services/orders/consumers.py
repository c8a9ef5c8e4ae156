"""Event handlers of the orders service. The kernel commits each handler's writes together with
the inbox row, so a redelivered event changes nothing; the handlers are idempotent by themselves
too (an elder's facts are overwritten with the same values, a settled order stays settled).
Other services' events are read as plain dicts."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.delivery import settle_from_redemption
from services.orders.models import ElderRow
from services.orders.service import apply_elder_facts, parse_uuid, runtime
from shared.consumer import Subscription
from shared.events import CloudEvent


async def record_elder(session: AsyncSession, data: dict, now) -> None:
    elder_id = parse_uuid(data.get("elder_id"))
    if elder_id is None:
        return
    row = await session.get(ElderRow, elder_id)
    if row is None:
        row = ElderRow(elder_id=elder_id, special_hardship=False, status="active", source="event", updated_at=now)
        session.add(row)
    apply_elder_facts(row, data)
    row.source, row.updated_at = "event", now


def make_subscriptions(ctx) -> list[Subscription]:
    async def on_elder(session: AsyncSession, event: CloudEvent) -> None:
        await record_elder(session, event.data, runtime(ctx).now())

    async def on_redeemed(session: AsyncSession, event: CloudEvent) -> None:
        await settle_from_redemption(runtime(ctx), session, event.data)

    return [
        Subscription(name="orders.assessment", topics=["youfu.assessment"], handlers={
            "youfu.elder.registered.v1": on_elder,
            "youfu.elder.updated.v1": on_elder,
        }),
        Subscription(name="orders.vouchers", topics=["youfu.vouchers"], handlers={
            "youfu.voucher.redeemed.v1": on_redeemed,
        }),
    ]
