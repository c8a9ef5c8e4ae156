"""The vouchers service's batch paths at the database level: the set-based monthly run
(PostgreSQL) against the ORM path it replaces, and the spend summary against the raw rows it
is derived from (kept with each capture and reversal, rebuilt by migration 0003)."""
from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.vouchers import audit, spending
from services.vouchers.events import VoucherIssued
from services.vouchers.issuance import bulk, eligibility, runs
from services.vouchers.ledger import spend_summary
from services.vouchers.ledger import store as ledger_store
from services.vouchers.models import (
    AnomalyFindingRow,
    ElderRow,
    LedgerAccountRow,
    RedemptionRow,
    SpendSummaryRow,
    TransferRow,
    VoucherRow,
)
from services.vouchers.policy import ensure_default_policy, version_in_force
from services.vouchers.rules.policy import EconomicStatus, LivingSituation
from shared.auth import Principal
from shared.city import CITY_TZ
from shared.db import Database
from shared.events import CloudEvent
from shared.fast_sql import fast_transaction
from shared.kernel_models import OutboxRow
from shared.migrations import upgrade
from shared.observability import request_id_var

SH = CITY_TZ
MAY_1 = datetime(2026, 5, 1, 8, 0, tzinfo=SH)
MAY = "2026-05"
DISTRICTS = ["321202", "321203", "321204", "321281", "321282", "321283", None]
SERVICE = Principal(user_id="svc:orders", role="service")
CITY = Principal(user_id="city", role="city_officer")


def synthetic_elders() -> list[ElderRow]:
    """Every combination of the facts the policy reads (and some it must ignore: no grade, an
    unknown district, not active), with ids in random order."""
    rows = []
    combos = itertools.product(EconomicStatus, [None, 0, 1, 2, 3, 4], LivingSituation, (False, True))
    for i, (status, grade, living, hardship) in enumerate(combos):
        rows.append(ElderRow(elder_id=uuid.uuid4(), district_code=DISTRICTS[i % len(DISTRICTS)],
                             economic_status=str(status), living_situation=str(living), special_hardship=hardship,
                             status="active", grade=grade, updated_at=MAY_1))
    for status in ("deceased", "moved_away"):
        rows.append(ElderRow(elder_id=uuid.uuid4(), district_code="321202", economic_status="tekun",
                             living_situation="alone", special_hardship=True, status=status, grade=4, updated_at=MAY_1))
    rows.append(ElderRow(elder_id=uuid.uuid4(), district_code="321202", economic_status="tekun", living_situation=None,
                         special_hardship=False, status="active", grade=3, updated_at=MAY_1))
    return rows


async def fresh_db(databases, label: str) -> Database:
    url = await asyncio.to_thread(databases.migrated_url, "vouchers", label)
    db = Database(url)
    await ensure_default_policy(db, now=MAY_1)
    return db


async def seeded(databases, label: str, elders: list[ElderRow]) -> Database:
    """A database with copies of `elders`, one of whom already got this month's vouchers from an
    eligibility event (so a run must count them as already issued)."""
    db = await fresh_db(databases, label)
    async with db.transaction() as s:
        s.add_all(ElderRow(**{c.key: getattr(e, c.key) for c in ElderRow.__table__.columns}) for e in elders)
    async with db.transaction() as s:
        early = await s.get(ElderRow, elders[90].elder_id)  # dibao, grade 3, at home
        assert (await eligibility.issue_current_month(s, elder=early, now=MAY_1)).total("issued_count") >= 1
    return db


