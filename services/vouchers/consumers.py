"""Event handlers of the vouchers service. The kernel commits each handler's writes together
with the inbox row, so a redelivered event changes nothing; the handlers are also idempotent
by themselves (a hold resolves once, a voucher is issued once per elder, kind and month).
Other services' events are read as plain dicts."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import home_beds, recovery, return_visits, spending, stay_claims
from services.vouchers.issuance import eligibility
from services.vouchers.models import ServiceMinimumRow
from shared.app import ServiceContext
from shared.events import CloudEvent
from shared.inbox import Subscription


def make_subscriptions(ctx: ServiceContext) -> list[Subscription]:
    async def on_elder(session: AsyncSession, event: CloudEvent) -> None:
        now = ctx.now()
        elder = await eligibility.record_elder(session, data=event.data, now=now)
        await recovery.refresh_recovery(session, elder=elder, now=now)  # a death or move: 追缴 at once
        await eligibility.issue_current_month(session, elder=elder, now=now)

    async def on_assessment(session: AsyncSession, event: CloudEvent) -> None:
        now = ctx.now()
        elder = await eligibility.record_assessment(session, data=event.data, now=now)
        await eligibility.issue_current_month(session, elder=elder, now=now)

    async def on_order_completed(session: AsyncSession, event: CloudEvent) -> None:
        now = ctx.now()
        await spending.capture_for_completed_order(session, data=event.data, now=now)
        await recovery.recover_after_capture(session, data=event.data, now=now)
        await home_beds.record_visit(session, data=event.data, now=now)  # paid by voucher or not
        await return_visits.record_completed_order(session, data=event.data, now=now)  # the return-visit sample

    async def on_home_bed_opened(session: AsyncSession, event: CloudEvent) -> None:
        await home_beds.record_opened(session, data=event.data, now=ctx.now())

    async def on_home_bed_closed(session: AsyncSession, event: CloudEvent) -> None:
        await home_beds.record_closed(session, data=event.data, now=ctx.now())

    async def on_order_cancelled(session: AsyncSession, event: CloudEvent) -> None:
        await spending.release_for_cancelled_order(session, data=event.data, now=ctx.now())

    async def on_stay(session: AsyncSession, event: CloudEvent) -> None:
        await stay_claims.record_stay_event(session, event_type=event.type, data=event.data, now=ctx.now())

    async def on_catalogue_changed(session: AsyncSession, event: CloudEvent) -> None:
        # the whole current catalogue each time: replace this provider's minimums
        provider_id = uuid.UUID(str(event.data["provider_id"]))
        await session.execute(sa.delete(ServiceMinimumRow).where(ServiceMinimumRow.provider_id == provider_id))
        minimums: dict[str, int] = {}
        for item in event.data.get("items", []):
            if item.get("active", True) and item.get("min_duration_min") is not None:
                code = str(item["service_code"])
                minimums[code] = min(int(item["min_duration_min"]), minimums.get(code, 10**6))
        session.add_all(ServiceMinimumRow(provider_id=provider_id, service_code=code, min_duration_min=minutes)
                        for code, minutes in minimums.items())

    return [
        Subscription(name="vouchers.assessment", topics=["youfu.assessment"], handlers={
            "youfu.elder.registered.v1": on_elder,
            "youfu.elder.updated.v1": on_elder,
            "youfu.assessment.completed.v1": on_assessment,
            "youfu.homebed.opened.v1": on_home_bed_opened,
            "youfu.homebed.closed.v1": on_home_bed_closed,
        }),
        Subscription(name="vouchers.orders", topics=["youfu.orders"], handlers={
            "youfu.order.completed.v1": on_order_completed,
            "youfu.order.cancelled.v1": on_order_cancelled,
            # 老人不在家 (issue 24): nothing was served, so the hold is released exactly as on a cancellation
            "youfu.order.no_show.v1": on_order_cancelled,
            **{f"youfu.stay.{verb}.v1": on_stay for verb in ("admitted", "left", "returned", "transferred", "ended")},
        }),
        Subscription(name="vouchers.providers", topics=["youfu.providers"], handlers={
            "youfu.provider.catalogue_changed.v1": on_catalogue_changed,
        }),
    ]
