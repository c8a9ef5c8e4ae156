"""Benchmark: a status list of 165,000 rows (issue 20) on PostgreSQL — the dry run and the apply of
the assessment service's use cases, against a row-by-row path in the same run.

    .venv/bin/python bench/status_lists.py            # 165,000 elders and list rows
    .venv/bin/python bench/status_lists.py --quick    # 16,500

Creates its own database (migrations via shared.migrations.upgrade), drops it at the end.

Setup (not timed as a result; its duration is printed): N synthetic elders written with COPY
(valid ID numbers over the city's districts, encrypted and blind-indexed as the service stores
them), and a deaths list as a CSV of N rows in the shape a bureau sends: 97 % of the rows match a
record, 1 % carry a different name, 1 % an unknown ID number, 0.5 % a wrong check digit, 0.5 %
repeat an earlier line.

Timed:
  1. dry run   `status_lists.upload_list` (POST /status-lists behind its route) from the CSV bytes:
               reading, checking, matching through the blind index, classifying, storing the list
               and its N lines. The money at stake comes from vouchers over HTTP in the service; here
               the estimate answers at once (what vouchers costs is vouchers' bench). Target ≤ 30 s.
  2. apply     `status_lists.apply_list` (POST /status-lists/{id}/apply): every `apply` row in one
               transaction, the elders updated, one change row and one outbox event per elder.
               Target ≤ 60 s. Then the same apply again (a no-op).
  Baseline     the row-by-row path on a sample of the same rows, in a transaction rolled back: per
               row one SELECT of the elder by blind index (dry run), then per row SELECT … FOR
               UPDATE, UPDATE, an ORM change row and an `add_event` (apply); extrapolated linearly.
Writes bench/results/status_lists.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from services.assessment import events, status_lists  # noqa: E402, F401 - events registers the event types
from services.assessment.events import ChangeSource, ElderUpdated, elder_facts  # noqa: E402
from services.assessment.models import ElderRow, ElderStatusChangeRow, StatusListRow  # noqa: E402
from services.assessment.rules import status_lists as rules  # noqa: E402
from services.assessment.rules.idcard import id_card_check_char  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.city import DISTRICTS, local_day  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.events import make_event  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.outbox import add_event  # noqa: E402
from shared.pii import PiiCipher  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE = 5_000
OFFICER = Principal(user_id="bench-city-officer", role="city_officer")


async def create_database() -> tuple[str, str]:
    name = f"yf_bench_lists_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def id_numbers(n: int, rng: random.Random) -> list[tuple[str, date, str]]:
    """n distinct valid ID numbers with the birth date and gender they encode."""
    out, seen = [], set()
    districts = list(DISTRICTS)
    while len(out) < n:
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 35))
        sequence = rng.randrange(1000)
        first17 = f"{rng.choice(districts)}{born:%Y%m%d}{sequence:03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        out.append((first17 + id_card_check_char(first17), born, "male" if sequence % 2 else "female"))
    return out


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "桂英秀兰建国志强玉珍淑芬德明红梅福生金花"


async def seed(url: str, n: int, cipher: PiiCipher, rng: random.Random) -> list[dict]:
    people = id_numbers(n, rng)
    now = datetime.now(timezone.utc)
    records = []
    elders = []
    for number, born, gender in people:
        elder_id = uuid.uuid4()
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        district = number[:6]
        records.append((elder_id, name, gender, born, cipher.encrypt(number), cipher.blind_index(number), None, None,
                        "泰州市某街道某号", 32.49, 119.92, district, "城东", "alone", "dibao", "active", None, None,
                        None, True, "bench", now, now))
        elders.append({"id": elder_id, "id_card": number, "name": name})
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.copy_records_to_table("elders", records=records, columns=[
            "id", "name", "gender", "birth_date", "id_card_cipher", "id_card_index", "phone_cipher", "phone_index",
            "address", "lat", "lon", "district_code", "street", "living_situation", "economic_status", "status",
            "status_date", "grade", "last_finalised_at", "special_hardship", "created_by", "created_at",
            "updated_at"])
        await conn.execute("ANALYZE elders")
    finally:
        await conn.close()
    return elders


def deaths_csv(elders: list[dict], today: date, rng: random.Random) -> bytes:
    lines = ["序号,身份证号,姓名,死亡日期"]
    written: list[str] = []
    for i, elder in enumerate(elders):
        died = (today - timedelta(days=rng.randrange(1, 60))).isoformat()
        roll = rng.random()
        if roll < 0.01:
            row = f"{elder['id_card']},{elder['name'][0]}某某,{died}"
        elif roll < 0.02:
            first17 = f"{elder['id_card'][:6]}19200101{rng.randrange(1000):03d}"
            row = f"{first17 + id_card_check_char(first17)},{elder['name']},{died}"
        elif roll < 0.025:
            good = elder["id_card"]
            row = f"{good[:17] + ('0' if good[17] != '0' else '1')},{elder['name']},{died}"
        elif roll < 0.03 and written:
            row = rng.choice(written)
        else:
            row = f"{elder['id_card']},{elder['name']},{died}"
        written.append(row)
        lines.append(f"{i + 1},{row}")
    return ("\n".join(lines) + "\n").encode("utf-8")


async def no_money(elders: list[dict]) -> dict[str, int]:
    return {}


async def row_by_row(db: Database, cipher: PiiCipher, raws: list[rules.RawRow], today: date, now: datetime) -> dict:
    """The obvious path, one elder at a time, on a sample; rolled back."""
    kind = rules.Kind.DEATHS
    planned = []
    out: dict = {}
    try:
        async with db.transaction() as session:
            await _row_by_row(session, cipher, raws, today, now, kind, planned, out)
            raise _Rollback
    except _Rollback:
        pass
    return out


class _Rollback(Exception):
    """Leaves the baseline's transaction without keeping anything."""