async def snapshot(db: Database) -> dict:
    """What a run wrote, without its random ids."""
    async with db.sessions() as s:
        vouchers = (await s.execute(sa.select(VoucherRow))).scalars().all()
        transfers = (await s.execute(sa.select(TransferRow))).scalars().all()
        accounts = (await s.execute(sa.select(LedgerAccountRow))).scalars().all()
        outbox = (await s.execute(sa.select(OutboxRow))).scalars().all()
        check = await ledger_store.check_book(s)
    assert check.ok, (check.report.violations, check.extra)
    by_transfer = {t.id: t for t in transfers}
    for v in vouchers:  # each voucher's issue transfer is the one the journal holds for its wallet
        t = by_transfer[v.issue_transfer_id]
        assert (t.kind, t.credit_account, t.amount_fen) == ("issue", f"wallet:{v.kind}:{v.month}:{v.elder_id}",
                                                           v.face_value_fen)
    voucher_ids = {str(v.id) for v in vouchers}
    events = []
    for row in outbox:
        event = CloudEvent.from_json(row.payload)
        assert (event.id, event.subject, event.source) == (row.event_id, row.key, "/youfu/vouchers")
        assert event.datacontenttype == "application/json" and event.time.tzinfo is not None
        VoucherIssued.model_validate(event.data)
        assert event.data["voucher_id"] in voucher_ids
        events.append((row.topic, row.type, row.key, event.requestid,
                       json.dumps({k: v for k, v in event.data.items() if k != "voucher_id"}, sort_keys=True)))
    return {
        "vouchers": Counter((v.elder_id, v.kind, v.month, v.face_value_fen, v.share_bp, v.district_code,
                             v.policy_version, v.run_id is None) for v in vouchers),
        "transfers": Counter((t.kind, t.debit_account, t.credit_account, t.amount_fen, t.elder_id, t.memo)
                             for t in transfers),
        "accounts": {a.code: (a.type, a.kind, a.elder_id, a.month, a.debits_pending, a.debits_posted,
                              a.credits_pending, a.credits_posted) for a in accounts},
        "events": Counter(events),
    }


async def test_set_based_run_writes_what_the_orm_path_writes(databases):
    elders = synthetic_elders()
    sql_db, orm_db = await seeded(databases, "vbulk", elders), await seeded(databases, "vorm", elders)
    try:
        postgres = sql_db.engine.dialect.name == "postgresql"
        request = request_id_var.set("req-monthly-run")  # the events carry the request that caused them
        async with sql_db.transaction() as s:  # PostgreSQL: set-based, in chunks of 16 elders here
            policy = await version_in_force(s, on=MAY_1.date())
            if postgres:
                sql_tally = await bulk.issue_month(s, month=MAY, district=None, policy=policy, now=MAY_1,
                                                            run_id=uuid.uuid4(), chunk=16)
            else:
                sql_tally = await runs.issue_in_batches(s, month=MAY, district=None, policy=policy, now=MAY_1,
                                                            run_id=uuid.uuid4())
        async with orm_db.transaction() as s:
            orm_tally = await runs.issue_in_batches(s, month=MAY, district=None, policy=policy, now=MAY_1,
                                                        run_id=uuid.uuid4())
        request_id_var.reset(request)
        assert runs._report(sql_tally) == runs._report(orm_tally)
        report = runs._report(sql_tally)
        assert report["issued_count"] > 150 and report["already_count"] >= 1
        assert {line["district_code"] for line in report["by_district_kind"]} == {d or "" for d in DISTRICTS}
        first = await snapshot(sql_db)
        assert first == await snapshot(orm_db)
        assert {requestid for _, _, _, requestid, _ in first["events"]} == {None, "req-monthly-run"}  # None: the early one

        async with sql_db.transaction() as s:  # the same month again, through the service's run
            again = await runs._run_once(s, month=MAY, district=None, trigger="manual", requested_by="test",
                                             now=MAY_1)
        assert (again.issued_count, again.issued_fen) == (0, 0)
        assert again.report["already_count"] == report["issued_count"] + report["already_count"]
        assert again.report["already_fen"] == report["issued_fen"] + report["already_fen"]
        assert await snapshot(sql_db) == first  # nothing written twice: no voucher, transfer or event
    finally:
        await sql_db.dispose()
        await orm_db.dispose()


