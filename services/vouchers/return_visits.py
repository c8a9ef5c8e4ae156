"""Return visits (回访): the completed orders this service keeps from `youfu.order.completed.v1`,
the district officer's monthly sample of them (seeded, stored, drawn once per district and
month: `rules/return_visits.py`), the callers' results, and the findings a "服务未发生" opens.

A finding holds the order's redemption out of the provider's statement (`month_end.settle_month`)
while it is open. Resolved `cleared`, the line is paid: its month's statement is redrafted while
it is a draft, or, once confirmed, the line is carried to the statement of the month the
finding was resolved in. Resolved `upheld`, the capture is reversed (as an auditor's reversal)
and the line stays out."""
from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import month_end
from services.vouchers.access import OPERATORS, acting_district, provider_readable_by, visit_readable_by
from services.vouchers.audit import reverse_redemptions
from services.vouchers.events import FindingOpened, FindingResolved, parse_instant, parse_uuid, publish
from services.vouchers.ledger.store import insert_ignoring_duplicates
from services.vouchers.models import (
    CompletedOrderRow,
    RedemptionRow,
    ReturnVisitRow,
    ReturnVisitSampleRow,
    ServiceFindingRow,
)
from services.vouchers.oversight_policy import oversight_policy
from services.vouchers.rules.calendar import is_future_month, local_date, month_end_utc, month_of, parse_month
from services.vouchers.rules.return_visits import (
    CompletedOrder,
    FindingOutcome,
    VisitResult,
    check_oversight_month,
    draw_sample,
)
from services.vouchers.views import finding_answer, sample_answer, visit_answer
from shared.auth import Principal
from shared.city import DISTRICTS
from shared.errors import Conflict, Forbidden, NotFound, invalid_field

log = logging.getLogger("youfu.vouchers.return_visits")
NOT_DELIVERED = "service_not_delivered"
CALLERS = frozenset({"officer", "city_officer", "admin"}) | OPERATORS


