"""Spending a voucher, two-phase: quote → hold (orders, at order time) → capture (order
completed) or void (cancelled). A hold resolves once; the wallet never goes below zero.

The voucher pays its share of the price, capped by what the wallet still has this month
(`rules/money.py`, `split_payment`); the elder pays the rest. A wallet with something left covers what it
can (the elder pays the difference); a wallet that is used up, or an elder with no voucher of
the kind this month, gets 409 naming the remaining balance, so the elder can choose to pay
themself — a voucher-paid order is never confirmed with a voucher that pays nothing.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import may_act_for_elder
from services.vouchers.events import (
    VoucherHeld,
    VoucherRedeemed,
    VoucherReleased,
    parse_instant,
    parse_uuid,
    publish,
    publish_fast,
)
from services.vouchers.ledger import spend_summary
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import capture_transfer, hold_transfer, void_transfer, wallet_account
from services.vouchers.ledger.store import Posting
from services.vouchers.models import ElderRow, HoldRow, RedemptionRow, VoucherRow
from services.vouchers.rules.calendar import month_of
from services.vouchers.rules.money import format_yuan, split_payment
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.views import hold_answer
from shared.auth import Principal, require_role
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.fast_sql import FastTx, Lock, Query, insert_query

log = logging.getLogger("youfu.vouchers.spending")


async def _voucher(session: AsyncSession, elder_id: uuid.UUID, kind: VoucherKind, month: str) -> VoucherRow | None:
    return (await session.execute(sa.select(VoucherRow).where(
        VoucherRow.elder_id == elder_id, VoucherRow.kind == str(kind), VoucherRow.month == month))).scalar_one_or_none()


async def quote(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, kind: VoucherKind,
                price_fen: int, now: datetime) -> dict:
    """What the voucher would pay now. No voucher of the kind: it pays nothing (not an error)."""
    if principal.role not in ("service", "admin") and not may_act_for_elder(principal, elder_id):
        raise Forbidden("只能为本人或已绑定的老人询价")
    voucher = await _voucher(session, elder_id, kind, month_of(now))
    if voucher is None:
        return {"kind": str(kind), "price_fen": price_fen, "voucher_fen": 0, "elder_fen": price_fen,
                "share_bp": 0, "available_fen": 0}
    wallet = wallet_account(elder_id, kind, voucher.month)
    balance = (await ledger_store.wallet_balances(session, codes=[wallet.code])).get(wallet.code)
    available = balance.available_fen if balance else 0
    split = split_payment(price_fen, voucher.share_bp, available)
    return {"kind": str(kind), "price_fen": price_fen, "voucher_fen": split.voucher_fen,
            "elder_fen": split.elder_fen, "share_bp": voucher.share_bp, "available_fen": available}


_HOLDS, _VOUCHERS = HoldRow.__table__, VoucherRow.__table__
HOLD_OF_ORDER = Query(sa.select(_HOLDS).where(_HOLDS.c.order_id == sa.bindparam("order_id")))
# What a hold needs, in one statement (D79): the order's hold if it has one (a replay under
# another key), the month's voucher of the kind, and the wallet's balance. `post_hold` sends it
# with the idempotency key, under the wallet's lock taken with BEGIN (`hold_lock`), so the balance
# is the one the last holder of the lock committed.
_ONE = sa.select(sa.literal(1).label("one")).subquery("one")
_WALLET, _ON_WALLET, _WALLET_COLUMNS = ledger_store.owned_balance_columns("wallet", "wallet_code")
HOLD_FACTS = Query(sa.select(
    sa.select(_HOLDS.c.id).where(_HOLDS.c.order_id == sa.bindparam("order_id")).scalar_subquery().label("hold_id"),
    _VOUCHERS.c.id.label("voucher_id"), _VOUCHERS.c.share_bp, _VOUCHERS.c.district_code, *_WALLET_COLUMNS,
).select_from(_ONE.outerjoin(_VOUCHERS, (_VOUCHERS.c.elder_id == sa.bindparam("elder_id"))
                             & (_VOUCHERS.c.kind == sa.bindparam("kind")) & (_VOUCHERS.c.month == sa.bindparam("month")))
              .outerjoin(_WALLET, _ON_WALLET)))
INSERT_HOLD = insert_query(_HOLDS)


def hold_facts(*, order_id: uuid.UUID, elder_id: uuid.UUID, kind: VoucherKind, now: datetime) -> tuple[Query, dict]:
    """`HOLD_FACTS` and its parameters for an order placed at `now`."""
    month = month_of(now)
    return HOLD_FACTS, dict(order_id=order_id, elder_id=elder_id, kind=str(kind), month=month,
                            wallet_code=wallet_account(elder_id, kind, month).code)


def hold_lock(*, elder_id: uuid.UUID, kind: VoucherKind, now: datetime) -> Lock:
    """What `post_hold`'s transaction locks with BEGIN: this month's wallet of the kind. Holds on
    one wallet queue there, so the balance `HOLD_FACTS` reads after it is exact."""
    return ledger_store.owned_lock([wallet_account(elder_id, kind, month_of(now))])


async def place_hold(tx: FastTx, *, principal: Principal, order_id: uuid.UUID, elder_id: uuid.UUID,
                     kind: VoucherKind, price_fen: int, service_code: str, now: datetime,
                     facts: Mapping | None = None) -> dict:
    """Reserve the voucher's share of an order in this month's wallet. One hold per order: the
    same order again (under any key) gets its hold back, a different body for it is 409. On
    `shared/fast_sql.py`: every voucher-paid order placed takes this path (bench/ordering.py).

    `facts`: `HOLD_FACTS`, read under `hold_lock` (as `post_hold` does, D79). Without them they are
    read here and the wallet is locked before its balance is trusted."""
    require_role(principal, "service")
    month = month_of(now)
    wallet = wallet_account(elder_id, kind, month)
    locked = facts is not None
    if facts is None:
        query, params = hold_facts(order_id=order_id, elder_id=elder_id, kind=kind, now=now)
        facts = await tx.row(query, **params)
    if facts["hold_id"] is not None:
        existing = await tx.row(HOLD_OF_ORDER, order_id=order_id)
        if (existing["elder_id"], existing["kind"], existing["price_fen"]) != (elder_id, str(kind), price_fen):
            raise Conflict("该订单已有一笔不同内容的预扣，请先撤销原预扣", hold_id=str(existing["id"]))
        return hold_answer(HoldRow(**existing))
    if facts["voucher_id"] is None:
        raise Conflict(f"该老人本月（{month}）没有{kind.zh_name}，请按自费下单", kind=str(kind), available_fen=0)
    voucher = {"id": facts["voucher_id"], "share_bp": facts["share_bp"], "district_code": facts["district_code"]}
    # the wallet locked before its balance is trusted: concurrent holds on one wallet queue there
    balances = ledger_store.owned_balances(facts, {"wallet": wallet}) if locked else None
    if balances is None:  # not locked with BEGIN, or the wallet's first hold: its row is made and locked
        balances = await ledger_store.lock_owned(tx, accounts=[wallet])
    before = balances[wallet]
    split = split_payment(price_fen, voucher["share_bp"], before.available_fen)
    if split.voucher_fen == 0 and price_fen > 0 and voucher["share_bp"] > 0:
        raise Conflict(f"本月{kind.zh_name}余额不足：剩余 {format_yuan(before.available_fen)} 元，请改为自费下单或下月再用",
                       kind=str(kind), available_fen=before.available_fen)
    hold = HoldRow(id=uuid.uuid4(), order_id=order_id, elder_id=elder_id, voucher_id=voucher["id"], kind=str(kind),
                   month=month, district_code=voucher["district_code"], service_code=service_code, price_fen=price_fen,
                   voucher_fen=split.voucher_fen, elder_fen=split.elder_fen, share_bp=voucher["share_bp"],
                   status="held", captured_fen=None, provider_id=None, created_at=now)
    try:
        await tx.run(INSERT_HOLD, **{c.key: getattr(hold, c.key) for c in _HOLDS.columns})
    except IntegrityError:  # the same order under another key, at the same moment
        raise Conflict("该订单正在预扣，请稍后用同一幂等键重试", order_id=str(order_id)) from None
    if split.voucher_fen > 0:
        posting = Posting(hold_transfer(hold.id, wallet, split.voucher_fen), elder_id=elder_id, order_id=order_id,
                          memo=f"订单预扣 {service_code}")
        await ledger_store.post_hold(tx, hold=posting, wallet_before=before, now=now)
    await publish_fast(tx, VoucherHeld(elder_id=elder_id, order_id=order_id, hold_id=hold.id, kind=str(kind),
                                       month=month, amount_fen=split.voucher_fen))
    return hold_answer(hold)


async def _locked_hold(session: AsyncSession, *, hold_id: object = None, order_id: object = None) -> HoldRow | None:
    query = sa.select(HoldRow).with_for_update()
    if parse_uuid(hold_id):
        query = query.where(HoldRow.id == parse_uuid(hold_id))
    elif parse_uuid(order_id):
        query = query.where(HoldRow.order_id == parse_uuid(order_id))
    else:
        return None
    return (await session.execute(query)).scalar_one_or_none()


def _hold_transfer_of(hold: HoldRow):
    return hold_transfer(hold.id, wallet_account(hold.elder_id, VoucherKind(hold.kind), hold.month), hold.voucher_fen)


async def _release(session: AsyncSession, hold: HoldRow, *, now: datetime, reason: str) -> None:
    if hold.voucher_fen > 0:
        posting = Posting(void_transfer(uuid.uuid4(), _hold_transfer_of(hold)), elder_id=hold.elder_id,
                          order_id=hold.order_id, memo=f"释放预扣：{reason}")
        await ledger_store.post(session, postings=[posting], now=now)
    hold.status, hold.resolved_at = "released", now
    publish(session, VoucherReleased(elder_id=hold.elder_id, order_id=hold.order_id, hold_id=hold.id,
                                     amount_fen=hold.voucher_fen))
    await session.flush()


async def void_hold(session: AsyncSession, *, principal: Principal, hold_id: uuid.UUID, now: datetime) -> dict:
    """`POST /holds/{id}/void`: voiding a released hold again answers the same; a captured one is 409."""
    require_role(principal, "service")
    hold = await _locked_hold(session, hold_id=hold_id)
    if hold is None:
        raise NotFound("没有这笔预扣记录")
    if hold.status == "captured":
        raise Conflict("服务已完成并核销，不能撤销预扣", hold_id=str(hold.id), current_state="captured")
    if hold.status == "held":
        await _release(session, hold, now=now, reason="订单方撤销")
    return {"hold_id": str(hold.id), "status": "released"}


async def release_orphan(session: AsyncSession, *, hold_id: uuid.UUID, now: datetime) -> bool:
    """Release a hold whose order was never written (services/vouchers/orphans.py); False if it
    was resolved meanwhile."""
    hold = await _locked_hold(session, hold_id=hold_id)
    if hold is None or hold.status != "held":
        return False
    await _release(session, hold, now=now, reason="下单未完成，订单未生成")
    hold.order_checked_at = now
    return True


async def hold_status(session: AsyncSession, *, order_id: uuid.UUID) -> str | None:
    return (await session.execute(sa.select(HoldRow.status).where(HoldRow.order_id == order_id))).scalar_one_or_none()


async def get_hold(session: AsyncSession, *, principal: Principal, hold_id: uuid.UUID) -> dict:
    require_role(principal, "service")
    hold = await session.get(HoldRow, hold_id)
    if hold is None:
        raise NotFound("没有这笔预扣记录")
    return hold_answer(hold) | {"price_fen": hold.price_fen, "captured_fen": hold.captured_fen, "month": hold.month}


async def release_for_cancelled_order(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.order.cancelled.v1`. A hold already resolved is left as it is."""
    hold = await _locked_hold(session, hold_id=data.get("hold_id"), order_id=data.get("order_id"))
    if hold is None:
        log.info("order %s cancelled without a voucher hold", data.get("order_id"))
        return
    if hold.status == "captured":
        log.warning("order %s cancelled after its hold %s was captured; left as captured", hold.order_id, hold.id)
        return
    if hold.status == "held":
        await _release(session, hold, now=now, reason=str(data.get("reason") or "订单取消")[:100])


