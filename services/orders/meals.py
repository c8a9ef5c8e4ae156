"""Meals at the counter (issue 23): the elder's dynamic code, printed cards, the counter's lookup,
taking a meal with its subsidy, undoing it, and the bureau's monthly report.

Codes are stateless (`rules/meal_codes.py`): a dynamic code is signed, lives 60 s and is used
once — its id is stored with the meal under a unique index; a card code is signed with a serial
that is looked up (a new card revokes the old). Policy defaults (code lifetime, clock skew, sync
grace, card meals a day, undo window, serving hours) are versioned data in `meal_policy.json`.

**The subsidy is an HTTP call to vouchers made inside the use case's transaction, before the
local write**, like the voucher hold in placement: `POST /meal-subsidies` keyed by the redemption
id (vouchers captures min(subsidy, wallet) at once; past its daily cap or with an empty wallet the
subsidy is 0, never an error), then the meal row and `meal.redeemed` in the outbox. If the local
write fails after vouchers answered, vouchers is told to reverse (`POST
/meal-subsidies/{id}/reverse`, idempotent) before the error goes out. Undo calls the same reverse
inside its transaction, before marking the meal undone.

Taking a meal is the measured hot path (bench/meals.py, ≥ 300 a second through the gateway): the
meal point from a short cache, then one transaction on `shared.fast_sql` under the
Idempotency-Key: the elder from the copy (filled from assessment outside it on an elder's very
first meal, before the copy's event), a lock on the code id (so fifty counters sending one
code make one vouchers call and one meal), the used-code read, the vouchers call, one insert,
the outbox row.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import (
    meal_report_district,
    meal_scope,
    require_card_issuer,
    require_elder_district,
    require_meal_code_holder,
    require_meal_counter,
)
from services.orders.elders import ensure_elder
from services.orders.events import MealRedeemed, MealUndone, publish, publish_fast
from services.orders.models import MealCardRow, MealRedemptionRow
from services.orders.queries import (
    ELDER_AND_CODE_USED,
    INSERT_MEAL,
    MEAL_CARD,
    STATIC_MEALS_TODAY,
    snapshot,
)
from services.orders.rules.meal_codes import CARD, DYNAMIC, USED_ZH, MealCode, check_scan, sign_code, verify_code
from services.orders.rules.meals import (
    MEALS,
    MealPolicy,
    check_meal_point,
    check_price,
    check_static,
    check_undo,
    derive_redemption_id,
    meal_of,
    policy_from,
    policy_on,
    undo_until,
)
from services.orders.runtime import OrdersRuntime
from services.orders.views import local_iso, meal_answer
from shared.auth import Principal
from shared.city import local_day
from shared.errors import Conflict, NotFound, ServiceUnavailable, invalid_field
from shared.fast_sql import FastTx, Lock
from shared.idempotency import fingerprint, run_idempotent_fast

log = logging.getLogger("youfu.orders.meals")
POLICY_FILE = Path(__file__).with_name("meal_policy.json")


@functools.cache
def meal_policies() -> tuple[MealPolicy, ...]:
    """The versions of the meal policy data, read once per process."""
    return tuple(policy_from(json.loads(POLICY_FILE.read_text(encoding="utf-8"))))


def meal_policy(day: date) -> MealPolicy:
    return policy_on(list(meal_policies()), day)


def _check_active(elder) -> None:
    if elder.status != "active":
        raise Conflict(f"该老人的档案状态为「{elder.status}」，不能用餐", elder_status=elder.status)


async def _active_elder(rt: OrdersRuntime, elder_id: uuid.UUID):
    elder = await ensure_elder(rt, elder_id)
    _check_active(elder)
    return elder


class _ElderNotCopied(Exception):
    """Taking a meal found no copy of the elder in its transaction (the elder's event has not
    arrived yet): the copy is filled from assessment outside it, and the meal tried again."""


# ---- codes ------------------------------------------------------------------------------------


async def issue_meal_code(rt: OrdersRuntime, *, principal: Principal, elder_id: uuid.UUID, now: datetime) -> dict:
    """The elder's dynamic code, valid `code_lifetime_s` from now; nothing is written."""
    require_meal_code_holder(principal, elder_id)
    await _active_elder(rt, elder_id)
    issued = now.replace(microsecond=0)  # the code carries whole seconds
    policy = meal_policy(local_day(now))
    code = sign_code(rt.meal_code_key, kind=DYNAMIC, elder_id=elder_id, nonce=secrets.token_bytes(6), issued_at=issued)
    return {"code": code, "issued_at": local_iso(issued),
            "expires_at": local_iso(issued + timedelta(seconds=policy.code_lifetime_s)),
            "lifetime_s": policy.code_lifetime_s}


