"""The candidate search on random data: the HTTP answer equals the exhaustive scan of the same
index, and equals a brute force written from the rules alone (plain Python over the generated
rows, haversine distances, no index). The rows go straight into the database, as another replica
or an import would leave them, and the service picks them up with its periodic look."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta

from services.providers.catalogue import standard_items_from_file
from services.providers.models import CaregiverRow, CatalogueItemRow, DocumentRow, OrderLoadRow, ProviderRow
from services.providers.nearest.rules.ranking import match_score
from services.providers.rules.registry import REQUIRED_DOCUMENTS
from services.providers.rules.staff import works_at
from shared.city import haversine_m
from tests.integration.providers_harness import START, clock_reset, moved, new_spot, providers
from tests.support.factories import new_credit_code

__all__ = ["providers", "clock_reset"]  # module fixtures, imported for pytest
TODAY = date(2026, 3, 10)
CODES = ("meal", "clean", "visit", "errand", "bath")
ALLOWED = {item["code"]: item["voucher_kinds"] for item in standard_items_from_file()}
POOL = 30  # ProvidersSettings.candidate_pool


def random_world(rng: random.Random, centre: tuple[float, float]) -> tuple[list, list, list, list, list]:
    def near(km: float) -> tuple[float, float]:
        return moved(centre, rng.uniform(-km, km) * 1000, rng.uniform(-km, km) * 1000)

    now = START
    providers, documents, items, caregivers, loads = [], [], [], [], []
    for i in range(14):
        kind = "mutual_aid_group" if i < 3 else rng.choice(["home_care_centre", "meal_point", "home_service_company"])
        at = near(5)
        status = "approved" if i < 11 else rng.choice(["suspended", "applied"])
        area_radius = rng.choice([None, None, rng.uniform(2_000, 8_000)])
        streets = rng.choice([[], [], ["城东街道"]])
        p = ProviderRow(id=uuid.uuid4(), kind=kind, legal_name=f"随机服务商{i}", credit_code=new_credit_code(),
                        district_code="321202", street="城东街道", address="测试地址", lat=at[0], lon=at[1],
                        contact_name="联系人", contact_phone="0523-86000000", star_rating=None, status=status,
                        status_reason=None, status_changed_at=now, area_radius_m=area_radius, area_streets=streets,
                        rating_sum=(n := rng.randint(0, 6)) * rng.randint(2, 5), rating_count=n, applied_by="t",
                        created_at=now, updated_at=now)
        providers.append(p)
        for doc_kind in REQUIRED_DOCUMENTS[kind]:
            if i == 4 and doc_kind == REQUIRED_DOCUMENTS[kind][0]:
                continue  # one approved provider is missing a document
            expires = TODAY - timedelta(days=3) if i == 5 else TODAY + timedelta(days=rng.randint(0, 900))
            documents.append(DocumentRow(id=uuid.uuid4(), provider_id=p.id, kind=doc_kind, number="N", issued_on=None,
                                         expires_on=expires, file_url=None, uploaded_by="t", uploaded_at=now))
        for code in rng.sample(CODES, rng.randint(2, 5)):
            allowed = ALLOWED[code]
            if kind == "mutual_aid_group":
                if "mutual_aid" not in allowed:
                    continue
                kinds = ["mutual_aid"]
            else:
                kinds = sorted(rng.sample(allowed, rng.randint(0, len(allowed))))
            items.append(CatalogueItemRow(id=uuid.uuid4(), provider_id=p.id, service_code=code, name=code,
                                          unit="per_visit", price_fen=rng.randint(0, 3000), min_duration_min=0,
                                          voucher_kinds=kinds, active=rng.random() > 0.15, created_at=now,
                                          updated_at=now))
    for j in range(260):
        p = rng.choice(providers)
        at = near(7)
        hours = rng.choice([[], [], [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "12:00"}]])
        c = CaregiverRow(id=uuid.uuid4(), provider_id=p.id, name=f"护理员{j}", gender=rng.choice(["female", "male"]),
                         skills=rng.sample(CODES, rng.randint(1, 4)), certificate_level=None, base_lat=at[0],
                         base_lon=at[1], service_radius_m=rng.uniform(1_000, 8_000), working_hours=hours,
                         daily_limit=rng.randint(1, 3), status="active" if rng.random() > 0.1 else "on_leave",
                         rating_sum=(n := rng.randint(0, 4)) * rng.randint(1, 5), rating_count=n,
                         created_at=now, updated_at=now)
        caregivers.append(c)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            loads.append(OrderLoadRow(order_id=uuid.uuid4(), caregiver_id=c.id, provider_id=p.id,
                                      day=rng.choice([TODAY, TODAY, TODAY - timedelta(days=1)]),
                                      cancelled=rng.random() < 0.2, updated_at=now))
    return providers, documents, items, caregivers, loads


def brute_force(world, *, code: str, point, k: int, voucher_kind, exclude: set, gender, at, street,
                previous: set) -> list[str]:
    providers, documents, items, caregivers, loads = world
    by_provider = {p.id: p for p in providers}
    latest: dict[tuple, date] = {}
    for d in documents:
        latest[(d.provider_id, d.kind)] = max(latest.get((d.provider_id, d.kind), d.expires_on), d.expires_on)
    offered = {(i.provider_id, i.service_code): i for i in items if i.active}
    load = {}
    for row in loads:
        if row.day == TODAY and not row.cancelled:
            load[row.caregiver_id] = load.get(row.caregiver_id, 0) + 1
    qualified = []
    for c in caregivers:
        p = by_provider[c.provider_id]
        item = offered.get((p.id, code))
        volunteer = p.kind == "mutual_aid_group"
        if (p.status != "approved" or p.id in exclude or c.status != "active" or code not in c.skills or item is None
                or any(latest.get((p.id, kind), date.min) < TODAY for kind in REQUIRED_DOCUMENTS[p.kind])
                or (voucher_kind and voucher_kind not in item.voucher_kinds)
                or (volunteer and ("mutual_aid" not in item.voucher_kinds or voucher_kind not in (None, "mutual_aid")))
                or load.get(c.id, 0) >= c.daily_limit or (gender and c.gender != gender)
                or (at and not works_at(c.working_hours, at))):
            continue
        distance = haversine_m(*point, c.base_lat, c.base_lon)
        if distance > c.service_radius_m:
            continue
        if p.area_radius_m is not None or p.area_streets:
            in_radius = p.area_radius_m is not None and haversine_m(*point, p.lat, p.lon) <= p.area_radius_m
            if not in_radius and not (street and street in p.area_streets):
                continue
        qualified.append((distance, c.id, c, p))
    qualified.sort(key=lambda q: (q[0], q[1]))
    scored = []
    for distance, cid, c, p in qualified[:POOL]:
        total, count = (c.rating_sum, c.rating_count) if c.rating_count else (p.rating_sum, p.rating_count)
        score = match_score(distance, total / count if count else None, load.get(cid, 0) / c.daily_limit,
                            rating_count=count, served_before=cid in previous)
        scored.append((-score.total, distance, cid))
    return [str(cid) for _, _, cid in sorted(scored)[:k]]


async def test_candidates_equal_the_exhaustive_scan_and_a_brute_force(providers):
    rng = random.Random(20260310)
    centre = new_spot()
    world = random_world(rng, centre)
    async with providers.db.transaction() as session:
        session.add_all(world[0])
        await session.flush()
        for rows in world[1:]:
            session.add_all(rows)
    await providers.search.sync(now=START)  # the periodic look: providers written since the last one
    shanghai_9am, shanghai_3pm = datetime.fromisoformat("2026-03-10T09:00:00+08:00"), datetime.fromisoformat(
        "2026-03-10T15:00:00+08:00")
    approved = [p.id for p in world[0] if p.status == "approved"]
    non_empty = 0
    for _ in range(40):
        point = moved(centre, rng.uniform(-5_000, 5_000), rng.uniform(-5_000, 5_000))
        query = dict(code=rng.choice(CODES), point=point, k=rng.randint(1, 12),
                     voucher_kind=rng.choice([None, None, "community", "mutual_aid"]),
                     exclude=set(rng.sample(approved, rng.choice([0, 0, 1, 2]))),
                     gender=rng.choice([None, None, "male"]),
                     at=rng.choice([None, shanghai_9am, shanghai_3pm]), street=rng.choice([None, "城东街道"]),
                     previous={c.id for c in rng.sample(world[3], 5)})
        answer = await providers.candidates(
            service_code=query["code"], lat=point[0], lon=point[1], k=query["k"], voucher_kind=query["voucher_kind"],
            exclude_providers=",".join(map(str, query["exclude"])) or None, gender=query["gender"],
            at=query["at"].isoformat() if query["at"] else None, street=query["street"],
            previous_caregivers=",".join(map(str, query["previous"])))
        exhaustive = providers.search.candidates(
            service_code=query["code"], lat=point[0], lon=point[1], k=query["k"], voucher_kind=query["voucher_kind"],
            exclude_providers=frozenset(query["exclude"]), gender=query["gender"], at=query["at"],
            street=query["street"], previous_caregivers=frozenset(query["previous"]), exhaustive=True)
        assert answer == exhaustive, query
        assert [c["caregiver_id"] for c in answer] == brute_force(world, **query), query
        non_empty += bool(answer)
    assert non_empty >= 20  # the sample exercises real answers, not only empty ones