async def test_district_run_and_chunk_edges(databases):
    elders = synthetic_elders()
    db = await seeded(databases, "vchunk", elders)
    try:
        async with db.transaction() as s:
            run = await runs._run_once(s, month=MAY, district="321204", trigger="manual", requested_by="test",
                                           now=MAY_1)
        assert {line["district_code"] for line in run.report["by_district_kind"]} == {"321204"}
        async with db.sessions() as s:
            districts = set((await s.execute(sa.select(VoucherRow.district_code).where(
                VoucherRow.run_id == run.id))).scalars())
        assert districts == {"321204"}
        if db.engine.dialect.name != "postgresql":
            return
        async with db.transaction() as s:  # a chunk size that divides the elders evenly ends with an empty chunk
            policy = await version_in_force(s, on=MAY_1.date())
            active = (await s.execute(sa.select(sa.func.count()).select_from(ElderRow).where(
                ElderRow.status == "active", ElderRow.grade.is_not(None),
                ElderRow.economic_status.is_not(None)))).scalar_one()
            chunk = next(c for c in range(10, active + 1) if active % c == 0)
            tally = await bulk.issue_month(s, month=MAY, district=None, policy=policy, now=MAY_1,
                                                    run_id=uuid.uuid4(), chunk=chunk)
            issued = (await s.execute(sa.select(sa.func.count()).select_from(VoucherRow).where(
                VoucherRow.month == MAY))).scalar_one()
        assert chunk < active and tally.total("issued_count") > 0
        assert tally.total("issued_count") + tally.total("already_count") == issued
        async with db.sessions() as s:
            check = await ledger_store.check_book(s)
        assert check.ok, (check.report.violations, check.extra)
    finally:
        await db.dispose()


async def _capture(db: Database, elder: uuid.UUID, provider: uuid.UUID, price: int, service: str, *,
                   now: datetime) -> RedemptionRow:
    async with fast_transaction(db) as tx:
        hold = await spending.place_hold(tx, principal=SERVICE, order_id=uuid.uuid4(), elder_id=elder, kind="community",
                                         price_fen=price, service_code=service, now=now)
    async with db.transaction() as s:
        await spending.capture_for_completed_order(s, now=now, data={
            "order_id": hold["order_id"], "hold_id": hold["hold_id"], "provider_id": str(provider), "amount_fen": price,
            "voucher_fen": hold["voucher_fen"], "service_code": service, "completed_at": now.isoformat()})
        return (await s.execute(sa.select(RedemptionRow).where(
            RedemptionRow.hold_id == uuid.UUID(hold["hold_id"])))).scalar_one()


