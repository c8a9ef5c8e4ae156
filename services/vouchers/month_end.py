"""Month end: unspent balances expire, each provider's redeemed amount becomes a statement.

Expiry moves what a wallet still has available to the kind's EXPIRED account. Money under an
open hold is not available, so it waits for the order's outcome: a capture pays it, a void
puts it back in the (past) wallet, and running month end again sweeps it. Statements are
per provider and district (each district's bureau pays for its own elders): draft → confirmed
by an officer → paid (a SETTLE transfer from the provider's payable). A later month-end run
recomputes drafts only. The month's bed-day claims of institutional stays are drafted first
(services/vouchers/stay_claims.py), so the voucher part they hold is not there to expire.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import stay_claims
from services.vouchers.access import acting_district, district_readable_by, provider_readable_by
from services.vouchers.events import VoucherExpired, publish
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import TransferKind, expire_month, settle_transfer, wallet_account
from services.vouchers.ledger.store import Posting
from services.vouchers.models import (
    HoldRow,
    MonthEndRunRow,
    ProviderFreezeRow,
    RedemptionRow,
    ServiceFindingRow,
    SettlementLineRow,
    SettlementRow,
    TransferRow,
    VoucherRow,
)
from services.vouchers.rules.calendar import is_future_month, month_end_utc, parse_month
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.views import statement_summary
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, invalid_field

IN_CHUNK = 10_000


def check_month_ended(month: str, now: datetime) -> None:
    parse_month(month)
    if is_future_month(month, now):
        raise invalid_field("month", f"{month} 尚未开始")
    if now < month_end_utc(month):
        raise Conflict(f"{month} 尚未结束，月末处理须在下月 1 日（北京时间）之后进行", month=month)


async def run_month_end(session: AsyncSession, *, principal: Principal, month: str, district_code: str | None = None,
                        now: datetime) -> dict:
    district = acting_district(principal, district_code)
    check_month_ended(month, now)
    # the month's bed-day claims first: their holds keep the voucher part out of the expiry
    drafted = await stay_claims.draft_month(session, month=month, district=district, now=now)
    query = sa.select(VoucherRow).where(VoucherRow.month == month)
    if district:
        query = query.where(VoucherRow.district_code == district)
    vouchers = {wallet_account(v.elder_id, VoucherKind(v.kind), month): v
                for v in (await session.execute(query)).scalars()}
    balances = await ledger_store.lock_balances(session, accounts=vouchers)
    expiries = expire_month(balances, month)
    await ledger_store.post(session, postings=[Posting(t, elder_id=vouchers[t.debit_account].elder_id,
                                                       memo=f"{month} 月末过期") for t in expiries], now=now)
    by_kind: dict[str, dict] = defaultdict(lambda: {"count": 0, "amount_fen": 0})
    for t in expiries:
        voucher = vouchers[t.debit_account]
        publish(session, VoucherExpired(elder_id=voucher.elder_id, voucher_id=voucher.id, month=month,
                                        amount_fen=t.amount_fen))
        by_kind[voucher.kind]["count"] += 1
        by_kind[voucher.kind]["amount_fen"] += t.amount_fen
    open_holds = sa.select(sa.func.count()).select_from(HoldRow).where(HoldRow.month == month, HoldRow.status == "held")
    if district:
        open_holds = open_holds.where(HoldRow.district_code == district)
    statements = await settle_month(session, month=month, district=district, now=now)
    report = {
        "expired_count": len(expiries), "expired_fen": sum(t.amount_fen for t in expiries),
        "expired_by_kind": [{"kind": k, "kind_name": VoucherKind(k).zh_name, **v} for k, v in sorted(by_kind.items())],
        "open_holds_left": (await session.execute(open_holds)).scalar_one(),
        "stay_claims": len(drafted),
        "settlements": [statement_summary(s) for s in statements],
    }
    run = MonthEndRunRow(id=uuid.uuid4(), month=month, district_code=district, requested_by=principal.user_id,
                         expired_count=report["expired_count"], expired_fen=report["expired_fen"],
                         report=_jsonable(report), ran_at=now)
    session.add(run)
    await session.flush()
    return {"run_id": str(run.id), "month": month, "district_code": district, "ran_at": now, **report}


def _jsonable(report: dict) -> dict:
    return json.loads(json.dumps(report, default=str))


async def reversed_by_capture(session: AsyncSession, *, capture_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(capture_ids), IN_CHUNK):  # asyncpg takes at most 32,767 parameters
        rows = await session.execute(sa.select(TransferRow.reverses_id, TransferRow.amount_fen).where(
            TransferRow.kind == str(TransferKind.REVERSE), TransferRow.reverses_id.in_(capture_ids[start:start + IN_CHUNK])))
        found.update((capture, int(amount)) for capture, amount in rows.all())
    return found


async def _findings_holding(session: AsyncSession, *, month: str) -> tuple[dict[uuid.UUID, bool], set[uuid.UUID]]:
    """The return-visit findings' say over month `month`'s statements (return_visits.py): the
    redemptions kept out ({id: True while the finding is open (shown as held), False once upheld or
    carried to another month}) and the redemptions of other months carried into this one."""
    rows = await session.execute(sa.select(ServiceFindingRow.redemption_id, ServiceFindingRow.status,
                                           ServiceFindingRow.outcome, ServiceFindingRow.carried_to_month)
                                 .where(ServiceFindingRow.redemption_id.is_not(None)))
    out: dict[uuid.UUID, bool] = {}
    carried_in: set[uuid.UUID] = set()
    for redemption_id, status, outcome, carried_to in rows.all():
        if status == "open":
            out[redemption_id] = True
        elif outcome == "upheld":
            out[redemption_id] = False
        elif carried_to is not None:
            if carried_to == month:
                carried_in.add(redemption_id)
            else:
                out[redemption_id] = False
    return out, carried_in


async def settle_month(session: AsyncSession, *, month: str, district: str | None, now: datetime,
                       provider_id: uuid.UUID | None = None) -> list[SettlementRow]:
    """Draft (or redraft) the month's statements, of one provider when `provider_id` is given.
    A redemption a return-visit finding holds is left out (counted as held) until the finding is
    resolved; one cleared after its own month's statement was confirmed is paid in the statement
    of the month it was carried to."""
    held, carried_in = await _findings_holding(session, month=month)
    in_month = RedemptionRow.month == month
    if carried_in:
        in_month = sa.or_(in_month, RedemptionRow.id.in_(carried_in))
    query = sa.select(RedemptionRow).where(in_month)
    if district:
        query = query.where(RedemptionRow.district_code == district)
    if provider_id:
        query = query.where(RedemptionRow.provider_id == provider_id)
    redemptions = list((await session.execute(query)).scalars())
    reversed_fen = await reversed_by_capture(session, capture_ids=[r.capture_transfer_id for r in redemptions])
    groups: dict[tuple, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    held_by_group: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r in redemptions:
        key = (r.provider_id, r.district_code or "")
        if r.id in held:
            if held[r.id]:
                held_by_group[key][0] += 1
                held_by_group[key][1] += r.amount_fen
                groups[key]  # a statement even when every line is held: it shows what waits
            continue
        line = groups[key][(r.service_code, r.kind)]
        line[0] += 1
        line[1] += r.amount_fen
        line[2] += reversed_fen.get(r.capture_transfer_id, 0)
    statements = []
    for (provider, district_code), lines in sorted(groups.items(), key=lambda g: (str(g[0][0]), g[0][1])):
        row = (await session.execute(sa.select(SettlementRow).where(
            SettlementRow.month == month, SettlementRow.provider_id == provider,
            SettlementRow.district_code == district_code).with_for_update())).scalar_one_or_none()
        if row is None:
            row = SettlementRow(id=uuid.uuid4(), month=month, provider_id=provider, district_code=district_code,
                                status="draft", created_at=now)
            session.add(row)
        elif row.status != "draft":
            statements.append(row)  # confirmed figures are not changed behind the officer's back
            continue
        else:
            await session.execute(sa.delete(SettlementLineRow).where(SettlementLineRow.settlement_id == row.id))
        row.redemption_count = sum(v[0] for v in lines.values())
        row.redeemed_fen = sum(v[1] for v in lines.values())
        row.reversed_fen = sum(v[2] for v in lines.values())
        row.net_fen = row.redeemed_fen - row.reversed_fen
        row.held_count, row.held_fen = held_by_group[(provider, district_code)]
        row.updated_at = now
        await session.flush()
        session.add_all(SettlementLineRow(id=uuid.uuid4(), settlement_id=row.id, service_code=service, kind=kind,
                                          redemption_count=count, redeemed_fen=fen, reversed_fen=back,
                                          net_fen=fen - back)
                        for (service, kind), (count, fen, back) in sorted(lines.items()))
        statements.append(row)
    await session.flush()
    return statements


async def refresh_statement(session: AsyncSession, *, redemption: RedemptionRow, now: datetime) -> str:
    """Redraft the statement a redemption belongs to after a finding about it opened or was
    resolved: "drafted" (its month is over and the statement is a draft or not yet made),
    "pending" (the month is not over: month end will draft it) or the statement's status when
    it is no longer a draft ("confirmed", "paid")."""
    if now < month_end_utc(redemption.month):
        return "pending"
    status = (await session.execute(sa.select(SettlementRow.status).where(
        SettlementRow.month == redemption.month, SettlementRow.provider_id == redemption.provider_id,
        SettlementRow.district_code == (redemption.district_code or "")))).scalar_one_or_none()
    if status not in (None, "draft"):
        return status
    await settle_month(session, month=redemption.month, district=redemption.district_code, now=now,
                       provider_id=redemption.provider_id)
    return "drafted"


async def list_settlements(session: AsyncSession, *, principal: Principal, month: str | None,
                           provider_id: uuid.UUID | None) -> list[dict]:
    if principal.role == "provider_admin" and provider_id and str(provider_id) != principal.provider_id:
        raise Forbidden("只能查看本机构的结算单")
    query = (sa.select(SettlementRow)
             .where(provider_readable_by(principal, SettlementRow.provider_id, SettlementRow.district_code))
             .order_by(SettlementRow.month.desc(), SettlementRow.district_code, SettlementRow.provider_id))
    if month:
        parse_month(month)
        query = query.where(SettlementRow.month == month)
    if provider_id:
        query = query.where(SettlementRow.provider_id == provider_id)
    rows = list((await session.execute(query)).scalars())
    lines: dict[uuid.UUID, list] = defaultdict(list)
    if rows:
        for line in (await session.execute(sa.select(SettlementLineRow).where(
                SettlementLineRow.settlement_id.in_([r.id for r in rows]))
                .order_by(SettlementLineRow.service_code, SettlementLineRow.kind))).scalars():
            lines[line.settlement_id].append({
                "service_code": line.service_code, "kind": line.kind, "kind_name": VoucherKind(line.kind).zh_name,
                "redemption_count": line.redemption_count, "redeemed_fen": line.redeemed_fen,
                "reversed_fen": line.reversed_fen, "net_fen": line.net_fen})
    return [statement_summary(r) | {"confirmed_by": r.confirmed_by, "confirmed_at": r.confirmed_at,
                                    "paid_at": r.paid_at, "lines": lines[r.id]} for r in rows]


async def _statement_for_civil_action(session: AsyncSession, principal: Principal, settlement_id: uuid.UUID) -> SettlementRow:
    acting_district(principal)
    row = (await session.execute(sa.select(SettlementRow).where(
        SettlementRow.id == settlement_id, district_readable_by(principal, SettlementRow.district_code))
        .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("没有这张结算单，或不在您的辖区")
    if await session.get(ProviderFreezeRow, row.provider_id) is not None:
        raise Conflict("该服务商的结算已被稽核冻结，解除冻结前不能确认或付款", provider_id=str(row.provider_id))
    return row


async def confirm_settlement(session: AsyncSession, *, principal: Principal, settlement_id: uuid.UUID,
                             now: datetime) -> dict:
    row = await _statement_for_civil_action(session, principal, settlement_id)
    if row.status != "draft":
        raise Conflict("只有草稿状态的结算单可以确认", current_state=row.status)
    row.status, row.confirmed_by, row.confirmed_at, row.updated_at = "confirmed", principal.user_id, now, now
    await session.flush()
    return statement_summary(row)


async def pay_settlement(session: AsyncSession, *, principal: Principal, settlement_id: uuid.UUID,
                         now: datetime) -> dict:
    row = await _statement_for_civil_action(session, principal, settlement_id)
    if row.status != "confirmed":
        raise Conflict("结算单确认后才能付款", current_state=row.status)
    if row.net_fen > 0:
        transfer_id = str(uuid.uuid4())
        posting = Posting(settle_transfer(transfer_id, row.provider_id, row.net_fen), provider_id=row.provider_id,
                          memo=f"{row.month} {row.district_code} 结算付款")
        await ledger_store.post(session, postings=[posting], now=now)
        row.settle_transfer_id = transfer_id
    row.status, row.paid_at, row.updated_at = "paid", now, now
    await session.flush()
    return statement_summary(row)
