"""Monthly issuance runs: started by an officer or city officer, or by the scheduler on the 1st."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import acting_district, district_readable_by
from services.vouchers.issuance import bulk
from services.vouchers.issuance.eligibility import issue_to_elders
from services.vouchers.issuance.rules import IssueTally, check_runnable_month
from services.vouchers.models import ElderRow, IssuanceRunRow
from services.vouchers.policy import version_in_force
from services.vouchers.rules.calendar import local_date, month_of
from services.vouchers.rules.policy import PolicyVersion, VoucherKind
from services.vouchers.views import district_name, issuance_run
from shared.auth import Principal
from shared.db import Database

log = logging.getLogger("youfu.vouchers.issuance")
BATCH = 500  # elders per ledger posting: bounds statement sizes, not the transaction


def _report(tally: IssueTally) -> dict:
    rows = [{"district_code": district, "district_name": district_name(district), "kind": kind,
             "kind_name": VoucherKind(kind).zh_name, **counts}
            for (district, kind), counts in sorted(tally.rows.items())]
    return {"issued_count": tally.total("issued_count"), "issued_fen": tally.total("issued_fen"),
            "already_count": tally.total("already_count"), "already_fen": tally.total("already_fen"),
            "by_district_kind": rows}


async def issue_in_batches(session: AsyncSession, *, month: str, district: str | None, policy: PolicyVersion,
                           now: datetime, run_id: uuid.UUID, elder_ids: list[uuid.UUID] | None = None) -> IssueTally:
    """The run through the ORM, `BATCH` elders per ledger posting: SQLite's path (and, on
    PostgreSQL, the baseline `bench/vouchers_batch.py` measures the set-based run against).
    `elder_ids` limits it to those elders (the benchmark's sample)."""
    query = (sa.select(ElderRow).where(ElderRow.status == "active", ElderRow.grade.is_not(None),
                                       ElderRow.economic_status.is_not(None)).order_by(ElderRow.elder_id))
    if district:
        query = query.where(ElderRow.district_code == district)
    if elder_ids is not None:
        query = query.where(ElderRow.elder_id.in_(elder_ids))
    elders = list((await session.execute(query)).scalars())
    tally = IssueTally()
    for start in range(0, len(elders), BATCH):
        await issue_to_elders(session, elders=elders[start:start + BATCH], month=month, policy=policy, now=now,
                              run_id=run_id, tally=tally)
    return tally


async def _run_once(session: AsyncSession, *, month: str, district: str | None, trigger: str, requested_by: str,
                    now: datetime) -> IssuanceRunRow:
    """PostgreSQL: set-based, in chunks (`bulk.py`); SQLite: through the ORM in batches."""
    policy = await version_in_force(session, on=local_date(now))
    run_id = uuid.uuid4()
    if session.bind.dialect.name == "postgresql":
        tally = await bulk.issue_month(session, month=month, district=district, policy=policy, now=now,
                                                run_id=run_id)
    else:
        tally = await issue_in_batches(session, month=month, district=district, policy=policy, now=now,
                                       run_id=run_id)
    report = _report(tally) | {"policy_version": policy.version}
    run = IssuanceRunRow(id=run_id, month=month, district_code=district, trigger=trigger,
                         scheduled_month=month if trigger == "scheduled" else None, requested_by=requested_by,
                         issued_count=report["issued_count"], issued_fen=report["issued_fen"], report=report,
                         started_at=now)
    session.add(run)
    await session.flush()
    return run


async def run_issuance(db: Database, *, principal: Principal, month: str, district_code: str | None = None,
                       now: datetime) -> dict:
    """`POST /issuance-runs`: one transaction. An officer's run covers their district only. A
    concurrent mid-month issuance to the same elder: on PostgreSQL the run's insert waits for it
    and skips that voucher (ON CONFLICT DO NOTHING); on SQLite writers are serialised, and should
    the ORM path's insert collide on the vouchers' unique key, the run starts over and finds that
    voucher already issued."""
    district = acting_district(principal, district_code)
    check_runnable_month(month, now)
    for attempt in range(3):
        try:
            async with db.transaction() as session:
                run = await _run_once(session, month=month, district=district, trigger="manual",
                                      requested_by=principal.user_id, now=now)
            return issuance_run(run)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def ensure_scheduled_run(db: Database, *, now: datetime) -> dict | None:
    """The scheduler's step, every minute: if this month's city-wide scheduled run is missing,
    do it (on the 1st, or at the first start after it). Returns the report when it ran."""
    month = month_of(now)
    async with db.sessions() as session:
        done = (await session.execute(sa.select(IssuanceRunRow.id).where(
            IssuanceRunRow.scheduled_month == month))).first()
    if done:
        return None
    try:
        async with db.transaction() as session:
            run = await _run_once(session, month=month, district=None, trigger="scheduled",
                                  requested_by="scheduler", now=now)
    except IntegrityError:
        return None  # another replica's scheduler ran it, or a mid-month issue raced: next minute
    log.info("scheduled issuance for %s: %d vouchers", month, run.issued_count)
    return issuance_run(run)


async def list_runs(session: AsyncSession, *, principal: Principal, month: str | None) -> list[dict]:
    district = acting_district(principal)  # civil-affairs roles only; officers: their district
    query = sa.select(IssuanceRunRow).order_by(IssuanceRunRow.started_at.desc()).limit(200)
    # an officer sees their district's runs and the city-wide ones (which covered them too)
    visible = sa.or_(IssuanceRunRow.district_code.is_(None), district_readable_by(principal, IssuanceRunRow.district_code))
    query = query.where(visible)
    if month:
        query = query.where(IssuanceRunRow.month == month)
    return [issuance_run(run, only_district=district) for run in (await session.execute(query)).scalars()]
