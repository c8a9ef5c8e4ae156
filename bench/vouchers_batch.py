"""Benchmark: the vouchers service's batch work on PostgreSQL — the monthly issuance for the whole
city, and the 12-month spend report over a year of ledger.

    .venv/bin/python bench/vouchers_batch.py            # 165,000 elders, a year of ≈ 10.5M ledger rows
    .venv/bin/python bench/vouchers_batch.py --quick    # 16,500 elders, ≈ 1.05M ledger rows

Creates its own database (migrations via shared.migrations.upgrade), drops it at the end.

Setup (not timed as a result; its duration is printed):
  elders      synthetic eligibility copies of N elders (docs/domain.md: 165,000 home-dwelling elders
              received vouchers), over the six county-level units by population weight, with
              plausible shares of economic status, capability grade, living situation and special
              hardship, every one entitled to at least one voucher under the default policy;
  history     twelve closed months written with INSERT … SELECT / generate_series, in the shape the
              service books them: each month the vouchers (the service's own entitlement table),
              their ISSUE transfers, 0–3 orders per voucher (HOLD, then CAPTURE to the provider's
              payable or, for 8%, VOID), 0.2% of captures reversed by audit (back to the budget),
              one SETTLE per provider, and the EXPIRE of what is left; hold and redemption rows for
              every order; the accounts as the sums of the transfers; the spend summary filled by
              the same backfill migration 0003 runs. Before anything is timed, the generator is
              run at small scale and the service's own ledger check (`check_book`: replay of the
              whole journal, account sums, holds, spend summary) must pass on it.
              Synthetic and simplified: the same elders every month (no churn), one provider per
              elder, no settlement statements, no outbox rows for past months.

Timed:
  1. issuance  `issuance/runs.py` `run_issuance` (the service function behind POST /issuance-runs) for the
               new month, city-wide, on top of the year of history; then the same run again, which
               issues nothing. Baselines in the same process, in transactions rolled back:
               the previous ORM path (`issuance/runs.py` `issue_in_batches`, 500 elders per ledger posting,
               what the service ran before and still runs on SQLite) on a sample of the elders,
               extrapolated linearly; and a plain INSERT … SELECT of the same voucher rows with no
               ledger and no events (the floor: what writing the vouchers alone costs).
               Target: first run ≤ 30 s.
  2. report    `audit.spend_by_month` (GET /reports/spend/monthly: spend per month × district ×
               kind) over the 12 months, read from the spend summary; against the same aggregation
               as a plain GROUP BY over the raw journal (captures, their reversals, district from
               the elders) and over the raw redemptions ⋈ reversals. The answers must agree.
               Target: ≤ 1 s.
Writes bench/results/vouchers_batch.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection  # noqa: E402

from services.vouchers import audit  # noqa: E402
from services.vouchers.issuance import runs  # noqa: E402
from services.vouchers.issuance.rules import entitlement_table  # noqa: E402
from services.vouchers.ledger import spend_summary  # noqa: E402
from services.vouchers.ledger import store as ledger_store  # noqa: E402
from services.vouchers.models import ElderRow  # noqa: E402
from services.vouchers.policy import ensure_default_policy, version_in_force  # noqa: E402
from services.vouchers.rules.calendar import month_start_utc, next_month, previous_month  # noqa: E402
from services.vouchers.rules.policy import VoucherKind  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.city import CITY_TZ  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SH = CITY_TZ
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=SH)  # the run for April 2026, on the 1st
MONTH = "2026-04"
CITY = Principal(user_id="bench", role="city_officer")

# (code, name, weight, lat, lon): docs/domain.md units and centres; weights roughly by population.
DISTRICTS = [("321202", "海陵区", 0.20, 32.49, 119.92), ("321203", "高港区", 0.10, 32.32, 119.88),
             ("321204", "姜堰区", 0.16, 32.52, 120.13), ("321281", "兴化市", 0.22, 32.93, 119.85),
             ("321282", "靖江市", 0.14, 32.02, 120.27), ("321283", "泰兴市", 0.18, 32.17, 120.02)]
ECONOMIC = [("tekun", 0.12), ("dibao", 0.48), ("dibao_edge", 0.25), ("expense_hardship", 0.15)]
GRADES = [(0, 0.02), (1, 0.38), (2, 0.30), (3, 0.19), (4, 0.11)]
LIVING = [("alone", 0.22), ("empty_nest", 0.38), ("with_family", 0.37), ("institution", 0.03)]
HARDSHIP_SHARE = {"alone": 0.55, "empty_nest": 0.55, "with_family": 0.08, "institution": 0.0}
# Service items per voucher kind, repeated by how often they are ordered, with prices in fen.
SERVICES = {
    "community": [("meal", 1_500)] * 4 + [("clean", 5_000)] * 2 + [
        ("bath", 8_000), ("escort", 6_000), ("mobility", 4_000), ("emergency", 3_000), ("visit", 3_000),
        ("companion", 3_000), ("errand", 2_000), ("rehab", 10_000)],
    "institutional": [("residence", 180_000)],
    "mutual_aid": [("neighbour_help", 2_000)] * 2 + [("visit", 3_000)],
}
ORDERS_PER_VOUCHER = [(0, 0.40), (1, 0.35), (2, 0.15), (3, 0.10)]  # mean 0.95 a month
VOID_SHARE, REVERSE_SHARE = 0.08, 0.002
PROVIDERS_PER_1000_ELDERS = 6  # ≈ 1,000 providers for the city


def _case(variable: str, choices: list[tuple[object, float]]) -> str:
    """CASE over cumulative shares of a uniform random `variable`."""
    parts, total = [], 0.0
    for value, share in choices[:-1]:
        total += share
        parts.append(f"WHEN {variable} < {total:.6f} THEN {_literal(value)}")
    return f"CASE {' '.join(parts)} ELSE {_literal(choices[-1][0])} END"


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int) else f"'{value}'"


# ----------------------------------------------------------------------------------------- setup

async def create_database() -> tuple[str, str]:
    import asyncpg

    name = f"yf_bench_vouchers_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database="postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database="postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def insert_elders(conn: AsyncConnection, n: int) -> None:
    district = _case("rd", [(code, w) for code, _, w, _, _ in DISTRICTS])
    centre_lat = "CASE d " + " ".join(f"WHEN '{c}' THEN {lat}" for c, _, _, lat, _ in DISTRICTS) + " END"
    centre_lon = "CASE d " + " ".join(f"WHEN '{c}' THEN {lon}" for c, _, _, _, lon in DISTRICTS) + " END"
    hardship = "CASE living " + " ".join(f"WHEN '{k}' THEN rh < {v}" for k, v in HARDSHIP_SHARE.items()) + " END"
    # An elder in an institution has grade 3 or 4 (the institutional voucher's grades); grade 0
    # lives at home with special hardship (mutual aid only): every elder is entitled to something.
    await conn.execute(sa.text(f"""
        INSERT INTO elders (elder_id, district_code, street, economic_status, living_situation, special_hardship,
                            status, grade, assessment_id, graded_at, lat, lon, departed_on, updated_at)
        SELECT gen_random_uuid(), d, NULL, econ,
               CASE WHEN grade = 0 AND living = 'institution' THEN 'alone' ELSE living END,
               grade = 0 OR {hardship}, 'active',
               CASE WHEN living = 'institution' AND grade < 3 THEN 3 + (rg2 < 0.4)::int ELSE grade END,
               gen_random_uuid(), :now, {centre_lat} + (random() - 0.5) * 0.25, {centre_lon} + (random() - 0.5) * 0.25,
               NULL, :now
        FROM (SELECT {district} AS d, {_case('re', ECONOMIC)} AS econ, {_case('rg', GRADES)} AS grade,
                     {_case('rl', LIVING)} AS living, rh, rg2
              FROM (SELECT random() AS rd, random() AS re, random() AS rg, random() AS rl, random() AS rh,
                           random() AS rg2 FROM generate_series(1, :n)) r) x
    """), {"n": n, "now": NOW})


async def create_catalogue(conn: AsyncConnection, n_elders: int) -> int:
    n_providers = max(len(DISTRICTS), n_elders * PROVIDERS_PER_1000_ELDERS // 1000)
    await conn.execute(sa.text("""CREATE TEMP TABLE bench_providers (district_code text, idx int, provider_id uuid,
                                  PRIMARY KEY (district_code, idx))"""))
    for code, _, weight, _, _ in DISTRICTS:
        await conn.execute(sa.text("""INSERT INTO bench_providers SELECT :d, i - 1, gen_random_uuid()
                                      FROM generate_series(1, :k) i"""), {"d": code, "k": max(1, round(n_providers * weight))})
    await conn.execute(sa.text("""CREATE TEMP TABLE bench_services (kind text, idx int, service_code text, price_fen bigint,
                                  PRIMARY KEY (kind, idx))"""))
    for kind, items in SERVICES.items():
        for i, (code, price) in enumerate(items):
            await conn.execute(sa.text("INSERT INTO bench_services VALUES (:k, :i, :c, :p)"),
                               {"k": kind, "i": i, "c": code, "p": price})
    await conn.execute(sa.text("""CREATE TEMP TABLE bench_counts AS
        SELECT 'p:' || district_code AS what, count(*) AS n FROM bench_providers GROUP BY district_code
        UNION ALL SELECT 's:' || kind, count(*) FROM bench_services GROUP BY kind"""))
    return (await conn.execute(sa.text("SELECT count(*) FROM bench_providers"))).scalar_one()


async def write_month(conn: AsyncConnection, month: str, ent_json: str) -> None:
    """One closed month, booked in the order the service books it."""
    start = month_start_utc(month)
    end = month_start_utc(next_month(month))
    kind_names = json.dumps({str(k): k.zh_name for k in VoucherKind}, ensure_ascii=False)
    p = {"m": month, "start": start, "end": end, "ent": ent_json, "kind_names": kind_names, "run": uuid.uuid4()}
    run = conn.execute
    await run(sa.text("""
        INSERT INTO vouchers (id, elder_id, kind, month, face_value_fen, share_bp, district_code, policy_version,
                              issue_transfer_id, run_id, issued_at)
        SELECT gen_random_uuid(), e.elder_id, ent.kind, :m, ent.face_value_fen, ent.share_bp, e.district_code, 1,
               gen_random_uuid()::text, :run, :start
        FROM elders e JOIN jsonb_to_recordset(CAST(:ent AS jsonb)) AS ent(economic_status text, grade int,
             living_situation text, special_hardship boolean, kind text, face_value_fen bigint, share_bp int)
          ON ent.economic_status = e.economic_status AND ent.grade = e.grade
         AND ent.living_situation = e.living_situation AND ent.special_hardship = e.special_hardship
        WHERE e.status = 'active' ORDER BY e.elder_id, ent.kind"""), p)
    await run(sa.text("DROP TABLE IF EXISTS orders_m"))
    await run(sa.text(f"""
        CREATE TEMP TABLE orders_m AS
        WITH v AS MATERIALIZED (
            SELECT v.*, {_case('r', ORDERS_PER_VOUCHER)} AS n, random() AS rp
            FROM (SELECT v.*, random() AS r FROM vouchers v WHERE v.month = :m) v
        ), o AS MATERIALIZED (
            SELECT v.*, j, random() AS rs, random() AS rv, random() AS rt FROM v, generate_series(1, v.n) j
        )
        SELECT gen_random_uuid() AS hold_id, gen_random_uuid() AS order_id, gen_random_uuid()::text AS resolve_id,
               o.id AS voucher_id, o.elder_id, o.kind, o.district_code, o.share_bp, o.face_value_fen,
               'wallet:' || o.kind || ':' || CAST(:m AS text) || ':' || o.elder_id::text AS wallet,
               s.service_code, s.price_fen,
               LEAST(s.price_fen * o.share_bp / 10000, o.face_value_fen / 4) AS voucher_fen,
               o.rv < {VOID_SHARE} AS voided, p.provider_id,
               CAST(:start AS timestamptz) + make_interval(days => (o.j - 1) * 9 + floor(o.rt * 8)::int,
                                                          hours => 1 + floor(o.rt * 97)::int % 12) AS held_at
        FROM o
        JOIN bench_counts sc ON sc.what = 's:' || o.kind
        JOIN bench_services s ON s.kind = o.kind AND s.idx = floor(o.rs * sc.n)::int
        JOIN bench_counts pc ON pc.what = 'p:' || o.district_code
        JOIN bench_providers p ON p.district_code = o.district_code AND p.idx = floor(o.rp * pc.n)::int"""), p)
    await run(sa.text("""CREATE TEMP TABLE IF NOT EXISTS reversals_m (id text, capture_id text, provider_id uuid,
                          kind text, amount_fen bigint, elder_id uuid, order_id uuid)"""))
    await run(sa.text("TRUNCATE reversals_m"))
    await run(sa.text(f"""INSERT INTO reversals_m SELECT gen_random_uuid()::text, resolve_id, provider_id, kind,
                          voucher_fen, elder_id, order_id FROM orders_m WHERE NOT voided AND random() < {REVERSE_SHARE}"""))
    # the journal, in booking order: issues, holds, their captures and voids, reversals, settlements, expiries
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, elder_id, memo, created_at)
        SELECT issue_transfer_id, 'issue', 'funding:' || kind, 'wallet:' || kind || ':' || month || ':' || elder_id::text,
               face_value_fen, elder_id, (CAST(:kind_names AS jsonb) ->> kind) || ' ' || month || ' 发放', issued_at
        FROM vouchers WHERE month = :m ORDER BY elder_id, kind"""), p)
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, elder_id, order_id, memo, created_at)
        SELECT hold_id::text, 'hold', wallet, 'holds:' || kind, voucher_fen, elder_id, order_id, '订单预扣 ' || service_code,
               held_at
        FROM orders_m ORDER BY held_at"""))
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, pending_id, elder_id, order_id,
                                      provider_id, memo, created_at)
        SELECT resolve_id, CASE WHEN voided THEN 'void' ELSE 'capture' END, wallet,
               CASE WHEN voided THEN 'holds:' || kind ELSE 'payable:' || provider_id::text END, voucher_fen, hold_id::text,
               elder_id, order_id, CASE WHEN voided THEN NULL ELSE provider_id END,
               CASE WHEN voided THEN '释放预扣：订单取消' ELSE '服务完成核销 ' || service_code END, held_at + interval '2 hours'
        FROM orders_m ORDER BY held_at"""))
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, reverses_id, elder_id, order_id,
                                      provider_id, memo, created_at)
        SELECT id, 'reverse', 'payable:' || provider_id::text, 'funding:' || kind, amount_fen, capture_id, elder_id,
               order_id, provider_id, '稽核冲正：回访核实未提供服务', CAST(:end AS timestamptz) + interval '3 days'
        FROM reversals_m"""), p)
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, provider_id, memo, created_at)
        SELECT gen_random_uuid()::text, 'settle', 'payable:' || c.provider_id::text, 'settled', c.fen - COALESCE(r.fen, 0),
               c.provider_id, CAST(:m AS text) || ' ' || c.district_code || ' 结算付款', CAST(:end AS timestamptz) + interval '10 days'
        FROM (SELECT provider_id, min(district_code) AS district_code, sum(voucher_fen) AS fen FROM orders_m
              WHERE NOT voided GROUP BY provider_id) c
        LEFT JOIN (SELECT provider_id, sum(amount_fen) AS fen FROM reversals_m GROUP BY provider_id) r USING (provider_id)
        WHERE c.fen > COALESCE(r.fen, 0) ORDER BY c.provider_id"""), p)
    await run(sa.text("""
        INSERT INTO ledger_transfers (id, kind, debit_account, credit_account, amount_fen, elder_id, memo, created_at)
        SELECT gen_random_uuid()::text, 'expire', 'wallet:' || v.kind || ':' || v.month || ':' || v.elder_id::text,
               'expired:' || v.kind, v.face_value_fen - COALESCE(o.fen, 0), v.elder_id, v.month || ' 月末过期', :end
        FROM vouchers v LEFT JOIN (SELECT voucher_id, sum(voucher_fen) AS fen FROM orders_m WHERE NOT voided
                                   GROUP BY voucher_id) o ON o.voucher_id = v.id
        WHERE v.month = :m AND v.face_value_fen > COALESCE(o.fen, 0) ORDER BY v.elder_id, v.kind"""), p)
    await run(sa.text("""
        INSERT INTO holds (id, order_id, elder_id, voucher_id, kind, month, district_code, service_code, price_fen,
                           voucher_fen, elder_fen, share_bp, status, captured_fen, provider_id, created_at, resolved_at)
        SELECT hold_id, order_id, elder_id, voucher_id, kind, :m, district_code, service_code, price_fen, voucher_fen,
               price_fen - voucher_fen, share_bp, CASE WHEN voided THEN 'released' ELSE 'captured' END,
               CASE WHEN voided THEN NULL ELSE voucher_fen END, CASE WHEN voided THEN NULL ELSE provider_id END,
               held_at, held_at + interval '2 hours'
        FROM orders_m"""), p)
    await run(sa.text("""
        INSERT INTO redemptions (id, hold_id, order_id, elder_id, provider_id, caregiver_id, kind, month, district_code,
                                 service_code, order_amount_fen, amount_fen, duration_min, checkin_distance_m, latitude,
                                 longitude, completed_at, capture_transfer_id, created_at)
        SELECT gen_random_uuid(), hold_id, order_id, elder_id, provider_id, gen_random_uuid(), kind, :m, district_code,
               service_code, price_fen, voucher_fen, 30 + floor(random() * 60)::int, round((random() * 150)::numeric, 1),
               NULL, NULL, held_at + interval '2 hours', resolve_id, held_at + interval '2 hours'
        FROM orders_m WHERE NOT voided"""), p)