async def record_completed_order(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.order.completed.v1`: keep the order for the sample (once; a redelivery changes nothing)."""
    order_id, elder_id, provider_id = (parse_uuid(data.get(k)) for k in ("order_id", "elder_id", "provider_id"))
    if order_id is None or elder_id is None or provider_id is None:
        log.warning("order.completed without order, elder or provider: %s", data.get("order_id"))
        return
    completed_at = parse_instant(data.get("completed_at")) or now
    await insert_ignoring_duplicates(session, CompletedOrderRow.__table__, [{
        "order_id": order_id, "elder_id": elder_id, "provider_id": provider_id,
        "caregiver_id": parse_uuid(data.get("caregiver_id")), "district_code": data.get("district_code"),
        "service_code": str(data.get("service_code") or ""), "completed_at": completed_at,
        "month": month_of(completed_at)}])


def _sample_district(principal: Principal, district_code: str | None) -> str:
    district = acting_district(principal, district_code)
    if district is None:
        raise invalid_field("district_code", "市级账号抽样须指定区县")
    if district not in DISTRICTS:
        raise invalid_field("district_code", "没有这个区县")
    return district


async def _sample_of(session: AsyncSession, district: str, month: str) -> ReturnVisitSampleRow | None:
    return (await session.execute(sa.select(ReturnVisitSampleRow).where(
        ReturnVisitSampleRow.district_code == district, ReturnVisitSampleRow.month == month))).scalar_one_or_none()


async def _answer(session: AsyncSession, sample: ReturnVisitSampleRow) -> dict:
    visits = list((await session.execute(sa.select(ReturnVisitRow).where(ReturnVisitRow.sample_id == sample.id)
                                         .order_by(ReturnVisitRow.position))).scalars())
    findings = {f.visit_id: f for f in (await session.execute(sa.select(ServiceFindingRow).where(
        ServiceFindingRow.visit_id.in_([v.id for v in visits])))).scalars()} if visits else {}
    completed = Counter(provider for (provider,) in (await session.execute(
        sa.select(CompletedOrderRow.provider_id).where(CompletedOrderRow.district_code == sample.district_code,
                                                       CompletedOrderRow.month == sample.month))).all())
    return sample_answer(sample, [visit_answer(v, findings.get(v.id)) for v in visits], completed)


async def draw_return_sample(session: AsyncSession, *, principal: Principal, month: str, district_code: str | None,
                             seed: int | None, now: datetime) -> tuple[int, dict]:
    """Draw the district's sample of a month that is over (201), or answer the one already drawn
    (200): one sample per district and month, whoever asks again and with whatever seed."""
    district = _sample_district(principal, district_code)
    check_oversight_month(parse_month(month)[0])
    if is_future_month(month, now) or now < month_end_utc(month):
        raise Conflict(f"{month} 尚未结束，回访抽样须在月份结束后进行", month=month)
    existing = await _sample_of(session, district, month)
    if existing is not None:
        return 200, await _answer(session, existing)
    policy = oversight_policy(local_date(now))
    orders = [CompletedOrder(order_id=str(r.order_id), provider_id=str(r.provider_id), completed_at=r.completed_at)
              for r in (await session.execute(sa.select(CompletedOrderRow).where(
                  CompletedOrderRow.district_code == district, CompletedOrderRow.month == month))).scalars()]
    seed = secrets.randbits(48) if seed is None else seed
    drawn = draw_sample(orders, seed=seed, rate_bp=policy.sample_rate_bp, minimum=policy.sample_minimum)
    sample = ReturnVisitSampleRow(id=uuid.uuid4(), district_code=district, month=month, seed=seed,
                                  policy_version=policy.version, rate_bp=policy.sample_rate_bp,
                                  minimum=policy.sample_minimum, population=len(orders),
                                  drawn_by=principal.user_id, drawn_at=now)
    try:
        async with session.begin_nested():
            session.add(sample)
            await session.flush()
    except IntegrityError:  # another officer drew it at the same moment: theirs stands
        existing = await _sample_of(session, district, month)
        if existing is None:
            raise Conflict("该月回访样本正在抽取，请稍后重试", month=month) from None
        return 200, await _answer(session, existing)
    rows = {r.order_id: r for r in (await session.execute(sa.select(CompletedOrderRow).where(
        CompletedOrderRow.order_id.in_([uuid.UUID(o.order_id) for o in drawn])))).scalars()} if drawn else {}
    session.add_all(ReturnVisitRow(id=uuid.uuid4(), sample_id=sample.id, position=i, order_id=row.order_id,
                                   elder_id=row.elder_id, provider_id=row.provider_id, district_code=district,
                                   month=month, service_code=row.service_code, completed_at=row.completed_at,
                                   attempts=0)
                    for i, row in enumerate(rows[uuid.UUID(o.order_id)] for o in drawn))
    await session.flush()
    return 201, await _answer(session, sample)


async def get_return_sample(session: AsyncSession, *, principal: Principal, month: str,
                            district_code: str | None) -> dict:
    if principal.role in OPERATORS:
        district = principal.district or district_code
        if principal.district and district_code and district_code != principal.district:
            raise Forbidden("只能查看本辖区的回访样本", district_code=district_code)
        if district is None:
            raise invalid_field("district_code", "请指定区县")
    else:
        district = _sample_district(principal, district_code)
    parse_month(month)
    sample = await _sample_of(session, district, month)
    if sample is None:
        raise NotFound(f"{month} 尚未抽取回访样本")
    return await _answer(session, sample)


async def record_visit_result(session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID,
                              result: VisitResult, note: str | None, now: datetime) -> dict:
    """Whoever called records what they heard. 联系不上 may be followed by another call; any
    other result stands (the same result again answers the same). 服务未发生 opens a finding."""
    if principal.role not in CALLERS:
        raise Forbidden("只有民政工作人员或 12349 坐席可以记录回访结果")
    visit = (await session.execute(sa.select(ReturnVisitRow).where(
        ReturnVisitRow.id == visit_id, visit_readable_by(principal, ReturnVisitRow.district_code))
        .with_for_update())).scalar_one_or_none()
    if visit is None:
        raise NotFound("没有这条回访记录，或不在您的辖区")
    if visit.result is not None and VisitResult(visit.result).final:
        if visit.result == str(result):
            return visit_answer(visit, await _finding_of_visit(session, visit.id))
        raise Conflict(f"该回访已记录为「{VisitResult(visit.result).zh_name}」，不能更改",
                       current_state=visit.result)
    visit.result, visit.note = str(result), (note or "").strip()[:500] or None
    visit.called_by, visit.called_role, visit.called_at = principal.user_id, principal.role, now
    visit.attempts += 1
    finding = None
    if result.opens_finding:
        finding = await _open_finding(session, visit=visit, principal=principal, now=now)
    await session.flush()
    return visit_answer(visit, finding)


async def _finding_of_visit(session: AsyncSession, visit_id: uuid.UUID) -> ServiceFindingRow | None:
    return (await session.execute(sa.select(ServiceFindingRow).where(
        ServiceFindingRow.visit_id == visit_id))).scalar_one_or_none()


async def _open_finding(session: AsyncSession, *, visit: ReturnVisitRow, principal: Principal,
                        now: datetime) -> ServiceFindingRow:
    existing = (await session.execute(sa.select(ServiceFindingRow).where(
        ServiceFindingRow.order_id == visit.order_id))).scalar_one_or_none()
    if existing is not None:
        return existing
    redemption = (await session.execute(sa.select(RedemptionRow).where(
        RedemptionRow.order_id == visit.order_id))).scalar_one_or_none()
    finding = ServiceFindingRow(id=uuid.uuid4(), kind=NOT_DELIVERED, visit_id=visit.id, order_id=visit.order_id,
                                elder_id=visit.elder_id, provider_id=visit.provider_id,
                                district_code=visit.district_code, redemption_id=redemption.id if redemption else None,
                                status="open", note=visit.note, opened_by=principal.user_id, opened_at=now)
    session.add(finding)
    await session.flush()
    if redemption is not None:
        await month_end.refresh_statement(session, redemption=redemption, now=now)
    publish(session, FindingOpened(finding_id=finding.id, order_id=finding.order_id, provider_id=finding.provider_id,
                                   kind=finding.kind))
    return finding


async def list_findings(session: AsyncSession, *, principal: Principal, status: str | None) -> list[dict]:
    """The return-visit findings the caller may see: the civil side its district's, a provider
    admin its own provider's."""
    query = (sa.select(ServiceFindingRow)
             .where(provider_readable_by(principal, ServiceFindingRow.provider_id, ServiceFindingRow.district_code))
             .order_by(ServiceFindingRow.status, ServiceFindingRow.opened_at.desc()).limit(500))  # open first
    if status:
        query = query.where(ServiceFindingRow.status == status)
    return [finding_answer(f) for f in (await session.execute(query)).scalars()]


async def resolve_finding(session: AsyncSession, *, principal: Principal, finding_id: uuid.UUID,
                          outcome: FindingOutcome, resolution: str, now: datetime) -> dict:
    acting_district(principal)
    if not resolution.strip():
        raise invalid_field("resolution", "请填写核实情况说明")
    finding = (await session.execute(sa.select(ServiceFindingRow).where(
        ServiceFindingRow.id == finding_id,
        provider_readable_by(principal, ServiceFindingRow.provider_id, ServiceFindingRow.district_code))
        .with_for_update())).scalar_one_or_none()
    if finding is None:
        raise NotFound("没有这条回访发现，或不在您的辖区")
    if finding.status != "open":
        if finding.outcome == str(outcome):
            return finding_answer(finding)
        raise Conflict("这条回访发现已处理", current_state=finding.status)
    finding.status, finding.outcome, finding.resolution = "resolved", str(outcome), resolution.strip()[:500]
    finding.resolved_by, finding.resolved_at = principal.user_id, now
    await session.flush()
    redemption = await session.get(RedemptionRow, finding.redemption_id) if finding.redemption_id else None
    if redemption is not None:
        if outcome is FindingOutcome.UPHELD:
            await reverse_redemptions(session, redemptions=[redemption], reason=f"回访核实服务未发生：{resolution}"[:100],
                                      now=now)
        elif await month_end.refresh_statement(session, redemption=redemption, now=now) in ("confirmed", "paid"):
            finding.carried_to_month = month_of(now)  # its month is settled: paid with the current month's
            await session.flush()
    publish(session, FindingResolved(finding_id=finding.id, order_id=finding.order_id, provider_id=finding.provider_id,
                                     kind=finding.kind, outcome=finding.outcome))
    return finding_answer(finding)
