"""Ratings kept from the orders service's `order.reviewed` events (read as plain dicts): per
provider and per caregiver. The function runs inside the consumer's transaction (the kernel
commits it with the inbox row, so a redelivered event changes nothing) and is idempotent by
itself too: a review is kept per order, so the same order reviewed twice still counts once.
Reviews are rarer than loads (`workload`) and keep the ORM.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import as_uuid
from services.providers.models import CaregiverRow, ProviderRow, ReviewRow

log = logging.getLogger("youfu.providers.orders")


@dataclass(frozen=True)
class RatingChange:
    provider_id: uuid.UUID
    provider_sums: tuple[int, int]
    caregiver_id: uuid.UUID | None
    caregiver_sums: tuple[int, int] | None


async def record_review(session: AsyncSession, *, data: dict, at: datetime, now: datetime) -> RatingChange | None:
    """Add a review's rating to its provider's and caregiver's sums; a later review of the same
    order replaces the earlier one (its rating is taken back out first)."""
    order_id, provider_id = as_uuid(data.get("order_id")), as_uuid(data.get("provider_id"))
    rating = data.get("rating")
    if order_id is None or not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValueError(f"order.reviewed without an order id or a rating 1–5: {data!r}")
    provider = await session.get(ProviderRow, provider_id, with_for_update=True) if provider_id else None
    if provider is None:
        log.warning("review of order %s names unknown provider %s; ignored", order_id, provider_id)
        return None
    caregiver_id = as_uuid(data.get("caregiver_id"))
    caregiver = await session.get(CaregiverRow, caregiver_id, with_for_update=True) if caregiver_id else None
    if caregiver is not None and caregiver.provider_id != provider.id:
        caregiver = None  # not this provider's: rate the provider only
    earlier = await session.get(ReviewRow, order_id, with_for_update=True)
    if earlier is not None:
        await _take_back(session, earlier, now)
        await session.delete(earlier)
        await session.flush()
    # updated_at is when this process wrote it (not the event's time): other replicas look for
    # rows written since their last look, and a late event must still be seen
    provider.rating_sum, provider.rating_count = provider.rating_sum + rating, provider.rating_count + 1
    provider.updated_at = now
    if caregiver is not None:
        caregiver.rating_sum, caregiver.rating_count = caregiver.rating_sum + rating, caregiver.rating_count + 1
        caregiver.updated_at = now
    session.add(ReviewRow(order_id=order_id, provider_id=provider.id, caregiver_id=caregiver.id if caregiver else None,
                          elder_id=as_uuid(data.get("elder_id")), rating=rating,
                          comment=(data.get("comment") or None) and str(data["comment"])[:1000], reviewed_at=at))
    return RatingChange(provider.id, (provider.rating_sum, provider.rating_count),
                        caregiver.id if caregiver else None,
                        (caregiver.rating_sum, caregiver.rating_count) if caregiver else None)


async def _take_back(session: AsyncSession, review: ReviewRow, now: datetime) -> None:
    provider = await session.get(ProviderRow, review.provider_id, with_for_update=True)
    if provider is not None:
        provider.rating_sum, provider.rating_count, provider.updated_at = (
            provider.rating_sum - review.rating, provider.rating_count - 1, now)
    if review.caregiver_id:
        caregiver = await session.get(CaregiverRow, review.caregiver_id, with_for_update=True)
        if caregiver is not None:
            caregiver.rating_sum, caregiver.rating_count, caregiver.updated_at = (
                caregiver.rating_sum - review.rating, caregiver.rating_count - 1, now)