async def write_accounts(conn: AsyncConnection) -> None:
    """Every account the journal names, its sums computed from the journal (all holds are resolved,
    so nothing is pending)."""
    await conn.execute(sa.text("""
        INSERT INTO ledger_accounts (code, type, kind, elder_id, month, provider_id,
                                     debits_pending, debits_posted, credits_pending, credits_posted)
        SELECT code, split_part(code, ':', 1),
               CASE WHEN split_part(code, ':', 1) IN ('wallet', 'funding', 'holds', 'expired') THEN split_part(code, ':', 2) END,
               CASE WHEN code LIKE 'wallet:%' THEN split_part(code, ':', 4)::uuid END,
               CASE WHEN code LIKE 'wallet:%' THEN split_part(code, ':', 3) END,
               CASE WHEN code LIKE 'payable:%' THEN split_part(code, ':', 2)::uuid END,
               0, sum(debit), 0, sum(credit)
        FROM (SELECT debit_account AS code, CASE WHEN kind IN ('hold', 'void') THEN 0 ELSE amount_fen END AS debit,
                     0 AS credit FROM ledger_transfers
              UNION ALL
              SELECT credit_account, 0, CASE WHEN kind IN ('hold', 'void') THEN 0 ELSE amount_fen END
              FROM ledger_transfers) x
        GROUP BY code"""))


