"""The civil-affairs side: spend reports, anomaly findings and the auditor's actions on them,
and the ledger's invariant check."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import home_beds, meal_subsidies, recovery, stay_claims
from services.vouchers.access import acting_district, district_readable_by
from services.vouchers.events import VoucherReversed, publish
from services.vouchers.ledger import spend_summary
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import Transfer, TransferKind, funding_account, payable_account, wallet_account
from services.vouchers.ledger.store import Posting, insert_ignoring_duplicates
from services.vouchers.models import (
    AnomalyFindingRow,
    AuditorActionRow,
    ProviderFreezeRow,
    RedemptionRow,
    ServiceMinimumRow,
    SpendSummaryRow,
)
from services.vouchers.month_end import reversed_by_capture
from services.vouchers.rules.audit import AnomalyThresholds, AuditContext, Finding, run_rules
from services.vouchers.rules.calendar import check_month_range, month_of, months_between, parse_month, previous_month
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.views import describe_finding, district_name, group_name
from shared.auth import Principal, require_role
from shared.errors import Conflict, Invalid, NotFound

# The spend reports' groupings, as columns of the spend summary.
GROUPS = {"district": "district_code", "kind": "kind", "service": "service_code", "provider": "provider_id"}
HISTORY_MONTHS = 12


_SUMMARY = SpendSummaryRow.__table__
_SUMMED = ("redemption_count", "order_amount_fen", "voucher_fen", "reversed_fen")
TOTALS = ("redemption_count", "order_amount_fen", "voucher_fen", "elder_fen", "reversed_fen", "net_fen")
MAX_REPORT_MONTHS = 36


def _sums():
    return [sa.func.sum(_SUMMARY.c[name]).label(name) for name in _SUMMED]


def _figures(row) -> dict:
    n, order, paid, back = (int(getattr(row, name) or 0) for name in _SUMMED)
    return {"redemption_count": n, "order_amount_fen": order, "voucher_fen": paid, "elder_fen": order - paid,
            "reversed_fen": back, "net_fen": paid - back}


async def spend_report(session: AsyncSession, *, principal: Principal, month: str, group_by: str,
                       district_code: str | None = None) -> dict:
    """Voucher spend of a month (the vouchers' month) grouped one way; an officer's report
    covers their district only. Read from the spend summary (`ledger/spend_summary.py`)."""
    district = acting_district(principal, district_code)
    parse_month(month)
    column = _SUMMARY.c[GROUPS[group_by]]
    query = sa.select(column.label("key"), *_sums()).where(_SUMMARY.c.month == month).group_by(column)
    if district:
        query = query.where(_SUMMARY.c.district_code == district)
    found = sorted(((str(row.key or ""), _figures(row)) for row in await session.execute(query)), key=lambda r: r[0])
    rows = [{"key": key, "name": group_name(group_by, key), **figures} for key, figures in found]
    totals = {name: sum(r[name] for r in rows) for name in TOTALS}
    return {"month": month, "group_by": group_by, "district_code": district, "rows": rows, "totals": totals}


async def spend_by_month(session: AsyncSession, *, principal: Principal, from_month: str, to_month: str,
                         district_code: str | None = None) -> dict:
    """The audit view over a period: spend per month × district × kind (each month the vouchers'
    month), from the spend summary. At most `MAX_REPORT_MONTHS` months at once."""
    district = acting_district(principal, district_code)
    check_month_range(from_month, to_month, max_months=MAX_REPORT_MONTHS)
    s = _SUMMARY.c
    query = (sa.select(s.month, s.district_code, s.kind, *_sums())
             .where(s.month >= from_month, s.month <= to_month)
             .group_by(s.month, s.district_code, s.kind).order_by(s.month, s.district_code, s.kind))
    if district:
        query = query.where(s.district_code == district)
    rows = [{"month": row.month, "district_code": row.district_code, "district_name": district_name(row.district_code),
             "kind": row.kind, "kind_name": VoucherKind(row.kind).zh_name, **_figures(row)}
            for row in await session.execute(query)]
    totals = {name: sum(r[name] for r in rows) for name in TOTALS}
    return {"from_month": from_month, "to_month": to_month, "district_code": district, "rows": rows, "totals": totals}


def _record(r: RedemptionRow) -> dict:
    return {"id": str(r.id), "elder_id": str(r.elder_id), "provider_id": str(r.provider_id),
            "caregiver_id": str(r.caregiver_id) if r.caregiver_id else None, "amount_fen": r.amount_fen,
            "service_code": r.service_code, "checkin_distance_m": r.checkin_distance_m, "duration_min": r.duration_min,
            "completed_at": r.completed_at, "latitude": r.latitude, "longitude": r.longitude,
            "district_code": r.district_code, "kind": r.kind}


async def _context(session: AsyncSession, month: str, records: list[dict]) -> AuditContext:
    providers = {uuid.UUID(r["provider_id"]) for r in records}
    minimums = dict((await session.execute(sa.select(ServiceMinimumRow.service_code,
                                                     sa.func.min(ServiceMinimumRow.min_duration_min))
                                           .group_by(ServiceMinimumRow.service_code))).all())
    past = months_between(_months_back(month, HISTORY_MONTHS), previous_month(month))
    history: dict[str, list[int]] = defaultdict(list)
    if providers:
        rows = await session.execute(
            sa.select(RedemptionRow.provider_id, RedemptionRow.month, sa.func.sum(RedemptionRow.amount_fen))
            .where(RedemptionRow.provider_id.in_(providers), RedemptionRow.month.in_(past))
            .group_by(RedemptionRow.provider_id, RedemptionRow.month).order_by(RedemptionRow.month))
        for provider, _, total in rows.all():  # months without spend are not "normal" months: left out
            history[str(provider)].append(int(total))
    community = {uuid.UUID(r["elder_id"]) for r in records if r["kind"] == str(VoucherKind.COMMUNITY)}
    stays = await stay_claims.stays_of_elders(session, elder_ids=community)
    return AuditContext(minimum_minutes_by_service=minimums, history_fen_by_provider=history, stays_by_elder=stays)


def _months_back(month: str, count: int) -> str:
    for _ in range(count):
        month = previous_month(month)
    return month


def _finding_row(finding: Finding, month: str, now: datetime) -> dict:
    records = finding.records
    providers = {r["provider_id"] for r in records}
    elders = {r["elder_id"] for r in records}
    return {"id": uuid.uuid4(), "key": finding.key[:400], "month": month, "rule": finding.rule,
            "title": finding.title, "explanation": finding.explanation,
            "district_code": records[0]["district_code"] if records else None,
            "provider_id": uuid.UUID(providers.pop()) if len(providers) == 1 else None,
            "elder_id": uuid.UUID(elders.pop()) if len(elders) == 1 else None,
            # a self-paid meal at a counter (meal_subsidies.py) is in a finding without a redemption
            "redemption_ids": [r["id"] for r in records if r["id"]], "amount_fen": sum(r["amount_fen"] for r in records),
            "status": "open", "created_at": now, "updated_at": now}


async def find_anomalies(session: AsyncSession, *, principal: Principal, month: str, now: datetime,
                         thresholds: AnomalyThresholds | None = None) -> list[dict]:
    """Run every rule over the month's redemptions in the whole city (a caregiver or provider
    crosses district lines), the meal rules over the month's meals at the counters
    (`meal_subsidies.py`) and, for a month that is over, the home beds' rule
    (`home_beds.py`); store new findings under their stable key (a finding already stored keeps
    its status, so a dismissal sticks), and list the caller's district's."""
    acting_district(principal)
    parse_month(month)
    records = [_record(r) for r in (await session.execute(
        sa.select(RedemptionRow).where(RedemptionRow.month == month).order_by(RedemptionRow.completed_at))).scalars()]
    recovery_keys: list[str] = []
    if records:
        findings = run_rules(records, thresholds or AnomalyThresholds(), await _context(session, month, records))
        rows = [_finding_row(f, month, now) for f in findings]
        for start in range(0, len(rows), 200):
            await insert_ignoring_duplicates(session, AnomalyFindingRow.__table__, rows[start:start + 200])
        # spending after a death or move is the recovery findings' (per elder and provider, under
        # the month of the date): recomputed here too, and listed with this month's
        recovery_keys = await recovery.refresh_for_month(
            session, elder_ids={uuid.UUID(r["elder_id"]) for r in records}, now=now)
    meal_rules = await meal_subsidies.meal_findings(session, month=month, now=now)
    if meal_rules:
        rows = [_finding_row(f, month, now) for f in meal_rules]
        for start in range(0, len(rows), 200):
            await insert_ignoring_duplicates(session, AnomalyFindingRow.__table__, rows[start:start + 200])
    if parse_month(month) < parse_month(month_of(now)):  # a bed's month is judged once it is over
        await home_beds.refresh_findings(session, month=month, now=now)
    in_month = AnomalyFindingRow.month == month
    if recovery_keys:
        in_month = sa.or_(in_month, AnomalyFindingRow.key.in_(recovery_keys))
    stored = await session.execute(sa.select(AnomalyFindingRow).where(
        in_month, district_readable_by(principal, AnomalyFindingRow.district_code))
        .order_by(AnomalyFindingRow.rule, AnomalyFindingRow.key))
    return [describe_finding(row) for row in stored.scalars()]


async def act_on_finding(session: AsyncSession, *, principal: Principal, finding_id: uuid.UUID, action: str,
                         reason: str, now: datetime) -> dict:
    acting_district(principal)
    finding = (await session.execute(sa.select(AnomalyFindingRow).where(
        AnomalyFindingRow.id == finding_id, district_readable_by(principal, AnomalyFindingRow.district_code))
        .with_for_update())).scalar_one_or_none()
    if finding is None:
        raise NotFound("没有这条稽核线索，或不在您的辖区")
    if finding.status == "dismissed":
        raise Conflict("这条线索已驳回，不能再处理", current_state=finding.status)
    transfer_ids: list[str] = []
    if action == "dismiss":
        if finding.status == "actioned":
            raise Conflict("这条线索已采取处理措施，不能再驳回", current_state=finding.status)
        finding.status = "dismissed"
    elif action == "freeze_provider":
        if finding.provider_id is None:
            raise Invalid("这条线索涉及多个服务商，请逐个冻结")
        if await session.get(ProviderFreezeRow, finding.provider_id) is None:
            session.add(ProviderFreezeRow(provider_id=finding.provider_id, finding_id=finding.id, reason=reason,
                                          frozen_by=principal.user_id, frozen_at=now))
        finding.status = "actioned"
    else:
        if not finding.redemption_ids:  # e.g. a home bed without a visit: nothing was paid for it
            raise Conflict("这条线索不涉及代金券核销，没有可冲正的金额", rule=finding.rule)
        transfer_ids = await _reverse(session, finding, reason=reason, now=now)
        finding.status = "actioned"
    finding.updated_at = now
    row = AuditorActionRow(id=uuid.uuid4(), finding_id=finding.id, action=action, reason=reason,
                           actor_id=principal.user_id, actor_role=principal.role, transfer_ids=transfer_ids,
                           created_at=now)
    session.add(row)
    await session.flush()
    return {"action_id": str(row.id), "finding_id": str(finding.id), "action": action, "status": finding.status,
            "transfer_ids": transfer_ids, "created_at": now}


async def _reverse(session: AsyncSession, finding: AnomalyFindingRow, *, reason: str, now: datetime) -> list[str]:
    ids = [uuid.UUID(i) for i in finding.redemption_ids]
    redemptions = list((await session.execute(sa.select(RedemptionRow).where(RedemptionRow.id.in_(ids))
                                               .order_by(RedemptionRow.completed_at))).scalars())
    return await reverse_redemptions(session, redemptions=redemptions, reason=reason, now=now)


async def reverse_redemptions(session: AsyncSession, *, redemptions: list[RedemptionRow], reason: str,
                              now: datetime) -> list[str]:
    """A reversing transfer per redemption not yet reversed: the provider's payable gives the
    money back to the elder's wallet while its month lasts, to the city budget after (an
    auditor's reversal; a return-visit finding upheld, return_visits.py)."""
    already = await reversed_by_capture(session, capture_ids=[r.capture_transfer_id for r in redemptions])
    todo = [r for r in redemptions if r.capture_transfer_id not in already]
    if not todo:
        raise Conflict("这些核销已全部冲正，无需再次冲正")
    postings = []
    for r in todo:
        kind = VoucherKind(r.kind)
        back_to = wallet_account(r.elder_id, kind, r.month) if r.month == month_of(now) else funding_account(kind)
        transfer = Transfer(str(uuid.uuid4()), payable_account(r.provider_id), back_to, r.amount_fen, TransferKind.REVERSE)
        postings.append(Posting(transfer, elder_id=r.elder_id, order_id=r.order_id, provider_id=r.provider_id,
                                reverses_id=r.capture_transfer_id, memo=f"稽核冲正：{reason}"[:200]))
        publish(session, VoucherReversed(elder_id=r.elder_id, order_id=r.order_id, hold_id=r.hold_id,
                                         amount_fen=r.amount_fen, provider_id=r.provider_id, reason=reason))
    await ledger_store.post(session, postings=postings, now=now)
    await spend_summary.add(session, deltas=[spend_summary.reversed_(r, r.amount_fen) for r in todo])
    return [p.transfer.id for p in postings]


async def ledger_check(session: AsyncSession, *, principal: Principal) -> dict:
    require_role(principal, "city_officer")
    check = await ledger_store.check_book(session)
    report = check.report
    violations = [{"code": v.code, "message": v.message, "transfer_id": v.transfer_id, "account": v.account}
                  for v in report.violations] + check.extra
    return {"ok": check.ok, "transfers_checked": report.transfers_checked, "open_holds": report.open_holds,
            "accounts": len(report.balances), "violations": violations}