async def capture_for_completed_order(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.order.completed.v1`: pay the voucher part to the provider's payable account.

    The amount is the order's `voucher_fen` (orders owns the final price), capped by the hold:
    a capture never exceeds what was held, and whatever was held beyond it is released. A hold
    already captured is left alone (the journal's unique `pending_id` refuses a second capture
    even if this check were skipped)."""
    hold = await _locked_hold(session, hold_id=data.get("hold_id"), order_id=data.get("order_id"))
    if hold is None:
        log.info("order %s completed without a voucher hold", data.get("order_id"))
        return
    if hold.status != "held":
        if hold.status == "released":
            log.warning("order %s completed but its hold %s was released; nothing captured", hold.order_id, hold.id)
        return
    provider_id = parse_uuid(data.get("provider_id"))
    if provider_id is None:
        raise Invalid("完成的订单缺少服务商，无法核销代金券", order_id=str(hold.order_id))
    wanted = data.get("voucher_fen")
    wanted = hold.voucher_fen if wanted is None else max(int(wanted), 0)
    amount = min(wanted, hold.voucher_fen)
    if wanted > hold.voucher_fen:
        log.warning("order %s asks to capture %d fen above its hold of %d; capped", hold.order_id, wanted, hold.voucher_fen)
    capture_id = str(uuid.uuid4())
    if amount > 0:
        posting = Posting(capture_transfer(capture_id, _hold_transfer_of(hold), amount, provider_id),
                          elder_id=hold.elder_id, order_id=hold.order_id, provider_id=provider_id,
                          memo=f"服务完成核销 {hold.service_code}")
    elif hold.voucher_fen > 0:  # the voucher pays nothing after all: release the whole hold
        posting = Posting(void_transfer(capture_id, _hold_transfer_of(hold)), elder_id=hold.elder_id,
                          order_id=hold.order_id, memo="服务完成，券支付 0 元，释放预扣")
    else:
        posting = None
    if posting:
        await ledger_store.post(session, postings=[posting], now=now)
    hold.status, hold.captured_fen, hold.provider_id, hold.resolved_at = "captured", amount, provider_id, now
    if amount > 0:
        elder = await session.get(ElderRow, hold.elder_id)
        distance = data.get("checkin_distance_m")
        redemption = RedemptionRow(
            id=uuid.uuid4(), hold_id=hold.id, order_id=hold.order_id, elder_id=hold.elder_id, provider_id=provider_id,
            caregiver_id=parse_uuid(data.get("caregiver_id")), kind=hold.kind, month=hold.month,
            district_code=hold.district_code or data.get("district_code"),
            service_code=str(data.get("service_code") or hold.service_code),
            order_amount_fen=int(data.get("amount_fen") or hold.price_fen), amount_fen=amount,
            duration_min=data.get("duration_min"), checkin_distance_m=None if distance is None else float(distance),
            latitude=elder.lat if elder else None, longitude=elder.lon if elder else None,
            completed_at=parse_instant(data.get("completed_at")) or now, capture_transfer_id=capture_id,
            created_at=now)
        session.add(redemption)
        await spend_summary.add(session, deltas=[spend_summary.redeemed(redemption)])  # with the capture, or not at all
    publish(session, VoucherRedeemed(elder_id=hold.elder_id, order_id=hold.order_id, hold_id=hold.id,
                                     amount_fen=amount, provider_id=provider_id))
    await session.flush()