async def generate(db: Database, *, n_elders: int, months: list[str], log=print) -> dict:
    """Elders, catalogue and `months` of closed history; returns row counts and timings."""
    timings: dict[str, float] = {}
    async with db.sessions() as s:
        ent_json = json.dumps(entitlement_table(await version_in_force(s, on=NOW.date())))
    async with db.engine.connect() as conn:
        for setting in ("work_mem = '256MB'", "maintenance_work_mem = '1GB'", "synchronous_commit = off"):
            await conn.execute(sa.text(f"SET {setting}"))
        started = time.perf_counter()
        await insert_elders(conn, n_elders)
        providers = await create_catalogue(conn, n_elders)
        await conn.commit()
        await conn.execute(sa.text("ANALYZE elders"))
        timings["elders_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for i, month in enumerate(months):
            t0 = time.perf_counter()
            await write_month(conn, month, ent_json)
            await conn.commit()
            if i == 0:
                for table in ("vouchers", "ledger_transfers", "holds", "redemptions"):
                    await conn.execute(sa.text(f"ANALYZE {table}"))
            log(f"  history {month}: {time.perf_counter() - t0:.1f} s")
        timings["history_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await write_accounts(conn)
        await conn.commit()
        timings["accounts_s"] = time.perf_counter() - started
    started = time.perf_counter()
    async with db.transaction() as s:
        summary_rows = await spend_summary.backfill(s)
    timings["summary_backfill_s"] = time.perf_counter() - started
    started = time.perf_counter()
    async with db.engine.connect() as conn:  # so that autovacuum does not start in the middle of a timing
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM (ANALYZE)"))
    timings["vacuum_analyze_s"] = time.perf_counter() - started
    counts = await table_counts(db)
    return {"providers": providers, "summary_rows": summary_rows, "rows": counts, "timings_s": timings}


async def table_counts(db: Database) -> dict[str, int]:
    async with db.sessions() as s:
        return {t: (await s.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()
                for t in ("elders", "vouchers", "ledger_transfers", "ledger_accounts", "holds", "redemptions",
                          "spend_summary", "outbox")}


async def self_check() -> dict:
    """The generator at small scale, then the real run: the service's ledger check must pass."""
    name, url = await create_database()
    try:
        await asyncio.to_thread(upgrade, "vouchers", url)
        db = Database(url)
        await ensure_default_policy(db, now=NOW)
        await generate(db, n_elders=400, months=["2026-02", "2026-03"], log=lambda *_: None)
        await runs.run_issuance(db, principal=CITY, month=MONTH, now=NOW)
        async with db.sessions() as s:
            check = await ledger_store.check_book(s)
        await db.dispose()
        if not check.ok:
            raise SystemExit(f"generator self-check failed: {check.report.violations[:5]} {check.extra[:5]}")
        return {"elders": 400, "months": 2, "transfers_checked": check.report.transfers_checked, "ok": True}
    finally:
        await drop_database(name)


# ----------------------------------------------------------------------------------------- timed

async def time_issuance(db: Database, *, sample_share: float) -> dict:
    started = time.perf_counter()
    first = await runs.run_issuance(db, principal=CITY, month=MONTH, now=NOW)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    second = await runs.run_issuance(db, principal=CITY, month=MONTH, now=NOW)
    second_s = time.perf_counter() - started
    assert second["issued_count"] == 0 and second["already_count"] == first["issued_count"] + first["already_count"]

    floor_month = next_month(MONTH)  # written and rolled back: the database stays as it was
    async with db.sessions() as s:
        ent = json.dumps(entitlement_table(await version_in_force(s, on=NOW.date())))
        started = time.perf_counter()
        result = await s.execute(sa.text("""
            INSERT INTO vouchers (id, elder_id, kind, month, face_value_fen, share_bp, district_code, policy_version,
                                  issue_transfer_id, run_id, issued_at)
            SELECT gen_random_uuid(), e.elder_id, ent.kind, :m, ent.face_value_fen, ent.share_bp, e.district_code, 1,
                   gen_random_uuid()::text, NULL, :now
            FROM elders e JOIN jsonb_to_recordset(CAST(:ent AS jsonb)) AS ent(economic_status text, grade int,
                 living_situation text, special_hardship boolean, kind text, face_value_fen bigint, share_bp int)
              ON ent.economic_status = e.economic_status AND ent.grade = e.grade
             AND ent.living_situation = e.living_situation AND ent.special_hardship = e.special_hardship
            WHERE e.status = 'active' AND e.grade IS NOT NULL AND e.economic_status IS NOT NULL
            ORDER BY e.elder_id, ent.kind
            ON CONFLICT ON CONSTRAINT uq_vouchers_elder_kind_month DO NOTHING"""),
            {"m": floor_month, "now": NOW, "ent": ent})
        floor_s = time.perf_counter() - started
        floor_rows = result.rowcount
        await s.rollback()

    async with db.sessions() as s:
        ids = list((await s.execute(sa.select(ElderRow.elder_id).where(
            sa.func.random() < sample_share))).scalars())
    sample_month = next_month(floor_month)
    async with db.sessions() as s:
        policy = await version_in_force(s, on=NOW.date())
        started = time.perf_counter()
        tally = await runs.issue_in_batches(s, month=sample_month, district=None, policy=policy, now=NOW,
                                                run_id=uuid.uuid4(), elder_ids=ids)
        orm_sample_s = time.perf_counter() - started
        await s.rollback()
    orm_sample_vouchers = tally.total("issued_count")
    scale = first["issued_count"] / orm_sample_vouchers
    return {
        "month": MONTH,
        "first_run_s": first_s, "first_run_issued": first["issued_count"], "first_run_issued_fen": first["issued_fen"],
        "second_run_s": second_s, "second_run_issued": second["issued_count"],
        "second_run_already": second["already_count"],
        "by_district_kind": first["by_district_kind"],
        "floor_plain_insert_s": floor_s, "floor_plain_insert_rows": floor_rows,
        "orm_path_sample_elders": len(ids), "orm_path_sample_vouchers": orm_sample_vouchers,
        "orm_path_sample_s": orm_sample_s, "orm_path_extrapolated_s": orm_sample_s * scale,
        "orm_path_scale": scale,
    }


def _median_time(samples: list[float]) -> float:
    return statistics.median(samples)


async def time_report(db: Database, *, months: list[str], repeats: int, baseline_repeats: int) -> dict:
    first, last = months[0], months[-1]

    async def optimised():
        async with db.sessions() as s:
            return await audit.spend_by_month(s, principal=CITY, from_month=first, to_month=last)

    raw_journal = sa.text("""
        SELECT split_part(c.debit_account, ':', 3) AS month, e.district_code, split_part(c.debit_account, ':', 2) AS kind,
               count(*) AS redemption_count, sum(c.amount_fen) AS voucher_fen, COALESCE(sum(r.amount_fen), 0) AS reversed_fen
        FROM ledger_transfers c
        JOIN elders e ON e.elder_id = c.elder_id
        LEFT JOIN ledger_transfers r ON r.reverses_id = c.id AND r.kind = 'reverse'
        WHERE c.kind = 'capture' AND split_part(c.debit_account, ':', 3) BETWEEN :first AND :last
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
    raw_redemptions = sa.text("""
        SELECT r.month, COALESCE(r.district_code, '') AS district_code, r.kind, count(*) AS redemption_count,
               sum(r.order_amount_fen) AS order_amount_fen, sum(r.amount_fen) AS voucher_fen,
               COALESCE(sum(t.amount_fen), 0) AS reversed_fen
        FROM redemptions r
        LEFT JOIN ledger_transfers t ON t.reverses_id = r.capture_transfer_id AND t.kind = 'reverse'
        WHERE r.month BETWEEN :first AND :last
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")

    async def plain(query):
        async with db.sessions() as s:
            return (await s.execute(query, {"first": first, "last": last})).all()

    async def timed(fn, n):
        samples, answer = [], None
        for _ in range(n):
            started = time.perf_counter()
            answer = await fn()
            samples.append(time.perf_counter() - started)
        return samples, answer

    await optimised()  # warm-up: connection, statement cache
    opt_samples, report = await timed(optimised, repeats)
    journal_samples, journal_rows = await timed(lambda: plain(raw_journal), baseline_repeats)
    redemption_samples, redemption_rows = await timed(lambda: plain(raw_redemptions), baseline_repeats)

    ours = {(r["month"], r["district_code"], r["kind"]): r for r in report["rows"]}
    agree_journal = ours.keys() == {(m, d, k) for m, d, k, *_ in journal_rows} and all(
        (ours[(m, d, k)]["redemption_count"], ours[(m, d, k)]["voucher_fen"], ours[(m, d, k)]["reversed_fen"])
        == (n, int(paid), int(back)) for m, d, k, n, paid, back in journal_rows)
    agree_redemptions = ours.keys() == {(m, d, k) for m, d, k, *_ in redemption_rows} and all(
        (ours[(m, d, k)]["redemption_count"], ours[(m, d, k)]["order_amount_fen"], ours[(m, d, k)]["voucher_fen"],
         ours[(m, d, k)]["reversed_fen"]) == (n, int(order), int(paid), int(back))
        for m, d, k, n, order, paid, back in redemption_rows)
    return {
        "from_month": first, "to_month": last, "report_rows": len(report["rows"]), "totals": report["totals"],
        "optimised_samples_s": opt_samples, "optimised_p50_s": _median_time(opt_samples),
        "optimised_max_s": max(opt_samples),
        "raw_journal_samples_s": journal_samples, "raw_journal_p50_s": _median_time(journal_samples),
        "raw_redemptions_samples_s": redemption_samples, "raw_redemptions_p50_s": _median_time(redemption_samples),
        "answers_agree_with_raw_journal": agree_journal, "answers_agree_with_raw_redemptions": agree_redemptions,
    }


# ----------------------------------------------------------------------------------------- main

def history_months(count: int) -> list[str]:
    months = [previous_month(MONTH)]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


async def run(args) -> dict:
    n = args.elders or (16_500 if args.quick else 165_000)
    months = history_months(args.months)
    print(f"vouchers batch: {n:,} elders, {len(months)} months of history ({months[0]} … {months[-1]}), "
          f"run for {MONTH}; PostgreSQL at 127.0.0.1:5432; {os.cpu_count()} cores")
    started = time.perf_counter()
    check = await self_check()
    print(f"generator self-check: {check['elders']} elders × {check['months']} months + the real run, "
          f"ledger check ok over {check['transfers_checked']:,} transfers ({time.perf_counter() - started:.1f} s)")

    name, url = await create_database()
    try:
        await asyncio.to_thread(upgrade, "vouchers", url)
        db = Database(url)
        await ensure_default_policy(db, now=NOW)
        started = time.perf_counter()
        setup = await generate(db, n_elders=n, months=months)
        setup_s = time.perf_counter() - started
        rows = setup["rows"]
        print(f"setup {setup_s:,.0f} s: {rows['ledger_transfers']:,} ledger transfers, {rows['vouchers']:,} vouchers, "
              f"{rows['redemptions']:,} redemptions, {rows['ledger_accounts']:,} accounts, "
              f"{rows['spend_summary']:,} summary rows, {setup['providers']:,} providers")

        load_before = os.getloadavg()
        issued = await time_issuance(db, sample_share=args.sample)
        report = await time_report(db, months=months, repeats=args.repeats, baseline_repeats=args.baseline_repeats)
        load_after = os.getloadavg()
        async with db.sessions() as s:
            size = (await s.execute(sa.text("SELECT pg_database_size(current_database())"))).scalar_one()
        await db.dispose()
    finally:
        await drop_database(name)

    first_s, floor_s, orm_s = issued["first_run_s"], issued["floor_plain_insert_s"], issued["orm_path_extrapolated_s"]
    opt_s, journal_s, redeem_s = report["optimised_p50_s"], report["raw_journal_p50_s"], report["raw_redemptions_p50_s"]
    share = f"{args.sample:.0%}"
    print()
    print(f"| monthly issuance, {n:,} elders | time | vouchers | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| set-based run (`run_issuance`, chunks of 20k elders; vouchers + journal + wallets + outbox) "
          f"| {fmt_s(first_s)} | {issued['first_run_issued']:,} | 1 |")
    print(f"| same month again (issues nothing) | {fmt_s(issued['second_run_s'])} | {issued['second_run_issued']:,} "
          f"(already {issued['second_run_already']:,}) | {issued['second_run_s'] / first_s:.2f} |")
    print(f"| baseline: previous ORM path, 500 elders a posting ({share} sample: {issued['orm_path_sample_elders']:,} "
          f"elders in {fmt_s(issued['orm_path_sample_s'])}, ×{issued['orm_path_scale']:.1f}) "
          f"| ≈ {fmt_s(orm_s)} | {issued['first_run_issued']:,} | {orm_s / first_s:.1f}× slower |")
    print(f"| floor: plain INSERT … SELECT of the voucher rows only (no ledger, no events) | {fmt_s(floor_s)} "
          f"| {issued['floor_plain_insert_rows']:,} | set-based run = {first_s / floor_s:.1f}× floor |")
    print()
    print(f"| 12-month spend report ({months[0]} … {months[-1]}, month × district × kind) | p50 | rows read | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| spend summary (`audit.spend_by_month`, GET /reports/spend/monthly), {args.repeats} runs "
          f"| {fmt_s(opt_s)} | {rows['spend_summary']:,} summary rows | 1 |")
    print(f"| baseline: plain GROUP BY over the raw journal (captures ⋈ reversals ⋈ elders), "
          f"{args.baseline_repeats} runs | {fmt_s(journal_s)} | {rows['ledger_transfers']:,} transfers "
          f"| {journal_s / opt_s:,.0f}× slower |")
    print(f"| baseline: GROUP BY over raw redemptions ⋈ reversals, {args.baseline_repeats} runs | {fmt_s(redeem_s)} "
          f"| {rows['redemptions']:,} redemptions | {redeem_s / opt_s:,.0f}× slower |")
    print()
    agree = report["answers_agree_with_raw_journal"] and report["answers_agree_with_raw_redemptions"]
    print(f"answers: the summary's {report['report_rows']} lines equal both raw aggregations: {'yes' if agree else 'NO'}")
    print(f"targets: issuance {fmt_s(first_s)} ≤ 30 s: {'met' if first_s <= 30 else 'NOT met'}; "
          f"report {fmt_s(opt_s)} (max {fmt_s(report['optimised_max_s'])}) ≤ 1 s: {'met' if opt_s <= 1 else 'NOT met'}")
    print(f"machine: {os.cpu_count()} cores (shared), 1-min load average {load_before[0]:.2f} before and "
          f"{load_after[0]:.2f} after timing; database {size / 2**30:.1f} GiB; PostgreSQL server settings untouched "
          f"(shared_buffers 128MB); setup session used work_mem 256MB")
    return {
        "benchmark": "vouchers_batch", "quick": args.quick, "elders": n, "history_months": months,
        "backend": "postgresql", "cores": os.cpu_count(), "load_average_before": load_before[0],
        "load_average_after": load_after[0], "database_bytes": size,
        "generator_self_check": check, "setup": setup, "setup_s": setup_s,
        "issuance": issued, "report": report,
        "targets": {"issuance_first_run_s": 30, "report_s": 1},
        "targets_met": {"issuance": first_s <= 30, "report": opt_s <= 1},
        "ratios": {"orm_path_over_set_based": orm_s / first_s, "set_based_over_floor": first_s / floor_s,
                   "raw_journal_over_summary": journal_s / opt_s, "raw_redemptions_over_summary": redeem_s / opt_s},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16,500 elders (≈ 1M ledger rows)")
    parser.add_argument("--elders", type=int)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--sample", type=float, default=0.1, help="share of elders the ORM baseline runs on")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "vouchers_batch.json")
    args = parser.parse_args()
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        raise SystemExit("vouchers_batch needs PostgreSQL at 127.0.0.1:5432")
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))


if __name__ == "__main__":
    main()
