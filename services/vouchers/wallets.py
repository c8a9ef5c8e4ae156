"""An elder's wallet: this month's vouchers and their movements, for elders, families and clerks."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import ledger_store
from services.vouchers.calendar import SHANGHAI, local_date, month_end_utc, month_of, parse_month
from services.vouchers.ledger import Account, AccountType, TransferKind, wallet_account
from services.vouchers.models import ElderRow, TransferRow, VoucherRow
from services.vouchers.money import format_yuan
from services.vouchers.policy import VoucherKind
from services.vouchers.service import elder_readable_by
from shared.auth import Principal
from shared.errors import NotFound

ACTION_NAMES = {"issue": "发放", "hold": "下单预扣", "capture": "服务核销", "void": "释放预扣",
                "expire": "月末过期作废", "reverse": "冲正退回"}


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
    balances = await ledger_store.wallet_balances(session, codes.values())
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
        entries.append(_entry(row, wallet_side, hold_amounts.get(row.pending_id)))
    return {"elder_id": str(elder_id), "month": month, "entries": entries}


def _entry(row: TransferRow, account: Account, held_fen: int | None) -> dict:
    kind = VoucherKind(account.kind)
    amount = row.amount_fen
    change = {"issue": amount, "hold": -amount, "void": amount, "expire": -amount, "reverse": amount,
              "capture": (held_fen or amount) - amount}.get(row.kind, 0)
    text = {
        "issue": f"{account.month} 月{kind.zh_name}发放 {format_yuan(amount)} 元",
        "hold": f"下单预扣 {format_yuan(amount)} 元",
        "capture": f"服务完成，券支付 {format_yuan(amount)} 元" + (
            f"，退回多预扣的 {format_yuan(change)} 元" if change > 0 else ""),
        "void": f"订单取消，退回预扣 {format_yuan(amount)} 元",
        "expire": f"{account.month} 月未用完的 {format_yuan(amount)} 元已过期作废",
        "reverse": f"核销被冲正，退回 {format_yuan(amount)} 元",
    }.get(row.kind, row.memo)
    return {"transfer_id": row.id, "time": row.created_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "month": account.month, "kind": str(kind), "kind_name": kind.zh_name, "action": row.kind,
            "action_name": ACTION_NAMES.get(row.kind, row.kind), "amount_fen": amount, "amount_yuan": format_yuan(amount),
            "available_change_fen": change, "order_id": str(row.order_id) if row.order_id else None,
            "description": text}