async def issue_meal_card(rt: OrdersRuntime, *, principal: Principal, elder_id: uuid.UUID, now: datetime) -> dict:
    """A printed card for an elder without a phone; the elder's earlier cards stop working."""
    require_card_issuer(principal)
    elder = await _active_elder(rt, elder_id)
    require_elder_district(principal, elder)
    nonce = secrets.token_bytes(6)
    card = MealCardRow(id=uuid.uuid4(), serial=nonce.hex(), elder_id=elder_id, issued_at=now,
                       issued_by=principal.user_id)
    async with rt.db.transaction() as s:
        revoked = (await s.execute(sa.update(MealCardRow).where(
            MealCardRow.elder_id == elder_id, MealCardRow.revoked_at.is_(None)).values(revoked_at=now))).rowcount
        s.add(card)
    return {"card_id": str(card.id), "elder_id": str(elder_id), "elder_name": elder.name,
            "code": sign_code(rt.meal_code_key, kind=CARD, elder_id=elder_id, nonce=nonce, issued_at=now),
            "issued_at": local_iso(now), "revoked_cards": revoked}


def _card_refusal(card, code: MealCode) -> Exception | None:
    if card is None or card["elder_id"] != code.elder_id:
        return invalid_field("code", "助餐卡无效", "这张助餐卡无效，请联系社区重新办卡")
    if card["revoked_at"] is not None:
        return Conflict("这张助餐卡已作废（已补办新卡），请使用新卡")
    return None


# ---- the counter ------------------------------------------------------------------------------


async def _counter(rt: OrdersRuntime, principal: Principal, provider_id: uuid.UUID) -> dict:
    """Before anything else at a counter: its own staff (else 404), an approved meal point (else 403)."""
    require_meal_counter(principal, provider_id)
    point = await rt.meal_point(provider_id)
    check_meal_point(point)
    return point


async def look_up(rt: OrdersRuntime, *, principal: Principal, provider_id: uuid.UUID, code_text: str,
                  now: datetime) -> dict:
    """Who the code is (the name in full: the counter hands the meal to that person), whether it is
    a card, the tier vouchers last reported and today's meals; nothing is taken. A used or expired
    code answers as taking the meal would."""
    await _counter(rt, principal, provider_id)
    code = verify_code(rt.meal_code_key, code_text)
    today = local_day(now)
    policy = meal_policy(today)
    check_scan(code, scanned_at=now, now=now, limits=policy.scan_limits)
    elder = await _active_elder(rt, code.elder_id)
    async with rt.db.sessions() as s:
        if code.static:
            card = (await s.execute(sa.select(MealCardRow.elder_id, MealCardRow.revoked_at).where(
                MealCardRow.serial == code.nonce))).mappings().first()
            refusal = _card_refusal(card, code)
            if refusal is not None:
                raise refusal
        elif (await s.execute(sa.select(MealRedemptionRow.id).where(
                MealRedemptionRow.code_id == code.code_id))).first() is not None:
            raise Conflict(USED_ZH)
        meals = list((await s.execute(sa.select(MealRedemptionRow).where(
            MealRedemptionRow.elder_id == code.elder_id, MealRedemptionRow.meal_date == today,
            MealRedemptionRow.undone_at.is_(None)).order_by(MealRedemptionRow.redeemed_at))).scalars())
        tier = (await s.execute(sa.select(MealRedemptionRow.tier).where(
            MealRedemptionRow.elder_id == code.elder_id, MealRedemptionRow.tier.is_not(None))
            .order_by(MealRedemptionRow.redeemed_at.desc()).limit(1))).scalar()
    return {"elder_id": str(code.elder_id), "elder_name": elder.name, "static": code.static,
            "confirm_name_required": code.static, "tier": tier,
            "code_expires_at": None if code.static else local_iso(
                code.issued_at + timedelta(seconds=policy.code_lifetime_s)),
            "today": [{"meal": m.meal, "meal_name": MEALS.get(m.meal, m.meal), "provider_name": m.provider_name,
                       "redeemed_at": local_iso(m.redeemed_at), "static": m.static, "subsidy_fen": m.subsidy_fen}
                      for m in meals],
            "static_left_today": max(0, policy.static_daily_limit - sum(1 for m in meals if m.static))
            if code.static else None}


