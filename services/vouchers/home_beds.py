"""家庭养老床位 as the audit needs them (issue 21): the beds the assessment service opens and
closes, the completed orders of each bed's provider for its elder, and the month's findings of
the rule 家庭养老床位本月无上门服务 (`rules/home_beds.py`), which `audit.find_anomalies` stores
with the other rules' findings.

A completed order is kept as a visit only when its elder has a bed with that provider, so this
service does not copy every order. The bed's opening comes on the assessment topic and the
order on the orders topic: an order completed on the day a bed opened, and read before the
opening, is not kept; the finding it causes is a question a clerk dismisses.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.events import parse_instant, parse_uuid
from services.vouchers.ledger.store import insert_ignoring_duplicates
from services.vouchers.models import AnomalyFindingRow, ElderRow, HomeBedRow, HomeBedVisitRow
from services.vouchers.rules.audit import HOME_BED_NO_VISIT
from services.vouchers.rules.calendar import local_date
from services.vouchers.rules.home_beds import HomeBed, Visit, beds_without_visit, month_days

log = logging.getLogger("youfu.vouchers.home_beds")


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


async def _bed_for_update(session: AsyncSession, bed_id: uuid.UUID, elder_id: uuid.UUID, now: datetime) -> HomeBedRow:
    bed = (await session.execute(sa.select(HomeBedRow).where(HomeBedRow.bed_id == bed_id)
                                 .with_for_update())).scalar_one_or_none()
    if bed is None:
        bed = HomeBedRow(bed_id=bed_id, elder_id=elder_id, remote_monitoring=False, updated_at=now)
        session.add(bed)
    return bed


async def record_opened(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.homebed.opened.v1`. Again (a redelivery) writes the same; a close already
    recorded stays."""
    bed = await _bed_for_update(session, uuid.UUID(str(data["bed_id"])), uuid.UUID(str(data["elder_id"])), now)
    package = data.get("package") or {}
    bed.provider_id = parse_uuid(data.get("provider_id"))
    bed.plan_id = parse_uuid(data.get("plan_id"))
    bed.opened_on = _day(data.get("opened_on")) or local_date(now)
    visits = package.get("visits_per_week")
    bed.visits_per_week = int(visits) if visits is not None else None
    bed.remote_monitoring = bool(package.get("remote_monitoring", False))
    bed.updated_at = now
    await session.flush()


async def record_closed(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.homebed.closed.v1`."""
    bed = await _bed_for_update(session, uuid.UUID(str(data["bed_id"])), uuid.UUID(str(data["elder_id"])), now)
    bed.closed_on = _day(data.get("closed_on")) or local_date(now)
    bed.close_reason = str(data.get("reason") or "")[:200] or None
    bed.updated_at = now
    await session.flush()


async def record_visit(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.order.completed.v1`: a visit when the elder has a bed with the order's provider."""
    order_id, elder_id = parse_uuid(data.get("order_id")), parse_uuid(data.get("elder_id"))
    provider_id = parse_uuid(data.get("provider_id"))
    if order_id is None or elder_id is None or provider_id is None:
        return
    has_bed = (await session.execute(sa.select(HomeBedRow.bed_id).where(
        HomeBedRow.elder_id == elder_id, HomeBedRow.provider_id == provider_id).limit(1))).first()
    if has_bed is None:
        return
    completed_at = parse_instant(data.get("completed_at")) or now
    await insert_ignoring_duplicates(session, HomeBedVisitRow.__table__, [{
        "order_id": order_id, "elder_id": elder_id, "provider_id": provider_id, "completed_at": completed_at,
        "completed_on": local_date(completed_at)}])


async def refresh_findings(session: AsyncSession, *, month: str, now: datetime) -> None:
    """Store the month's findings of beds without a visit; an open finding whose bed has since
    been visited (an order read late) goes; a dismissed or actioned one stays as it is."""
    first, last = month_days(month)
    rows = (await session.execute(sa.select(HomeBedRow, ElderRow.district_code)
                                  .join(ElderRow, ElderRow.elder_id == HomeBedRow.elder_id, isouter=True)
                                  .where(HomeBedRow.opened_on.is_not(None), HomeBedRow.provider_id.is_not(None),
                                         HomeBedRow.opened_on <= last,
                                         sa.or_(HomeBedRow.closed_on.is_(None), HomeBedRow.closed_on > first)))).all()
    beds = [HomeBed(bed_id=row.bed_id, elder_id=row.elder_id, provider_id=row.provider_id, opened_on=row.opened_on,
                    closed_on=row.closed_on, visits_per_week=row.visits_per_week) for row, _ in rows]
    districts = {row.bed_id: district for row, district in rows}
    visits: list[Visit] = []
    elders = list({bed.elder_id for bed in beds})
    for start in range(0, len(elders), 1000):
        visits += [Visit(v.elder_id, v.provider_id, v.completed_at) for v in (await session.execute(
            sa.select(HomeBedVisitRow).where(HomeBedVisitRow.elder_id.in_(elders[start:start + 1000]),
                                             HomeBedVisitRow.completed_on.between(first, last)))).scalars()]
    found = beds_without_visit(beds, visits, month)
    keys = [finding.key for _, finding in found]
    await session.execute(sa.delete(AnomalyFindingRow).where(
        AnomalyFindingRow.rule == HOME_BED_NO_VISIT, AnomalyFindingRow.month == month,
        AnomalyFindingRow.status == "open", AnomalyFindingRow.key.not_in(keys)))
    rows_out = [{"id": uuid.uuid4(), "key": finding.key, "month": month, "rule": finding.rule, "title": finding.title,
                 "explanation": finding.explanation, "district_code": districts.get(bed.bed_id),
                 "provider_id": bed.provider_id, "elder_id": bed.elder_id, "redemption_ids": [], "amount_fen": 0,
                 "status": "open", "created_at": now, "updated_at": now} for bed, finding in found]
    for start in range(0, len(rows_out), 200):
        await insert_ignoring_duplicates(session, AnomalyFindingRow.__table__, rows_out[start:start + 200])
    if found:
        log.info("%d home bed(s) without a visit in %s", len(found), month)
