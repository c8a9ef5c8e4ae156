"""Who gets vouchers: this service's copy of the elders (from assessment events) and issuing.

A voucher is issued once per elder, kind and month (the unique key on `vouchers`), under the
policy in force on the day of issue: by the monthly run on the 1st, at once when an event makes
an elder newly eligible mid-month, or by a run an officer starts. A grade or status change
mid-month changes next month's vouchers; this month's voucher of a kind already issued stays.
Issuing stops by itself the month after eligibility ends, since a run only issues to elders
entitled at the time of the run.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.events import VoucherIssued, parse_instant, parse_uuid, publish
from services.vouchers.issuance.rules import IssueTally
from services.vouchers.ledger import store as ledger_store
from services.vouchers.ledger.rules import issue_transfer
from services.vouchers.ledger.store import Posting
from services.vouchers.models import ElderRow, VoucherRow
from services.vouchers.policy import version_in_force
from services.vouchers.rules.calendar import local_date, month_of
from services.vouchers.rules.policy import EligibilityFacts, Entitlement, PolicyVersion, entitlements

log = logging.getLogger("youfu.vouchers.eligibility")

ELDER_FIELDS = ("district_code", "street", "economic_status", "living_situation", "special_hardship", "status", "lat", "lon")


def facts_of(elder: ElderRow) -> EligibilityFacts | None:
    """None while the copy lacks what the policy needs (registration not seen yet)."""
    if elder.economic_status is None or elder.living_situation is None:
        return None
    return EligibilityFacts(economic_status=elder.economic_status, grade=elder.grade,
                            living_situation=elder.living_situation, special_hardship=elder.special_hardship,
                            status=elder.status)


async def _elder_for_update(session: AsyncSession, elder_id: uuid.UUID, now: datetime) -> ElderRow:
    elder = (await session.execute(sa.select(ElderRow).where(ElderRow.elder_id == elder_id)
                                   .with_for_update())).scalar_one_or_none()
    if elder is None:
        elder = ElderRow(elder_id=elder_id, special_hardship=False, status="active", updated_at=now)
        session.add(elder)
    return elder


def _status_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        log.warning("elder event with an unreadable status_date %r; the day it arrived is used", value)
        return None


async def record_elder(session: AsyncSession, *, data: dict, now: datetime) -> ElderRow:
    """Apply `youfu.elder.registered/updated.v1`. A null grade keeps the grade an assessment set:
    the elder record may be published before the assessment service knows the grade."""
    elder = await _elder_for_update(session, uuid.UUID(str(data["elder_id"])), now)
    was_active = elder.status == "active"
    for name in ELDER_FIELDS:
        if name in data and (data[name] is not None or name in ("street", "lat", "lon")):
            setattr(elder, name, data[name])
    if data.get("grade") is not None:
        elder.grade = int(data["grade"])
    if data.get("birth_date"):  # the meal subsidy's age tier (meal_subsidies.py); absent: kept as it is
        try:
            elder.birth_date = date.fromisoformat(str(data["birth_date"])[:10])
        except ValueError:
            log.warning("elder event with an unreadable birth_date %r; ignored", data["birth_date"])
    real_date = _status_date(data.get("status_date"))
    if elder.status != "active" and real_date is not None:
        elder.departed_on = real_date  # the real date of death or move, for the audit and recovery
    elif was_active and elder.status != "active":
        elder.departed_on = local_date(now)  # no date sent: the day the change arrived, the best known
    elif elder.status == "active":
        elder.departed_on = None
    elder.updated_at = now
    await session.flush()
    return elder


async def record_assessment(session: AsyncSession, *, data: dict, now: datetime) -> ElderRow:
    """Apply `youfu.assessment.completed.v1`; an assessment older than the one already applied
    (a replay) does not roll the grade back."""
    elder = await _elder_for_update(session, uuid.UUID(str(data["elder_id"])), now)
    finalised = parse_instant(data.get("finalised_at")) or now
    if elder.graded_at is None or finalised >= elder.graded_at:
        elder.grade = int(data["grade"])
        elder.assessment_id = parse_uuid(data.get("assessment_id"))
        elder.graded_at = finalised
        if data.get("special_hardship") is not None:
            elder.special_hardship = bool(data["special_hardship"])
    elder.updated_at = now
    await session.flush()
    return elder


async def issue_to_elders(session: AsyncSession, *, elders: list[ElderRow], month: str, policy: PolicyVersion,
                          now: datetime, run_id: uuid.UUID | None, tally: IssueTally | None = None) -> IssueTally:
    """Issue `month`'s missing vouchers to `elders` under `policy`: voucher rows, ISSUE transfers
    (funding → wallet) and `voucher.issued` events, all in the caller's transaction."""
    tally = tally or IssueTally()
    owed: list[tuple[ElderRow, Entitlement]] = []
    for elder in elders:
        facts = facts_of(elder)
        if facts is not None:
            owed.extend((elder, e) for e in entitlements(policy, facts))
    if not owed:
        return tally
    existing = {
        (row.elder_id, row.kind): row.face_value_fen
        for row in (await session.execute(sa.select(VoucherRow).where(
            VoucherRow.month == month, VoucherRow.elder_id.in_({e.elder_id for e, _ in owed})))).scalars()
    }
    postings: list[Posting] = []
    for elder, entitled in owed:
        kind = str(entitled.kind)
        if (elder.elder_id, kind) in existing:
            tally.add(elder.district_code, kind, existing[(elder.elder_id, kind)], already=True)
            continue
        voucher_id, transfer_id = uuid.uuid4(), str(uuid.uuid4())
        session.add(VoucherRow(id=voucher_id, elder_id=elder.elder_id, kind=kind, month=month,
                               face_value_fen=entitled.face_value_fen, share_bp=entitled.share_bp,
                               district_code=elder.district_code, policy_version=policy.version,
                               issue_transfer_id=transfer_id, run_id=run_id, issued_at=now))
        postings.append(Posting(issue_transfer(transfer_id, elder.elder_id, entitled.kind, month, entitled.face_value_fen),
                                elder_id=elder.elder_id, memo=f"{entitled.kind.zh_name} {month} 发放"))
        publish(session, VoucherIssued(elder_id=elder.elder_id, voucher_id=voucher_id, kind=kind, month=month,
                                       face_value_fen=entitled.face_value_fen, district_code=elder.district_code))
        tally.add(elder.district_code, kind, entitled.face_value_fen, already=False)
    await session.flush()  # the voucher rows' unique key decides a race before the ledger moves
    await ledger_store.post(session, postings=postings, now=now)
    return tally


async def issue_current_month(session: AsyncSession, *, elder: ElderRow, now: datetime) -> IssueTally:
    """After an eligibility event: this month's vouchers the elder is owed and lacks, at once."""
    policy = await version_in_force(session, on=local_date(now))
    tally = await issue_to_elders(session, elders=[elder], month=month_of(now), policy=policy, now=now, run_id=None)
    if tally.total("issued_count"):
        log.info("issued %d voucher(s) to %s mid-month", tally.total("issued_count"), elder.elder_id)
    return tally