@dataclass(frozen=True)
class RedeemRequest:
    provider_id: uuid.UUID
    code: str
    meal: str | None  # lunch | dinner; None: by the serving hours at `scanned_at`
    price_fen: int
    scanned_at: datetime  # the counter's clock at the scan (aware)
    method: str  # scanned | typed
    confirm_name: bool = False


def _lock_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


async def reverse_subsidy(rt: OrdersRuntime, redemption_id: uuid.UUID) -> None:
    """Give a captured subsidy back (the compensation of a meal not written). Best effort: a
    failure is logged with what to reverse by hand (the audit's reversal does the same)."""
    try:
        await rt.client("vouchers").post(f"/meal-subsidies/{redemption_id}/reverse",
                                         idempotency_key=f"reverse:{redemption_id}")
    except Exception as exc:  # never turn the error being raised into another one
        log.warning("reversing meal subsidy %s failed (reverse it by hand): %s", redemption_id,
                    getattr(exc, "detail", exc))


async def redeem(rt: OrdersRuntime, *, principal: Principal, request: RedeemRequest, idempotency_key: str | None,
                 scope: str, now: datetime) -> tuple[int, dict, bool]:
    """Take a meal: (201, answer, replayed). See the module doc for the order of work."""
    req = request
    point = await _counter(rt, principal, req.provider_id)
    code = verify_code(rt.meal_code_key, req.code)
    check_price(req.price_fen)
    if req.method not in ("scanned", "typed"):
        raise invalid_field("method", "只能是 scanned 或 typed")
    meal_date = local_day(req.scanned_at)
    policy = meal_policy(meal_date)
    check_scan(code, scanned_at=req.scanned_at, now=now, limits=policy.scan_limits)
    meal = req.meal or meal_of(req.scanned_at, policy)
    if meal not in MEALS:
        raise invalid_field("meal", "只能是午餐（lunch）或晚餐（dinner）")
    if code.static and not req.confirm_name:
        check_static(confirm_name=False, static_today=0, policy=policy)

    body = {"provider_id": str(req.provider_id), "code": req.code, "meal": meal, "price_fen": req.price_fen,
            "scanned_at": req.scanned_at.isoformat(), "method": req.method, "confirm_name": req.confirm_name}
    redemption_id = derive_redemption_id(scope, idempotency_key, fingerprint(body) if idempotency_key else "")
    captured: list[uuid.UUID] = []

    # one concurrent redemption of a code (or card meal of an elder and day) at a time: the losers
    # find the winner's row, not vouchers. The lock goes with BEGIN, and the elder's copy and the
    # used code are read in the key's round trip, after it (shared/fast_sql.py, "Locks taken with BEGIN")
    lock = Lock.advisory(_lock_key(f"card:{code.elder_id}:{meal_date}" if code.static else code.code_id))
    elder_and_code = (ELDER_AND_CODE_USED, {"elder_id": code.elder_id,
                                            "code_id": None if code.static else code.code_id})

    async def work(tx: FastTx, elder_row) -> tuple[int, dict]:
        elder = snapshot(elder_row)
        if elder is None:
            raise _ElderNotCopied
        _check_active(elder)
        card_id = None
        if code.static:  # the daily limit of card meals holds under the lock
            card = await tx.row(MEAL_CARD, serial=code.nonce)
            refusal = _card_refusal(card, code)
            if refusal is not None:
                raise refusal
            card_id = card["id"]
            static_today = (await tx.row(STATIC_MEALS_TODAY, elder_id=code.elder_id, meal_date=meal_date))["n"]
            check_static(confirm_name=req.confirm_name, static_today=static_today, policy=policy)
        elif elder_row["code_used"]:
            raise Conflict(USED_ZH)
        subsidy = await rt.client("vouchers").post("/meal-subsidies", idempotency_key=str(redemption_id), json={
            "redemption_id": str(redemption_id), "elder_id": str(code.elder_id), "provider_id": str(req.provider_id),
            "meal_date": meal_date.isoformat(), "meal": meal, "price_fen": req.price_fen})
        captured.append(redemption_id)
        subsidy_fen, self_fen = int(subsidy["subsidy_fen"]), int(subsidy["self_fen"])
        if subsidy_fen < 0 or self_fen < 0 or subsidy_fen + self_fen != req.price_fen:
            raise ServiceUnavailable("养老服务券服务返回的金额不一致，请稍后再试")
        row = SimpleNamespace(
            id=redemption_id, code_id=None if code.static else code.code_id, card_id=card_id,
            elder_id=code.elder_id, elder_name=elder.name, district_code=point.get("district_code"),
            provider_id=req.provider_id, provider_name=point.get("name"), meal=meal, meal_date=meal_date,
            price_fen=req.price_fen, subsidy_fen=subsidy_fen, self_fen=self_fen, tier=subsidy.get("tier"),
            reason_zh=subsidy.get("reason_zh"), method=req.method, static=code.static, scanned_at=req.scanned_at,
            redeemed_at=now, redeemed_by=principal.user_id, undone_at=None, undone_by=None)
        tx.later(INSERT_MEAL, **vars(row))  # with the event and the key's answer: one round trip
        await publish_fast(tx, MealRedeemed(**_meal_event(row)))
        return 201, meal_answer(row, undo_until=undo_until(now, policy))

    try:
        try:
            return await run_idempotent_fast(rt.db, key=idempotency_key, scope=scope, body=body, work=work,
                                             first=elder_and_code, lock=lock)
        except _ElderNotCopied:
            await _active_elder(rt, code.elder_id)
            return await run_idempotent_fast(rt.db, key=idempotency_key, scope=scope, body=body, work=work,
                                             first=elder_and_code, lock=lock)
    except BaseException:
        if captured:  # vouchers took the subsidy but the meal was not written: give it back
            await reverse_subsidy(rt, captured[-1])
        raise