async def _row_by_row(session, cipher, raws, today, now, kind, planned, out) -> None:
    placeholder = StatusListRow(id=uuid.uuid4(), kind="deaths", source="bench.csv", state="dry_run", counts={},
                                uploaded_by="bench", uploaded_at=now)
    session.add(placeholder)
    await session.flush()
    started = time.perf_counter()
    for raw in raws:
        row = rules.check_row(kind, raw, today=today)
        found = None
        if row.error is None:
            found = (await session.execute(sa.select(ElderRow).where(
                ElderRow.id_card_index == cipher.blind_index(row.id_card)))).scalar_one_or_none()
        facts = found and rules.ElderFacts(found.id, found.name, found.status, found.status_date,
                                           found.economic_status)
        result = rules.classify(kind, row, facts)
        if result.outcome is rules.Outcome.APPLY:
            planned.append((row, found.id, result.change))
    dry_s = time.perf_counter() - started
    started = time.perf_counter()
    for row, elder_id, change in planned:
        elder = (await session.execute(sa.select(ElderRow).where(ElderRow.id == elder_id)
                                       .with_for_update())).scalar_one()
        elder.status, elder.status_date, elder.updated_at = change.to_value, change.effective_date, now
        session.add(ElderStatusChangeRow(id=uuid.uuid4(), elder_id=elder.id, list_id=placeholder.id, kind="deaths",
                                         file="bench.csv", line=row.line, field="status",
                                         from_value=change.from_value, to_value=change.to_value,
                                         effective_date=change.effective_date, applied_by="bench", applied_at=now))
        add_event(session, make_event(ElderUpdated(**elder_facts(elder), changed_fields=["status", "status_date"],
                                                   change_source=ChangeSource(list_id="x", kind="deaths",
                                                                              file="bench.csv", line=row.line)),
                                      source="bench"))
        await session.flush()
    apply_s = time.perf_counter() - started
    out.update(rows=len(raws), applied=len(planned), dry_run_s=round(dry_s, 3), apply_s=round(apply_s, 3))


