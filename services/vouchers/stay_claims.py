"""Institutional stays and their monthly bed-day claims (the 机构托养券 in life).

The stays are a copy kept from the orders service's `youfu.stay.*.v1` events (`record_stay_event`,
from consumers.py). After a month has ended in Shanghai the claims are drafted from that copy
(`POST /stay-claims/draft`, or the month-end run before it expires the wallets): one per stay,
institution and month, priced by the pure rules (`rules/stay_claims.py`). Drafting holds the
voucher part in the elder's institutional wallet of the month, as an order's hold does, so the
month-end expiry leaves it for the claim. Drafting again changes nothing unless a late stay event
changed a draft's figures: then its hold is voided and placed anew (a new `revision`); a claim
already confirmed is never changed. The institution confirms its claim; the district officer
approves it, which captures the hold to the institution's payable account: a redemption with
service code `institutional_care`, in the spend summary, the month's settlement and the exports.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import month_end
from services.vouchers.access import acting_district, district_readable_by, provider_readable_by, stay_claim_readable_by
from services.vouchers.events import StayClaimApproved, StayClaimDrafted, StayClaimSettled, parse_uuid, publish
from services.vouchers.ledger import spend_summary
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import capture_transfer, hold_transfer, void_transfer, wallet_account
from services.vouchers.ledger.store import Posting
from services.vouchers.models import ElderRow, HoldRow, ProviderFreezeRow, RedemptionRow, StayClaimRow, StayRow, VoucherRow
from services.vouchers.policy import version_in_force
from services.vouchers.rules.calendar import parse_month
from services.vouchers.rules.money import split_payment
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.rules.stay_claims import (
    SERVICE_CODE,
    BedDayClaim,
    BedPeriod,
    Leave,
    Stay,
    StayKind,
    days_of_month,
    elder_claims_for_month,
)
from services.vouchers.views import stay_claim_answer
from shared.auth import Principal
from shared.city import CITY_TZ
from shared.errors import Conflict, Forbidden, NotFound

log = logging.getLogger("youfu.vouchers.stay_claims")
INSTITUTIONAL = VoucherKind.INSTITUTIONAL


# ---- the stay copy ---------------------------------------------------------------------------

def _day(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _bed(data: dict, starts_on: date) -> dict:
    return {"starts_on": starts_on.isoformat(), "provider_id": str(data.get("provider_id")),
            "bed_id": str(data["bed_id"]) if data.get("bed_id") else None,
            "care_level": str(data.get("care_level") or ""), "daily_rate_fen": int(data.get("daily_rate_fen") or 0)}


async def record_stay_event(session: AsyncSession, *, event_type: str, data: dict, now: datetime) -> None:
    """Apply one `youfu.stay.*.v1` event to the copy. Events of one elder arrive in order (keyed
    by elder); each handler is idempotent by itself (a repeated event finds its effect in place)."""
    stay_id, elder_id, on = parse_uuid(data.get("stay_id")), parse_uuid(data.get("elder_id")), _day(data.get("on"))
    if stay_id is None or elder_id is None or on is None:
        log.warning("%s without stay_id, elder_id or on: ignored", event_type)
        return
    row = (await session.execute(sa.select(StayRow).where(StayRow.stay_id == stay_id).with_for_update())).scalar_one_or_none()
    if row is None:  # an admission, or a later event whose admission this copy never saw
        row = StayRow(stay_id=stay_id, elder_id=elder_id, kind=str(StayKind(data.get("kind") or "long_term")),
                      admitted_on=_day(data.get("admitted_on")) or on, beds=[_bed(data, on)], leaves=[],
                      updated_at=now)
        session.add(row)
    verb = event_type.split(".")[2]
    beds, leaves = list(row.beds), list(row.leaves)
    if verb == "admitted":
        row.admitted_on = on
        beds = [b for b in beds if b["starts_on"] > on.isoformat()]
        beds.insert(0, _bed(data, on))
    elif verb == "transferred":
        beds = [b for b in beds if b["starts_on"] != on.isoformat()] + [_bed(data, on)]
    elif verb == "left":
        starts = _day(data.get("from")) or on
        to = _day(data.get("to"))
        leaves = [x for x in leaves if x["starts_on"] != starts.isoformat()]
        leaves.append({"starts_on": starts.isoformat(), "ends_on": to.isoformat() if to else None,
                       "kind": str(data.get("leave_kind") or "home")})
    elif verb == "returned":
        # the day back is a day present: the leave that covers it (or is still open) ends the day before
        back = []
        for leave in leaves:
            if leave["starts_on"] < on.isoformat() and (leave["ends_on"] is None or leave["ends_on"] >= on.isoformat()):
                leave = {**leave, "ends_on": (on - timedelta(days=1)).isoformat()}
            if leave["starts_on"] == on.isoformat() and leave["ends_on"] is None:
                continue  # left and back the same day: no day away
            back.append(leave)
        leaves = back
    elif verb == "ended":
        row.ended_on, row.end_reason = on, str(data.get("reason") or "")[:200] or None
    row.beds = sorted(beds, key=lambda b: b["starts_on"])
    row.leaves = sorted(leaves, key=lambda x: x["starts_on"])
    row.updated_at = now
    await session.flush()


def to_stay(row: StayRow) -> Stay:
    return Stay(
        stay_id=str(row.stay_id), elder_id=str(row.elder_id), kind=StayKind(row.kind), admitted_on=row.admitted_on,
        ended_on=row.ended_on,
        beds=tuple(BedPeriod(date.fromisoformat(b["starts_on"]), b["provider_id"], b["care_level"],
                             int(b["daily_rate_fen"]), b.get("bed_id")) for b in row.beds),
        leaves=tuple(Leave(date.fromisoformat(x["starts_on"]), _day(x.get("ends_on")), x.get("kind") or "home")
                     for x in row.leaves))


async def stays_of_elders(session: AsyncSession, *, elder_ids: Iterable[uuid.UUID]) -> dict[str, list[Stay]]:
    """The stays of these elders, by elder id as text (the audit's home-service rule)."""
    ids = sorted(set(elder_ids))
    found: dict[str, list[Stay]] = defaultdict(list)
    for start in range(0, len(ids), 5_000):
        rows = await session.execute(sa.select(StayRow).where(StayRow.elder_id.in_(ids[start:start + 5_000])))
        for row in rows.scalars():
            found[str(row.elder_id)].append(to_stay(row))
    return found


# ---- drafting --------------------------------------------------------------------------------

async def draft_claims(session: AsyncSession, *, principal: Principal, month: str, district_code: str | None,
                       now: datetime) -> list[dict]:
    """`POST /stay-claims/draft`: officers for their district, city roles for one or all."""
    district = acting_district(principal, district_code)
    month_end.check_month_ended(month, now)
    return [stay_claim_answer(row) for row in await draft_month(session, month=month, district=district, now=now)]


def _figures(claim: BedDayClaim) -> dict:
    return {"first_day": claim.first_day, "last_day": claim.last_day, "present_days": claim.present_days,
            "paid_leave_days": claim.paid_leave_days, "unpaid_leave_days": claim.unpaid_leave_days,
            "amount_fen": claim.amount_fen,
            "lines": [{"status": str(line.status), "care_level": line.care_level, "daily_rate_fen": line.daily_rate_fen,
                       "days": line.days, "amount_fen": line.amount_fen} for line in claim.lines]}


async def draft_month(session: AsyncSession, *, month: str, district: str | None, now: datetime) -> list[StayClaimRow]:
    """Draft (or bring up to date) every claim of `month` for the elders of `district` (None:
    the whole city); answer every claim of the month there, in whatever state."""
    days = days_of_month(month)
    first, last = days[0], days[-1]
    policy = await version_in_force(session, on=last)  # the version in force on the month's last day
    rules, policy_version = policy.stay_claims, policy.version
    stay_rows = list((await session.execute(sa.select(StayRow).where(
        StayRow.admitted_on <= last, sa.or_(StayRow.ended_on.is_(None), StayRow.ended_on > first))
        .order_by(StayRow.elder_id, StayRow.admitted_on))).scalars())
    elder_ids = sorted({row.elder_id for row in stay_rows})
    elders: dict[uuid.UUID, ElderRow] = {}
    vouchers: dict[uuid.UUID, VoucherRow] = {}
    existing: dict[uuid.UUID, dict[tuple, StayClaimRow]] = defaultdict(dict)
    for start in range(0, len(elder_ids), 5_000):
        chunk = elder_ids[start:start + 5_000]
        elders.update((e.elder_id, e) for e in (await session.execute(
            sa.select(ElderRow).where(ElderRow.elder_id.in_(chunk)))).scalars())
        vouchers.update((v.elder_id, v) for v in (await session.execute(sa.select(VoucherRow).where(
            VoucherRow.elder_id.in_(chunk), VoucherRow.kind == str(INSTITUTIONAL), VoucherRow.month == month))).scalars())
        for claim in (await session.execute(sa.select(StayClaimRow).where(
                StayClaimRow.month == month, StayClaimRow.elder_id.in_(chunk))
                .order_by(StayClaimRow.id).with_for_update())).scalars():
            existing[claim.elder_id][(claim.stay_id, claim.provider_id)] = claim
    by_elder: dict[uuid.UUID, list[Stay]] = defaultdict(list)
    for row in stay_rows:
        by_elder[row.elder_id].append(to_stay(row))
    answer: list[StayClaimRow] = []
    for elder_id in elder_ids:
        voucher, elder = vouchers.get(elder_id), elders.get(elder_id)
        district_code = voucher.district_code if voucher else (elder.district_code if elder else None)
        if district and district_code != district:
            continue
        wanted = set()
        for claim in elder_claims_for_month(by_elder[elder_id], month, rules):
            key = (uuid.UUID(claim.stay_id), uuid.UUID(claim.provider_id))
            wanted.add(key)
            row = existing[elder_id].get(key)
            figures = _figures(claim) | {"district_code": district_code,
                                         "share_bp": voucher.share_bp if voucher else 0}
            if row is not None and (row.state != "drafted" or all(
                    getattr(row, name) == value for name, value in figures.items())):
                answer.append(row)
                continue
            if row is None:
                row = StayClaimRow(id=uuid.uuid4(), stay_id=key[0], elder_id=elder_id, provider_id=key[1], month=month,
                                   stay_kind=str(next(s.kind for s in by_elder[elder_id] if s.stay_id == claim.stay_id)),
                                   state="drafted", revision=1, created_at=now)
                session.add(row)
            else:
                await _release_hold(session, row, now=now)
                row.revision += 1
            for name, value in figures.items():
                setattr(row, name, value)
            row.policy_version, row.updated_at = policy_version, now
            row.voucher_fen, row.elder_fen = 0, row.amount_fen  # until the hold says otherwise
            await session.flush()
            await _place_hold(session, row, voucher, now=now)
            publish(session, StayClaimDrafted(
                claim_id=row.id, elder_id=elder_id, stay_id=row.stay_id, provider_id=row.provider_id, month=month,
                revision=row.revision, billed_days=row.present_days + row.paid_leave_days, amount_fen=row.amount_fen,
                voucher_fen=row.voucher_fen, elder_fen=row.elder_fen))
            answer.append(row)
        for key, row in existing[elder_id].items():
            if key not in wanted and row.state == "drafted":  # a late event took its days away
                await _release_hold(session, row, now=now)
                await session.delete(row)
    await session.flush()
    return sorted(answer, key=lambda r: (r.district_code or "", str(r.provider_id), r.first_day, str(r.elder_id)))


async def _place_hold(session: AsyncSession, row: StayClaimRow, voucher: VoucherRow | None, *, now: datetime) -> None:
    """Hold the voucher part: its share of the amount, up to what the month's wallet still has
    (at most the face value). No voucher this month: the elder's part is the whole amount."""
    row.hold_id = None
    if voucher is None:
        row.share_bp, row.voucher_fen, row.elder_fen = 0, 0, row.amount_fen
        return
    wallet = wallet_account(row.elder_id, INSTITUTIONAL, row.month)
    available = (await ledger_store.lock_balances(session, accounts=[wallet]))[wallet].available_fen
    split = split_payment(row.amount_fen, voucher.share_bp, available)
    row.share_bp, row.voucher_fen, row.elder_fen = voucher.share_bp, split.voucher_fen, split.elder_fen
    if split.voucher_fen == 0:
        return
    # A claim has no order: its hold's order id is derived from the claim and its revision (unique).
    hold = HoldRow(id=uuid.uuid4(), order_id=uuid.uuid5(row.id, f"revision-{row.revision}"), elder_id=row.elder_id,
                   voucher_id=voucher.id, kind=str(INSTITUTIONAL), month=row.month, district_code=row.district_code,
                   service_code=SERVICE_CODE, price_fen=row.amount_fen, voucher_fen=split.voucher_fen,
                   elder_fen=split.elder_fen, share_bp=voucher.share_bp, status="held", created_at=now,
                   order_checked_at=now)  # nothing for the orphan-hold check to ask the orders service
    session.add(hold)
    await session.flush()
    await ledger_store.post(session, postings=[Posting(
        hold_transfer(hold.id, wallet, split.voucher_fen), elder_id=row.elder_id, order_id=hold.order_id,
        provider_id=row.provider_id, memo=f"{row.month} 机构托养床日结算预扣")], now=now)
    row.hold_id = hold.id


async def _locked_hold(session: AsyncSession, row: StayClaimRow) -> HoldRow | None:
    if row.hold_id is None:
        return None
    return (await session.execute(sa.select(HoldRow).where(HoldRow.id == row.hold_id).with_for_update())).scalar_one_or_none()


def _hold_transfer_of(hold: HoldRow):
    return hold_transfer(hold.id, wallet_account(hold.elder_id, INSTITUTIONAL, hold.month), hold.voucher_fen)


async def _release_hold(session: AsyncSession, row: StayClaimRow, *, now: datetime) -> None:
    hold = await _locked_hold(session, row)
    if hold is not None and hold.status == "held":
        await ledger_store.post(session, postings=[Posting(
            void_transfer(uuid.uuid4(), _hold_transfer_of(hold)), elder_id=hold.elder_id, order_id=hold.order_id,
            memo="机构托养结算单重新起草，释放原预扣")], now=now)
        hold.status, hold.resolved_at = "released", now
    row.hold_id = None


# ---- reading, confirming, approving ----------------------------------------------------------

async def list_claims(session: AsyncSession, *, principal: Principal, month: str | None, provider_id: uuid.UUID | None,
                      state: str | None) -> list[dict]:
    if principal.role == "provider_admin" and provider_id and str(provider_id) != principal.provider_id:
        raise Forbidden("只能查看本机构的床日结算单")
    query = (sa.select(StayClaimRow)
             .where(stay_claim_readable_by(principal, StayClaimRow))
             .order_by(StayClaimRow.month.desc(), StayClaimRow.provider_id, StayClaimRow.first_day, StayClaimRow.elder_id))
    if month:
        parse_month(month)
        query = query.where(StayClaimRow.month == month)
    if provider_id:
        query = query.where(StayClaimRow.provider_id == provider_id)
    if state:
        query = query.where(StayClaimRow.state == state)
    return [stay_claim_answer(row) for row in (await session.execute(query)).scalars()]


async def _visible_claim(session: AsyncSession, principal: Principal, claim_id: uuid.UUID, *, scope,
                         lock: bool = False) -> StayClaimRow:
    query = sa.select(StayClaimRow).where(StayClaimRow.id == claim_id, scope)
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None:
        raise NotFound("没有这张床日结算单，或不在您的查看范围内")
    return row


async def get_claim(session: AsyncSession, *, principal: Principal, claim_id: uuid.UUID) -> dict:
    scope = stay_claim_readable_by(principal, StayClaimRow)
    return stay_claim_answer(await _visible_claim(session, principal, claim_id, scope=scope))


async def confirm_claim(session: AsyncSession, *, principal: Principal, claim_id: uuid.UUID, now: datetime) -> dict:
    """The institution's provider_admin confirms its own drafted claim (again: the same answer)."""
    if principal.role != "provider_admin":
        raise Forbidden("床日结算单由入住机构的管理员确认")
    scope = provider_readable_by(principal, StayClaimRow.provider_id, StayClaimRow.district_code)
    row = await _visible_claim(session, principal, claim_id, scope=scope, lock=True)
    if row.state == "drafted":
        row.state, row.confirmed_by, row.confirmed_at, row.updated_at = "confirmed", principal.user_id, now, now
        await session.flush()
    elif row.state != "confirmed":
        raise Conflict("该床日结算单已审核结算，不能再确认", current_state=row.state)
    return stay_claim_answer(row)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=CITY_TZ)