def _meal_event(row) -> dict:
    return {"redemption_id": row.id, "elder_id": row.elder_id, "provider_id": row.provider_id, "meal": row.meal,
            "meal_date": row.meal_date.isoformat(), "price_fen": row.price_fen, "subsidy_fen": row.subsidy_fen,
            "method": row.method, "static": row.static, "scanned_at": local_iso(row.scanned_at)}


async def undo(rt: OrdersRuntime, *, principal: Principal, provider_id: uuid.UUID, redemption_id: uuid.UUID,
               now: datetime) -> dict:
    """Undo a meal from the counter that took it, within the undo window: vouchers reverses the
    subsidy inside the transaction, then the meal is marked undone and `meal.undone` queued. An
    undone meal undone again answers as it stands (the offline queue may repeat itself)."""
    require_meal_counter(principal, provider_id)
    async with rt.db.transaction() as s:
        row = (await s.execute(sa.select(MealRedemptionRow).where(
            MealRedemptionRow.id == redemption_id, meal_scope(principal, provider_id)).with_for_update())
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("没有找到这份餐，或不是本助餐点核销的", redemption_id=str(redemption_id))
        policy = meal_policy(row.meal_date)
        if row.undone_at is None:
            check_undo(redeemed_at=row.redeemed_at, now=now, policy=policy)
            # if the write below fails the counter's retry reverses again: idempotent at vouchers
            await rt.client("vouchers").post(f"/meal-subsidies/{redemption_id}/reverse",
                                             idempotency_key=f"reverse:{redemption_id}")
            row.undone_at, row.undone_by = now, principal.user_id
            publish(s, MealUndone(**_meal_event(row)))
        return meal_answer(row, undo_until=undo_until(row.redeemed_at, policy))


async def list_counter_meals(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                             day: date) -> list[dict]:
    """A counter's meals of a day, newest first (its screen: receipts, undo)."""
    rows = (await session.execute(sa.select(MealRedemptionRow).where(
        meal_scope(principal, provider_id), MealRedemptionRow.meal_date == day)
        .order_by(MealRedemptionRow.redeemed_at.desc()))).scalars()
    return [meal_answer(r, undo_until=undo_until(r.redeemed_at, meal_policy(r.meal_date))) for r in rows]


# ---- the bureau -------------------------------------------------------------------------------


def _month(value: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{value}-01")
    except ValueError:
        raise invalid_field("month", "格式应为 YYYY-MM") from None
    return first, (first + timedelta(days=32)).replace(day=1)


async def meal_report(session: AsyncSession, *, principal: Principal, month: str,
                      district_code: str | None) -> dict:
    """Meals by point, day and tier in a month (undone ones left out), and each point's claim: the
    subsidies vouchers took for its meals (vouchers' settlements pay them)."""
    district = meal_report_district(principal, district_code)
    first, after = _month(month)
    m = MealRedemptionRow
    where = [m.meal_date >= first, m.meal_date < after, m.undone_at.is_(None)]
    if district:
        where.append(m.district_code == district)
    rows = (await session.execute(
        sa.select(m.provider_id, m.provider_name, m.meal_date, m.tier, sa.func.count().label("meals"),
                  sa.func.sum(m.price_fen).label("price_fen"), sa.func.sum(m.subsidy_fen).label("subsidy_fen"),
                  sa.func.sum(m.self_fen).label("self_fen"),
                  sa.func.sum(sa.case((m.static.is_(True), 1), else_=0)).label("static_meals"),
                  sa.func.sum(sa.case((m.method == "typed", 1), else_=0)).label("typed_meals"))
        .where(*where).group_by(m.provider_id, m.provider_name, m.meal_date, m.tier)
        .order_by(m.provider_name, m.provider_id, m.meal_date, m.tier))).mappings().all()
    by_day = [{"provider_id": str(r["provider_id"]), "provider_name": r["provider_name"],
               "meal_date": r["meal_date"].isoformat(), "tier": r["tier"], "meals": int(r["meals"]),
               "price_fen": int(r["price_fen"]), "subsidy_fen": int(r["subsidy_fen"]), "self_fen": int(r["self_fen"]),
               "static_meals": int(r["static_meals"]), "typed_meals": int(r["typed_meals"])} for r in rows]
    claims: dict[str, dict] = {}
    for r in by_day:
        claim = claims.setdefault(r["provider_id"], {"provider_id": r["provider_id"], "provider_name": r["provider_name"],
                                                     "meals": 0, "subsidy_fen": 0})
        claim["meals"] += r["meals"]
        claim["subsidy_fen"] += r["subsidy_fen"]
    return {"month": month, "district_code": district, "rows": by_day, "claims": list(claims.values()),
            "total_meals": sum(r["meals"] for r in by_day), "total_subsidy_fen": sum(r["subsidy_fen"] for r in by_day)}