async def test_spend_summary_follows_captures_and_reversals(databases):
    db = await fresh_db(databases, "vsum")
    try:
        elders = [uuid.uuid4() for _ in range(3)]
        async with db.transaction() as s:
            for i, elder in enumerate(elders):
                row = await eligibility.record_elder(s, now=MAY_1, data={
                    "elder_id": str(elder), "district_code": DISTRICTS[i], "economic_status": "dibao",
                    "living_situation": "alone", "special_hardship": False, "status": "active", "grade": 4})
                await eligibility.issue_current_month(s, elder=row, now=MAY_1)
        provider = uuid.uuid4()
        done = [await _capture(db, elders[i % 3], provider, price, service, now=MAY_1)
                for i, (price, service) in enumerate([(6000, "meal"), (10000, "bath"), (6000, "meal"), (3000, "meal")])]
        async with db.transaction() as s:  # an auditor reverses two redemptions
            finding = AnomalyFindingRow(redemption_ids=[str(done[0].id), str(done[1].id)])
            await audit._reverse(s, finding, reason="回访核实未服务", now=MAY_1)
        async with db.sessions() as s:
            assert await spend_summary.mismatches(s) == []
            check = await ledger_store.check_book(s)
            assert check.ok, (check.report.violations, check.extra)
            lines = {(r.district_code, r.service_code): (r.redemption_count, r.order_amount_fen, r.voucher_fen,
                                                         r.reversed_fen)
                     for r in (await s.execute(sa.select(SpendSummaryRow))).scalars()}
            assert lines == {("321202", "meal"): (2, 9000, 8100, 5400), ("321203", "bath"): (1, 10000, 9000, 9000),
                             ("321204", "meal"): (1, 6000, 5400, 0)}
            report = await audit.spend_by_month(s, principal=CITY, from_month="2026-01", to_month=MAY)
            assert [(r["month"], r["district_code"], r["kind_name"], r["redemption_count"], r["net_fen"])
                    for r in report["rows"]] == [(MAY, "321202", "社区照护券", 2, 2700), (MAY, "321203", "社区照护券", 1, 0),
                                                 (MAY, "321204", "社区照护券", 1, 5400)]
            assert report["totals"]["voucher_fen"] == 22500 and report["totals"]["reversed_fen"] == 14400
            by_service = await audit.spend_report(s, principal=CITY, month=MAY, group_by="service")
            assert [(r["key"], r["redemption_count"], r["reversed_fen"]) for r in by_service["rows"]] == [
                ("bath", 1, 9000), ("meal", 3, 5400)]
        async with db.transaction() as s:  # a summary that drifted is caught by the ledger check, and rebuilt
            await s.execute(sa.update(SpendSummaryRow).where(SpendSummaryRow.service_code == "bath")
                            .values(voucher_fen=1))
        async with db.sessions() as s:
            check = await ledger_store.check_book(s)
        assert {v["code"] for v in check.extra} == {"spend_summary_mismatch"}
        async with db.transaction() as s:
            assert await spend_summary.backfill(s) == 3
        async with db.sessions() as s:
            assert (await ledger_store.check_book(s)).ok
    finally:
        await db.dispose()


async def test_migration_0003_fills_the_summary_from_booked_rows(databases):
    url = databases.new_url("vmig")
    await asyncio.to_thread(upgrade, "vouchers", url, "0002")
    db = Database(url)
    provider = uuid.uuid4()
    try:
        async with db.transaction() as s:
            for i, (service, district, amount) in enumerate([("meal", "321202", 5400), ("meal", "321202", 2700),
                                                              ("bath", None, 9000)]):
                capture = f"capture-{i}"
                s.add(RedemptionRow(id=uuid.uuid4(), hold_id=uuid.uuid4(), order_id=uuid.uuid4(), elder_id=uuid.uuid4(),
                                    provider_id=provider, kind="community", month="2026-04", district_code=district,
                                    service_code=service, order_amount_fen=amount + 600, amount_fen=amount,
                                    completed_at=MAY_1, capture_transfer_id=capture, created_at=MAY_1))
            s.add(TransferRow(id="reverse-0", kind="reverse", debit_account=f"payable:{provider}",
                              credit_account="funding:community", amount_fen=5400, reverses_id="capture-0",
                              memo="", created_at=MAY_1))
        await db.dispose()
        await asyncio.to_thread(upgrade, "vouchers", url)
        db = Database(url)
        async with db.sessions() as s:
            rows = {(r.district_code, r.service_code): (r.redemption_count, r.order_amount_fen, r.voucher_fen,
                                                        r.reversed_fen)
                    for r in (await s.execute(sa.select(SpendSummaryRow))).scalars()}
            assert rows == {("321202", "meal"): (2, 9300, 8100, 5400), ("", "bath"): (1, 9600, 9000, 0)}
            assert await spend_summary.mismatches(s) == []
    finally:
        await db.dispose()


@pytest.mark.parametrize("span", [("2026-05", "2026-04"), ("2023-01", "2026-01")])
async def test_spend_by_month_refuses_bad_ranges(databases, span):
    from shared.errors import Invalid

    db = await fresh_db(databases, "vrange")
    try:
        async with db.sessions() as s:
            with pytest.raises(Invalid):
                await audit.spend_by_month(s, principal=CITY, from_month=span[0], to_month=span[1])
    finally:
        await db.dispose()
