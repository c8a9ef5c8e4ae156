"""An elder's wallet: this month's vouchers and their movements, for elders, families and clerks."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import elder_readable_by
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import Account, AccountType, TransferKind, wallet_account
from services.vouchers.models import ElderRow, TransferRow, VoucherRow
from services.vouchers.rules.calendar import local_date, month_end_utc, month_of, parse_month
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.views import history_entry
from shared.auth import Principal
from shared.errors import NotFound


async def _visible_elder(session: AsyncSession, principal: Principal, elder_id: uuid.UUID) -> ElderRow:
    elder = (await session.execute(sa.select(ElderRow).where(
        ElderRow.elder_id == elder_id, elder_readable_by(principal, ElderRow.elder_id, ElderRow.district_code),
    ))).scalar_one_or_none()
    if elder is None:
        raise NotFound("没有找到这位老人的代金券信息，或不在您的查看范围内")
    return elder


async def wallet(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, month: str | None,
                 now: datetime) -> dict:
    await _visible_elder(session, principal, elder_id)
    month = month or month_of(now)
    parse_month(month)
    vouchers = (await session.execute(sa.select(VoucherRow).where(
        VoucherRow.elder_id == elder_id, VoucherRow.month == month).order_by(VoucherRow.kind))).scalars().all()
    codes = {v.id: wallet_account(elder_id, VoucherKind(v.kind), month).code for v in vouchers}
    balances = await ledger_store.wallet_balances(session, codes=codes.values())
    expired = dict((await session.execute(
        sa.select(TransferRow.debit_account, sa.func.sum(TransferRow.amount_fen))
        .where(TransferRow.kind == str(TransferKind.EXPIRE), TransferRow.debit_account.in_(list(codes.values())))
        .group_by(TransferRow.debit_account))).all())
    last_day = local_date(month_end_utc(month) - timedelta(seconds=1))
    items = []
    for v in vouchers:
        b = balances[codes[v.id]]
        gone = int(expired.get(codes[v.id]) or 0)
        returned = b.credits_posted - v.face_value_fen  # reversals credited back to the wallet
        items.append({"voucher_id": str(v.id), "kind": v.kind, "kind_name": VoucherKind(v.kind).zh_name,
                      "face_value_fen": v.face_value_fen, "available_fen": b.available_fen,
                      "held_fen": b.debits_pending, "spent_fen": b.debits_posted - gone - returned,
                      "expired_fen": gone, "share_bp": v.share_bp, "valid_until": last_day.isoformat()})
    return {"elder_id": str(elder_id), "month": month, "vouchers": items,
            "total_available_fen": sum(i["available_fen"] for i in items)}


async def history(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, month: str | None,
                  limit: int = 200) -> dict:
    """The wallet's journal lines, newest first, each with a sentence a family member can read
    and its effect on what the wallet can still pay (`available_change_fen`)."""
    await _visible_elder(session, principal, elder_id)
    if month:
        parse_month(month)
    rows = (await session.execute(sa.select(TransferRow).where(TransferRow.elder_id == elder_id)
                                  .order_by(TransferRow.seq.desc()).limit(limit))).scalars().all()
    held = {r.pending_id for r in rows if r.pending_id}
    hold_amounts = dict((await session.execute(sa.select(TransferRow.id, TransferRow.amount_fen)
                                               .where(TransferRow.id.in_(held)))).all()) if held else {}
    entries = []
    for row in rows:
        debit, credit = Account.parse(row.debit_account), Account.parse(row.credit_account)
        wallet_side = debit if debit.type is AccountType.WALLET else credit
        if wallet_side.type is not AccountType.WALLET or (month and wallet_side.month != month):
            continue
        entries.append(history_entry(row, wallet_side, hold_amounts.get(row.pending_id)))
    return {"elder_id": str(elder_id), "month": month, "entries": entries}
