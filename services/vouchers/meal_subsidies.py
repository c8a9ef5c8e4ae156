"""Meals at a meal point's counter, the money side: the orders service asks, inside its counter
use case, what the voucher pays for one meal (`POST /meal-subsidies`), and this service takes it
from the elder's 社区照护券 of the meal's month there and then.

One transaction per meal, on `shared/fast_sql.py` (the lunch peak's hot path, bench/meals.py): the
wallet and the point's payable locked with BEGIN, one statement for everything the meal needs to
know (the balances and the day's count among it), then the writes in one: four round trips with
BEGIN and COMMIT. The subsidy by the pure rules (`rules/meal_subsidies.py`, the policy
version's `meals` section), a hold and its capture booked together straight to the meal point's
payable account (no order waits between them), a redemption with service code `meal` (so the
meal is in the spend summary, the settlements and the exports like any captured service), and
the meal's own row, which makes the call idempotent per redemption id. A meal the voucher cannot
pay (past the day's cap, an empty wallet, no voucher) is a 0-subsidy answer, never an error.
Undo (`POST /meal-subsidies/{id}/reverse`) books a reversal of the capture, as the auditor's
reversal does. The meal anomaly rules run with the month's other findings (audit.py).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import acting_district
from services.vouchers.ledger import spend_summary
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import (
    Transfer,
    TransferKind,
    capture_transfer,
    funding_account,
    hold_transfer,
    payable_account,
    wallet_account,
)
from services.vouchers.ledger.store import Posting
from services.vouchers.models import ElderRow, MealPointCapacityRow, MealSubsidyRow, RedemptionRow, VoucherRow
from services.vouchers.month_end import reversed_by_capture
from services.vouchers.policy import VERSION_NUMBER_ON, version_numbered, version_on
from services.vouchers.rules.audit import Finding
from services.vouchers.rules.calendar import month_of, month_of_date, parse_month
from services.vouchers.rules.meal_subsidies import SERVICE_CODE, meal_subsidy, receipt_zh, run_meal_rules
from services.vouchers.rules.policy import VoucherKind
from shared.auth import Principal, require_role
from shared.city import CITY_TZ, local_day
from shared.errors import Conflict
from shared.fast_sql import FastTx, Lock, Query, insert_query

COMMUNITY = VoucherKind.COMMUNITY


_MEALS, _ELDERS, _VOUCHERS = MealSubsidyRow.__table__, ElderRow.__table__, VoucherRow.__table__
_p = sa.bindparam


def _voucher_of_month():
    return (_VOUCHERS.c.elder_id == _p("elder_id")) & (_VOUCHERS.c.kind == str(COMMUNITY)) & (
        _VOUCHERS.c.month == _p("month"))


# What one meal needs, in one statement under the wallet's and the point's locks (taken with
# BEGIN, so this snapshot sees the last meal that held them): was it asked before (a replay), the
# elder's copy (a row that may not exist yet), the month's community voucher, the policy version,
# the two balances and the elder's subsidised meals that day.
_ONE = sa.select(sa.literal(1).label("one")).subquery("one")
_WALLET, _ON_WALLET, _WALLET_COLUMNS = ledger_store.owned_balance_columns("wallet", "wallet_code")
_PAYABLE, _ON_PAYABLE, _PAYABLE_COLUMNS = ledger_store.owned_balance_columns("payable", "payable_code")
_SUBSIDISED_TODAY = sa.select(sa.func.count()).select_from(_MEALS).where(
    _MEALS.c.elder_id == _p("elder_id"), _MEALS.c.meal_date == _p("meal_date"), _MEALS.c.status == "granted",
    _MEALS.c.subsidy_fen > 0)
MEAL_FACTS = Query(sa.select(
    sa.exists().where(_MEALS.c.redemption_id == _p("redemption_id")).label("replayed"),
    (_ELDERS.c.elder_id.is_not(None)).label("known"), _ELDERS.c.economic_status, _ELDERS.c.birth_date,
    _ELDERS.c.status, _ELDERS.c.district_code.label("elder_district"),
    sa.exists().where(_voucher_of_month()).label("has_voucher"),
    sa.select(_VOUCHERS.c.district_code).where(_voucher_of_month()).scalar_subquery().label("voucher_district"),
    VERSION_NUMBER_ON.scalar_subquery().label("policy_version"),
    _SUBSIDISED_TODAY.scalar_subquery().label("subsidised_today"), *_WALLET_COLUMNS, *_PAYABLE_COLUMNS,
).select_from(_ONE.outerjoin(_ELDERS, _ELDERS.c.elder_id == _p("elder_id"))
              .outerjoin(_WALLET, _ON_WALLET).outerjoin(_PAYABLE, _ON_PAYABLE)))
MEAL_ROW = Query(sa.select(_MEALS).where(_MEALS.c.redemption_id == _p("redemption_id")))
SUBSIDISED_TODAY = Query(_SUBSIDISED_TODAY.with_only_columns(sa.func.count().label("n")))
INSERT_MEAL = insert_query(_MEALS)
INSERT_REDEMPTION = insert_query(RedemptionRow.__table__)


def _answer(row) -> dict:
    """The answer from a stored meal (a mapping of the table's columns)."""
    return {"redemption_id": str(row["redemption_id"]), "status": row["status"], "subsidy_fen": row["subsidy_fen"],
            "self_fen": row["price_fen"] - row["subsidy_fen"], "tier": row["tier"], "tier_name": row["tier_name"],
            "reason_zh": row["reason_zh"], "receipt_zh": receipt_zh(row["subsidy_fen"], row["price_fen"] - row["subsidy_fen"]),
            "month": row["month"]}


def _columns(row: MealSubsidyRow) -> dict:
    return {c.key: getattr(row, c.key) for c in _MEALS.columns}


def subsidy_lock(*, elder_id: uuid.UUID, provider_id: uuid.UUID, meal_date: date) -> Lock:
    """What `grant_subsidy`'s transaction locks with BEGIN: the elder's wallet of the meal's month
    and the point's payable, in the book's order. An elder's meals at two counters queue there,
    so the day's count of subsidised meals read after it is exact."""
    return ledger_store.owned_lock([wallet_account(elder_id, COMMUNITY, month_of_date(meal_date)),
                                    payable_account(provider_id)])


async def grant_subsidy(tx: FastTx, *, principal: Principal, redemption_id: uuid.UUID, elder_id: uuid.UUID,
                        provider_id: uuid.UUID, meal_date: date, meal: str, price_fen: int, method: str,
                        served_at: datetime | None, now: datetime) -> dict:
    """`POST /meal-subsidies` (the orders service), on `shared/fast_sql.py`: the lunch peak's
    hot path. The same redemption id again answers what was decided the first time; the same id
    with another meal is 409."""
    require_role(principal, "service")
    month = month_of_date(meal_date)
    wallet, payable = wallet_account(elder_id, COMMUNITY, month), payable_account(provider_id)
    facts = await tx.row(MEAL_FACTS, redemption_id=redemption_id, elder_id=elder_id, month=month, policy_on=meal_date,
                         meal_date=meal_date, wallet_code=wallet.code, payable_code=payable.code)
    if facts["replayed"]:
        existing = await tx.row(MEAL_ROW, redemption_id=redemption_id)
        if existing["status"] == "granted" and (existing["elder_id"], existing["provider_id"], existing["meal_date"],
                                                existing["meal"], existing["price_fen"]) != (
                elder_id, provider_id, meal_date, meal, price_fen):
            raise Conflict("该用餐核销编号已用于另一餐", redemption_id=str(redemption_id))
        return _answer(existing)
    if served_at is not None and served_at.tzinfo is None:
        served_at = served_at.replace(tzinfo=CITY_TZ)  # a counter's clock without a zone is the city's
    served_at = min(served_at or now, now)
    policy = await version_numbered(tx, number=facts["policy_version"], on=meal_date)
    has_voucher = bool(facts["has_voucher"])
    subsidised_today = facts["subsidised_today"]
    before = {}
    if has_voucher:
        before = ledger_store.owned_balances(facts, {"wallet": wallet, "payable": payable})
        if before is None:  # a point's first meal: its payable's row is made and locked, and the day counted again
            before = await ledger_store.lock_owned(tx, accounts=[wallet, payable])
            subsidised_today = (await tx.row(SUBSIDISED_TODAY, elder_id=elder_id, meal_date=meal_date))["n"]
    known = bool(facts["known"])
    decision = meal_subsidy(
        policy.meals, economic_status=facts["economic_status"], birth_date=facts["birth_date"], meal_date=meal_date,
        price_fen=price_fen, subsidised_today=subsidised_today, has_wallet=has_voucher,
        available_fen=before[wallet].available_fen if has_voucher else 0,
        active=not known or facts["status"] == "active")
    district = facts["voucher_district"] or facts["elder_district"]
    row = {"redemption_id": redemption_id, "elder_id": elder_id, "provider_id": provider_id, "meal_date": meal_date,
           "meal": meal, "method": method, "price_fen": price_fen, "subsidy_fen": decision.subsidy_fen,
           "tier": decision.tier, "tier_name": decision.tier_name_zh[:40], "reason_zh": decision.reason_zh[:200],
           "month": month, "district_code": district, "policy_version": policy.version, "voucher_redemption_id": None,
           "status": "granted", "served_at": served_at, "reversed_at": None}
    if decision.subsidy_fen > 0:
        hold = Posting(hold_transfer(uuid.uuid4(), wallet, decision.subsidy_fen), elder_id=elder_id,
                       order_id=redemption_id, provider_id=provider_id, memo="助餐补贴")
        capture = Posting(capture_transfer(uuid.uuid4(), hold.transfer, decision.subsidy_fen, provider_id),
                          elder_id=elder_id, order_id=redemption_id, provider_id=provider_id,
                          memo=f"助餐补贴 {meal_date.isoformat()} {meal}")
        await ledger_store.post_hold_and_capture(tx, hold=hold, capture=capture, before=before, now=now)
        redemption = RedemptionRow(
            id=uuid.uuid4(), hold_id=uuid.UUID(hold.transfer.id), order_id=redemption_id, elder_id=elder_id,
            provider_id=provider_id, caregiver_id=None, kind=str(COMMUNITY), month=month, district_code=district,
            service_code=SERVICE_CODE, order_amount_fen=price_fen, amount_fen=decision.subsidy_fen, duration_min=None,
            checkin_distance_m=None, latitude=None, longitude=None, completed_at=served_at,
            capture_transfer_id=capture.transfer.id, created_at=now)
        tx.later(INSERT_REDEMPTION, **{c.key: getattr(redemption, c.key) for c in RedemptionRow.__table__.columns})
        row["voucher_redemption_id"] = redemption.id
        spend_summary.add_one_later(tx, delta=spend_summary.redeemed(redemption))
    # the meal's writes go together at the commit, one round trip (shared/fast_sql.py, deferred
    # writes): a twin of this redemption id fails there on the meal's unique key, and the route
    # reads the twin's answer
    tx.later(INSERT_MEAL, **row)
    return _answer(row)


async def reverse_subsidy(session: AsyncSession, *, principal: Principal, redemption_id: uuid.UUID,
                          now: datetime) -> dict:
    """`POST /meal-subsidies/{id}/reverse` (the orders service: an undo at the counter, or its
    own write failed after the subsidy). Again: the same answer. A reversal before its meal
    (the meal's call still in flight) is recorded, so the meal arriving later pays nothing."""
    require_role(principal, "service")
    row = (await session.execute(sa.select(MealSubsidyRow).where(MealSubsidyRow.redemption_id == redemption_id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        row = MealSubsidyRow(redemption_id=redemption_id, price_fen=0, subsidy_fen=0, tier="none", tier_name="无补贴",
                             reason_zh="撤销先于用餐到达，本餐不予补贴", status="reversed", served_at=now, reversed_at=now)
        session.add(row)
        await session.flush()
        return _answer(_columns(row))
    if row.status == "reversed":
        return _answer(_columns(row))
    if row.voucher_redemption_id is not None:
        redemption = await session.get(RedemptionRow, row.voucher_redemption_id)
        already = await reversed_by_capture(session, capture_ids=[redemption.capture_transfer_id])
        if not already:  # an auditor may have reversed it first
            back_to = (wallet_account(redemption.elder_id, COMMUNITY, redemption.month)
                       if redemption.month == month_of(now) else funding_account(COMMUNITY))
            transfer = Transfer(str(uuid.uuid4()), payable_account(redemption.provider_id), back_to,
                                redemption.amount_fen, TransferKind.REVERSE)
            await ledger_store.post(session, postings=[Posting(
                transfer, elder_id=redemption.elder_id, order_id=redemption_id, provider_id=redemption.provider_id,
                reverses_id=redemption.capture_transfer_id, memo="助餐撤销，补贴退回")], now=now)
            await spend_summary.add(session, deltas=[spend_summary.reversed_(redemption, redemption.amount_fen)])
    row.status, row.reversed_at = "reversed", now
    await session.flush()
    return _answer(_columns(row))


async def set_capacity(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, meals_per_day: int,
                       now: datetime) -> dict:
    """`PUT /meal-points/{id}/capacity`: an officer records a point's declared meals a day."""
    acting_district(principal)
    row = (await session.execute(sa.select(MealPointCapacityRow).where(MealPointCapacityRow.provider_id == provider_id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        row = MealPointCapacityRow(provider_id=provider_id)
        session.add(row)
    row.meals_per_day, row.set_by, row.updated_at = meals_per_day, principal.user_id, now
    await session.flush()
    return {"provider_id": str(provider_id), "meals_per_day": row.meals_per_day, "set_by": row.set_by,
            "updated_at": row.updated_at}


def _last_day(month: str) -> date:
    year, number = parse_month(month)
    following = date(year + number // 12, number % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


async def meal_findings(session: AsyncSession, *, month: str, now: datetime) -> list[Finding]:
    """The meal rules over the month's meals at the counters (self-paid ones too). Each record's
    `id` is its voucher redemption's (None when self-paid), which is what an auditor reverses."""
    meals = list((await session.execute(sa.select(MealSubsidyRow).where(
        MealSubsidyRow.month == month, MealSubsidyRow.status == "granted")
        .order_by(MealSubsidyRow.served_at))).scalars())
    if not meals:
        return []
    policy = await version_on(session, on=min(_last_day(month), local_day(now)))
    capacity = {str(p): n for p, n in (await session.execute(
        sa.select(MealPointCapacityRow.provider_id, MealPointCapacityRow.meals_per_day))).all()}
    records = [{"id": str(m.voucher_redemption_id) if m.voucher_redemption_id else None, "meal_id": str(m.redemption_id),
                "elder_id": str(m.elder_id), "provider_id": str(m.provider_id), "meal_date": m.meal_date,
                "served_at": m.served_at, "method": m.method, "amount_fen": m.subsidy_fen,
                "district_code": m.district_code} for m in meals]
    return run_meal_rules(records, policy.meals, month=month, capacity_by_provider=capacity)