async def approve_claim(session: AsyncSession, *, principal: Principal, claim_id: uuid.UUID, now: datetime) -> dict:
    """The district officer (or the city) approves a confirmed claim, and it settles at once: the
    hold is captured to the institution's payable account and the month's statement updated."""
    acting_district(principal)
    row = await _visible_claim(session, principal, claim_id,
                               scope=district_readable_by(principal, StayClaimRow.district_code), lock=True)
    if row.state == "drafted":
        raise Conflict("机构尚未确认该床日结算单，确认后才能审核", current_state=row.state)
    if row.state != "confirmed":
        raise Conflict("该床日结算单已审核结算", current_state=row.state)
    if await session.get(ProviderFreezeRow, row.provider_id) is not None:
        raise Conflict("该机构的结算已被稽核冻结，解除冻结前不能审核", provider_id=str(row.provider_id))
    row.approved_by, row.approved_at = principal.user_id, now
    publish(session, StayClaimApproved(claim_id=row.id, elder_id=row.elder_id, provider_id=row.provider_id,
                                       month=row.month, approved_by=principal.user_id))
    hold = await _locked_hold(session, row)
    captured = 0
    if hold is not None and hold.status == "held":
        capture_id = str(uuid.uuid4())
        await ledger_store.post(session, postings=[Posting(
            capture_transfer(capture_id, _hold_transfer_of(hold), hold.voucher_fen, row.provider_id),
            elder_id=row.elder_id, order_id=hold.order_id, provider_id=row.provider_id,
            memo=f"{row.month} 机构托养床日结算")], now=now)
        hold.status, hold.captured_fen, hold.provider_id, hold.resolved_at = "captured", hold.voucher_fen, row.provider_id, now
        captured = hold.voucher_fen
        redemption = RedemptionRow(
            id=uuid.uuid4(), hold_id=hold.id, order_id=row.id, elder_id=row.elder_id, provider_id=row.provider_id,
            caregiver_id=None, kind=str(INSTITUTIONAL), month=row.month, district_code=row.district_code,
            service_code=SERVICE_CODE, order_amount_fen=row.amount_fen, amount_fen=captured, duration_min=None,
            checkin_distance_m=None, latitude=None, longitude=None,
            completed_at=_end_of_day(row.last_day),  # the last billed day: never after a death or discharge
            capture_transfer_id=capture_id, created_at=now)
        session.add(redemption)
        await spend_summary.add(session, deltas=[spend_summary.redeemed(redemption)])
        row.capture_transfer_id = capture_id
    row.voucher_fen, row.elder_fen = captured, row.amount_fen - captured
    row.state, row.settled_at, row.updated_at = "settled", now, now
    publish(session, StayClaimSettled(claim_id=row.id, elder_id=row.elder_id, provider_id=row.provider_id,
                                      month=row.month, amount_fen=row.amount_fen, voucher_fen=captured,
                                      elder_fen=row.amount_fen - captured))
    await session.flush()
    await month_end.settle_month(session, month=row.month, district=row.district_code, now=now)
    return stay_claim_answer(row)
