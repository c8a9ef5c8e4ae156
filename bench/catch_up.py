"""Benchmark: the providers service's periodic look (`CandidateSearch.sync`, every 2 s in each
replica) in a busy hour of a city, against what it did before D75.

    .venv/bin/python bench/catch_up.py              # 400 providers × 25 caregivers, 2,000 accepts
    .venv/bin/python bench/catch_up.py --quick      # 100 × 10, 300 accepts

Why: each replica's index learns the loads another replica's consumer wrote (an accept, a
cancellation) only from the database. Until D75 a load written since the last look made its whole
provider "changed", and the look re-read that provider (status, documents, catalogue, every
caregiver, every load of the day) at every look for SYNC_OVERLAP after: in a busy hour, every
provider with orders, every 2 s. Now the look reads the changed caregivers' counts of the day.

What runs: a PostgreSQL database made here (migrations of the providers service), `--providers`
approved home-care centres with valid documents and a 助餐 item, `--caregivers` each, spread over
the city's centre; the index built as at start-up; then `--accepts` order loads written in one
look's window (as other replicas' consumers write them), on caregivers of `--busy` of the
providers. Timed on the same data, alternately, `--repeat` times each:

  before (D62)  what the look did then: the providers with anything changed, loads included,
                each re-read whole (`refresh_provider`)
  now (D75)     `CandidateSearch.sync`: the providers whose own facts changed (none here) and
                the changed caregivers' loads

Reported: each one's median wall time and this process's CPU per look (PostgreSQL's share is
the rest of the wall time, roughly), and the ratio. The index must end the same either way (every
caregiver's load equal). Writes bench/results/catch_up.json; drops its database.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from live_platform import create_database, drop_database  # noqa: E402

from services.providers.catalogue import ensure_standard_catalogue  # noqa: E402
from services.providers.models import (  # noqa: E402
    CaregiverRow,
    CatalogueItemRow,
    DocumentRow,
    OrderLoadRow,
    ProviderRow,
)
from services.providers.nearest.candidates import SYNC_OVERLAP, CandidateSearch  # noqa: E402
from services.providers.nearest.index_source import changed_providers  # noqa: E402
from services.providers.nearest.rules.ranking import ScoreWeights  # noqa: E402
from services.providers.rules.registry import REQUIRED_DOCUMENTS  # noqa: E402
from shared.city import CITY_TZ, local_day  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CENTRE = (32.49, 119.92)  # 海陵
KIND = "home_care_centre"


def near(rng: random.Random, km: float) -> tuple[float, float]:
    return CENTRE[0] + rng.uniform(-km, km) / 111.2, CENTRE[1] + rng.uniform(-km, km) / 94.0


async def seed(db: Database, *, n_providers: int, per_provider: int, at: datetime, today: date,
               rng: random.Random) -> list[CaregiverRow]:
    caregivers: list[CaregiverRow] = []
    async with db.transaction() as s:
        for i in range(n_providers):
            lat, lon = near(rng, 15)
            p = ProviderRow(id=uuid.uuid4(), kind=KIND, legal_name=f"压测服务商{i}", credit_code=f"BENCH{i:013d}",
                            district_code="321202", street="城东街道", address="压测地址", lat=lat, lon=lon,
                            contact_name="联系人", contact_phone="0523-86000000", star_rating=None, status="approved",
                            status_reason=None, status_changed_at=at, area_radius_m=None, area_streets=[],
                            rating_sum=0, rating_count=0, applied_by="bench", created_at=at, updated_at=at)
            s.add(p)
            await s.flush()
            for kind in REQUIRED_DOCUMENTS[KIND]:
                s.add(DocumentRow(id=uuid.uuid4(), provider_id=p.id, kind=kind, number="N", issued_on=None,
                                  expires_on=today + timedelta(days=365), file_url=None, uploaded_by="bench",
                                  uploaded_at=at))
            s.add(CatalogueItemRow(id=uuid.uuid4(), provider_id=p.id, service_code="meal", name="助餐",
                                   unit="per_visit", price_fen=1500, min_duration_min=0, voucher_kinds=["community"],
                                   active=True, created_at=at, updated_at=at))
            for j in range(per_provider):
                clat, clon = near(rng, 15)
                c = CaregiverRow(id=uuid.uuid4(), provider_id=p.id, name=f"护理员{i}-{j}", gender="female",
                                 skills=["meal"], certificate_level=None, base_lat=clat, base_lon=clon,
                                 service_radius_m=6_000.0, working_hours=[], daily_limit=50, status="active",
                                 rating_sum=0, rating_count=0, created_at=at, updated_at=at)
                s.add(c)
                caregivers.append(c)
    return caregivers


async def write_accepts(db: Database, caregivers: list[CaregiverRow], *, n: int, at: datetime, today: date) -> None:
    async with db.transaction() as s:
        for c in caregivers[:n] if n <= len(caregivers) else [caregivers[i % len(caregivers)] for i in range(n)]:
            s.add(OrderLoadRow(order_id=uuid.uuid4(), caregiver_id=c.id, provider_id=c.provider_id, day=today,
                               cancelled=False, updated_at=at))


async def look_before(search: CandidateSearch, *, now: datetime) -> None:
    """The look as it was until D75: a load written made its provider changed, re-read whole."""
    since = search.synced_at - SYNC_OVERLAP
    async with search.db.sessions() as session:
        changed = await changed_providers(session, since=since)
        changed |= set((await session.execute(
            sa.select(CaregiverRow.provider_id).join(OrderLoadRow, OrderLoadRow.caregiver_id == CaregiverRow.id)
            .where(OrderLoadRow.updated_at >= since))).scalars())
    for provider_id in changed:
        await search.refresh_provider(provider_id)
    search.synced_at = now


async def look_now(search: CandidateSearch, *, now: datetime) -> None:
    await search.sync(now=now)


async def run(args) -> dict:
    name = await asyncio.to_thread(create_database, "catchup")  # live_platform's helpers, run off this loop
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await asyncio.to_thread(upgrade, "providers", url)
        db = Database(url)
        rng = random.Random(args.seed)
        at = datetime(2026, 3, 10, 11, 0, tzinfo=CITY_TZ)
        today = local_day(at)
        started = time.perf_counter()
        await ensure_standard_catalogue(db, now=at)
        caregivers = await seed(db, n_providers=args.providers, per_provider=args.caregivers, at=at, today=today,
                                rng=rng)
        # the busy providers' caregivers, shuffled: one accept each (more wrap round)
        busy = set(rng.sample(sorted({c.provider_id for c in caregivers}), min(args.busy, args.providers)))
        on_busy = [c for c in caregivers if c.provider_id in busy]
        rng.shuffle(on_busy)
        seed_s = time.perf_counter() - started

        now = at + timedelta(minutes=10)  # the set-up's own writes are older than a look's window
        search = CandidateSearch(db, weights=ScoreWeights(), pool_size=50, today=lambda: today)
        await search.rebuild(now=now - timedelta(minutes=1))
        await write_accepts(db, on_busy, n=args.accepts, at=now - timedelta(seconds=1), today=today)

        timings: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
        looks = {"before": look_before, "now": look_now}
        for i in range(args.repeat):
            for label in (("before", "now") if i % 2 == 0 else ("now", "before")):
                search.synced_at = now - timedelta(seconds=2)  # the last look, 2 s ago
                wall, cpu = time.perf_counter(), time.process_time()
                await looks[label](search, now=now)
                timings[label].append((time.perf_counter() - wall, time.process_time() - cpu))
        async with db.sessions() as s:
            loads = dict((await s.execute(sa.select(OrderLoadRow.caregiver_id, sa.func.count())
                                          .group_by(OrderLoadRow.caregiver_id))).all())
        mismatched = sum(search.index.get(c.id).daily_load != loads.get(c.id, 0) for c in caregivers)
        await db.dispose()
    finally:
        await asyncio.to_thread(drop_database, name)

    def summary(label: str) -> dict:
        walls, cpus = zip(*timings[label])
        return {"wall_ms_median": statistics.median(walls) * 1000, "cpu_ms_median": statistics.median(cpus) * 1000,
                "wall_ms_all": [round(w * 1000, 2) for w in walls]}

    before, after = summary("before"), summary("now")
    return {
        "benchmark": "catch_up", "providers": args.providers, "caregivers_per_provider": args.caregivers,
        "busy_providers": len(busy), "accepts_in_window": args.accepts, "repeat": args.repeat, "seed_s": round(seed_s, 1),
        "before_d62": before, "now_d75": after,
        "wall_ratio_before_over_now": before["wall_ms_median"] / after["wall_ms_median"],
        "cpu_ratio_before_over_now": before["cpu_ms_median"] / max(after["cpu_ms_median"], 1e-6),
        "looks_per_s_each_replica": 0.5,
        "index_loads_mismatched": mismatched,
        "cores": os.cpu_count(), "measured_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--providers", type=int)
    ap.add_argument("--caregivers", type=int, help="caregivers per provider")
    ap.add_argument("--busy", type=int, help="providers whose caregivers accepted orders in the window")
    ap.add_argument("--accepts", type=int, help="order loads written in one look's window")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS / "catch_up.json")
    args = ap.parse_args()
    args.providers = args.providers or (100 if args.quick else 400)
    args.caregivers = args.caregivers or (10 if args.quick else 25)
    args.busy = args.busy or (60 if args.quick else 300)
    args.accepts = args.accepts or (300 if args.quick else 2_000)
    result = asyncio.run(run(args))
    b, n = result["before_d62"], result["now_d75"]
    print(f"{args.providers} providers × {args.caregivers} caregivers, {result['busy_providers']} busy, "
          f"{args.accepts:,} accepts in one look's window; median of {args.repeat} looks each, alternated")
    print("| look | wall ms | this process's CPU ms |\n|---|---:|---:|")
    print(f"| before (D62: busy providers re-read whole) | {b['wall_ms_median']:,.1f} | {b['cpu_ms_median']:,.1f} |")
    print(f"| now (D75: the changed caregivers' loads) | {n['wall_ms_median']:,.1f} | {n['cpu_ms_median']:,.1f} |")
    print(f"before / now: {result['wall_ratio_before_over_now']:.1f}× the wall time, "
          f"{result['cpu_ratio_before_over_now']:.1f}× the CPU; a look runs every 2 s in each replica")
    print(f"index loads equal to the database's after the looks: {result['index_loads_mismatched'] == 0} "
          f"({result['index_loads_mismatched']} mismatched)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