async def run(n: int) -> dict:
    rng = random.Random(20)
    key = Fernet.generate_key().decode()
    cipher = PiiCipher(key)
    name, url = await create_database()
    try:
        t0 = time.perf_counter()
        await asyncio.to_thread(upgrade, "assessment", url)
        elders = await seed(url, n, cipher, rng)
        now = datetime.now(timezone.utc)
        today = local_day(now)
        data = deaths_csv(elders, today, rng)
        setup_s = time.perf_counter() - t0
        print(f"setup: {n:,} elders and a {len(data) / 1e6:.1f} MB list in {setup_s:.1f} s")
        db = Database(url)
        try:
            raws = rules.read_csv(rules.Kind.DEATHS, data)
            sample = raws[:SAMPLE]
            # the baseline first, on rows the set-based run then applies for real (it rolls back)
            baseline = await row_by_row(db, cipher, sample, today, now)
            scale = len(raws) / len(sample)
            baseline["dry_run_extrapolated_s"] = round(baseline["dry_run_s"] * scale, 1)
            baseline["apply_extrapolated_s"] = round(baseline["apply_s"] * scale, 1)
            print(f"row by row on {len(sample):,} rows: dry run {baseline['dry_run_s']:.2f} s, apply "
                  f"{baseline['apply_s']:.2f} s → for {len(raws):,} rows ≈ {baseline['dry_run_extrapolated_s']:.0f} s "
                  f"and {baseline['apply_extrapolated_s']:.0f} s")

            started = time.perf_counter()
            async with db.transaction() as session:
                raws = rules.read_csv(rules.Kind.DEATHS, data)
                dry = await status_lists.upload_list(session, principal=OFFICER, cipher=cipher, kind="deaths",
                                                     source="bench-deaths.csv", raws=raws, now=now,
                                                     estimate=no_money)
            dry_s = time.perf_counter() - started
            print(f"dry run: {dry_s:.2f} s  counts {dry['counts']}")

            started = time.perf_counter()
            async with db.transaction() as session:
                applied = await status_lists.apply_list(session, principal=OFFICER, list_id=dry["list_id"],
                                                        source="bench", now=now)
            apply_s = time.perf_counter() - started
            print(f"apply: {apply_s:.2f} s  applied {applied['applied']:,}")

            started = time.perf_counter()
            async with db.transaction() as session:
                again = await status_lists.apply_list(session, principal=OFFICER, list_id=dry["list_id"],
                                                      source="bench", now=now)
            again_s = time.perf_counter() - started
            async with db.sessions() as session:
                outbox = (await session.execute(sa.text("SELECT count(*) FROM outbox"))).scalar_one()
                changes = (await session.execute(sa.text("SELECT count(*) FROM elder_status_changes"))).scalar_one()
                deceased = (await session.execute(sa.text("SELECT count(*) FROM elders WHERE status = 'deceased'"))
                            ).scalar_one()
            assert outbox == changes == deceased == applied["applied"], (outbox, changes, deceased)
            assert again["applied"] == 0
        finally:
            await db.dispose()
    finally:
        await drop_database(name)
    load = os.getloadavg()
    return {
        "benchmark": "status_lists", "backend": "postgresql", "cores": os.cpu_count(),
        "load_average_after": round(load[0], 2), "rows": len(raws), "elders": n, "setup_s": round(setup_s, 1),
        "counts": dry["counts"],
        "set_based": {"dry_run_s": round(dry_s, 2), "apply_s": round(apply_s, 2), "reapply_s": round(again_s, 2),
                      "applied": applied["applied"], "events": outbox},
        "row_by_row": baseline,
        "targets": {"dry_run_s": 30, "apply_s": 60},
        "speedup": {"dry_run": round(baseline["dry_run_extrapolated_s"] / dry_s, 1),
                    "apply": round(baseline["apply_extrapolated_s"] / apply_s, 1)},
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16,500 rows instead of 165,000")
    args = parser.parse_args()
    result = asyncio.run(run(16_500 if args.quick else 165_000))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("status_lists_quick.json" if args.quick else "status_lists.json")
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
