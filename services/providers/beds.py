"""Beds: institutions declare them and their daily rates, the orders service reserves, fills and
frees them for applications and stays, people search for a place, the bureau reads capacity.
Each function is one use case inside the caller's transaction; the rules are `rules/beds.py`.

The last free bed: every status change loads the bed row locked (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite takes its write lock at BEGIN), decides by the pure transition and writes, so
concurrent reservations of one bed queue and exactly one finds it free (docs/decisions.md, "Beds").
Every change publishes `youfu.provider.beds_changed.v1` in the same transaction.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import capacity_clauses, scoped_bed, scoped_provider
from services.providers.events import BedsChanged, publish
from services.providers.models import BedRateRow, BedRow, ProviderRow
from services.providers.rules import beds as rules
from services.providers.views import bed_rates_view, bed_view, place_view
from shared.auth import Principal
from shared.city import DISTRICTS, district_name
from shared.errors import Conflict, FieldError, Invalid

if TYPE_CHECKING:  # the bodies' types only: a use case does not depend on the HTTP layer
    from services.providers.schemas import BedIn, BedPatch, BedRateIn

POLICY_FILE = Path(__file__).with_name("bed_policy.json")
COUNTED_PROVIDERS = ("approved", "suspended")  # a suspended institution's residents still live there


def load_bed_policies(path: Path = POLICY_FILE) -> tuple[rules.BedPolicy, ...]:
    """The bed policy's versions, read once at start-up (the runtime keeps them)."""
    return rules.parse_policies(json.loads(path.read_text(encoding="utf-8")))


# ---- the desk: declaring and managing beds ------------------------------------------------------

async def declare_beds(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, beds: list[BedIn],
                       now: datetime) -> list[dict]:
    """One or many beds, all free; a room and bed number already declared (or twice in the body) is
    409 naming them, and nothing is written."""
    provider = await scoped_provider(session, principal, provider_id, "manage", for_update=True)
    problem = rules.declare_problem(provider.kind)
    if problem is not None:
        raise problem
    keys = [(b.room.strip(), b.bed_no.strip()) for b in beds]
    existing = set((await session.execute(sa.select(BedRow.room, BedRow.bed_no).where(
        BedRow.provider_id == provider_id))).tuples())
    repeated = sorted({k for k in keys if k in existing or keys.count(k) > 1})
    if repeated:
        raise Conflict("这些床位已经登记过：" + "、".join(f"{room} 房 {bed} 床" for room, bed in repeated),
                       beds=[{"room": room, "bed_no": bed} for room, bed in repeated])
    rows = [BedRow(bed_id=uuid.uuid4(), provider_id=provider_id, room=room, bed_no=bed_no, care_level=b.care_level,
                   room_gender=b.room_gender, status="free", application_id=None, stay_id=None, created_at=now,
                   updated_at=now) for (room, bed_no), b in zip(keys, beds, strict=True)]
    session.add_all(rows)
    try:
        await session.flush()
    except IntegrityError:  # cannot happen under the provider's lock; a guard for the unique key
        raise Conflict("床位已经登记过") from None
    for row in rows:
        _publish(session, row, provider, now)
    return [bed_view(r) for r in rows]


async def list_beds(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                    status: str | None, care_level: str | None) -> list[dict]:
    """The beds board: the provider's staff, officers of its district, the city."""
    await scoped_provider(session, principal, provider_id, "staff")
    query = sa.select(BedRow).where(BedRow.provider_id == provider_id)
    if status:
        query = query.where(BedRow.status == status)
    if care_level:
        query = query.where(BedRow.care_level == care_level)
    rows = (await session.execute(query.order_by(BedRow.room, BedRow.bed_no))).scalars()
    return [bed_view(r) for r in rows]


async def patch_bed(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID, body: BedPatch,
                    now: datetime) -> dict:
    """The desk takes a free bed out of service or back, or changes the room's gender."""
    bed, provider = await scoped_bed(session, principal, bed_id, "manage", for_update=True)
    changes = body.model_dump(exclude_unset=True)
    changed = False
    if changes.get("status") is not None:
        after = rules.after_desk_status(_state(bed), changes["status"])
        changed = _apply(bed, after)
    elif "status" in changes:
        raise Invalid("不能清空床位状态", errors=[FieldError("status", "不能为空")])
    if "room_gender" in changes and changes["room_gender"] != bed.room_gender:
        bed.room_gender, changed = changes["room_gender"], True
    if changed:
        bed.updated_at = now
        _publish(session, bed, provider, now)
    return bed_view(bed)


# ---- the orders service: reserve, occupy, release -----------------------------------------------

async def reserve_bed(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID,
                      application_id: uuid.UUID, now: datetime) -> dict:
    """free → reserved for the application (409 "该床位已被占用" otherwise); the same application
    again answers the same bed, unchanged."""
    bed, provider = await scoped_bed(session, principal, bed_id, "hold", for_update=True)
    after = rules.after_reserve(_state(bed), application_id, provider_open=provider.status == "approved")
    return _commit_change(session, bed, provider, after, now)


async def occupy_bed(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID,
                     application_id: uuid.UUID | None, stay_id: uuid.UUID, now: datetime) -> dict:
    """reserved (by the application, or by the stay itself for a transfer) → occupied by the stay."""
    bed, provider = await scoped_bed(session, principal, bed_id, "hold", for_update=True)
    after = rules.after_occupy(_state(bed), application_id or stay_id, stay_id)
    return _commit_change(session, bed, provider, after, now)


async def release_bed(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID,
                      application_id: uuid.UUID | None, stay_id: uuid.UUID | None, now: datetime) -> dict:
    """→ free when the application or the stay holds it; otherwise the bed as it is."""
    holders = {h for h in (application_id, stay_id) if h is not None}
    if not holders:
        raise Invalid("请填写申请编号或入住编号", errors=[FieldError("application_id", "与 stay_id 至少填一个")])
    bed, provider = await scoped_bed(session, principal, bed_id, "hold", for_update=True)
    return _commit_change(session, bed, provider, rules.after_release(_state(bed), holders), now)


def _state(bed: BedRow) -> rules.BedState:
    return rules.BedState(bed.status, bed.application_id, bed.stay_id)


def _apply(bed: BedRow, after: rules.BedState | None) -> bool:
    if after is None:
        return False
    bed.status, bed.application_id, bed.stay_id = after.status, after.application_id, after.stay_id
    return True


def _commit_change(session: AsyncSession, bed: BedRow, provider: ProviderRow, after: rules.BedState | None,
                   now: datetime) -> dict:
    if _apply(bed, after):
        bed.updated_at = now
        _publish(session, bed, provider, now)
    return bed_view(bed)


def _publish(session: AsyncSession, bed: BedRow, provider: ProviderRow, now: datetime) -> None:
    publish(session, BedsChanged(provider_id=bed.provider_id, bed_id=bed.bed_id, status=bed.status,
                                 care_level=bed.care_level, district_code=provider.district_code, room=bed.room,
                                 bed_no=bed.bed_no, room_gender=bed.room_gender, application_id=bed.application_id,
                                 stay_id=bed.stay_id, changed_at=now))


# ---- daily rates ------------------------------------------------------------------------------

async def put_bed_rates(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                        rates: list[BedRateIn], policy: rules.BedPolicy, now: datetime) -> dict:
    """Set the listed care levels' daily rates (others unchanged); each at most the guide rate of
    the policy in force (422 naming the level and the guide)."""
    provider = await scoped_provider(session, principal, provider_id, "manage", for_update=True)
    problem = rules.declare_problem(provider.kind)
    if problem is not None:
        raise problem
    errors = rules.rate_problems([(r.care_level, r.daily_rate_fen) for r in rates], policy)
    if errors:
        raise Invalid("床位日价格不能高于指导价", errors=errors, policy_version=policy.version)
    current = await _rates(session, provider_id)
    for r in rates:
        row = current.get(r.care_level)
        if row is None:
            row = current[r.care_level] = BedRateRow(provider_id=provider_id, care_level=r.care_level)
            session.add(row)
        row.daily_rate_fen, row.policy_version, row.updated_by, row.updated_at = (
            r.daily_rate_fen, policy.version, principal.user_id, now)
    return bed_rates_view(provider_id, current, policy)


async def bed_rates(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                    policy: rules.BedPolicy) -> dict:
    """Anyone who may see the provider (the orders service reads the rate at admission)."""
    await scoped_provider(session, principal, provider_id, "public")
    return bed_rates_view(provider_id, await _rates(session, provider_id), policy)


async def _rates(session: AsyncSession, provider_id: uuid.UUID) -> dict[str, BedRateRow]:
    rows = (await session.execute(sa.select(BedRateRow).where(BedRateRow.provider_id == provider_id))).scalars()
    return {r.care_level: r for r in rows}


# ---- finding a place --------------------------------------------------------------------------

async def search_places(session: AsyncSession, *, lat: float, lon: float, care_level: str, gender: str | None,
                        limit: int, policy: rules.BedPolicy) -> list[dict]:
    """Approved institutions with a free bed of the care level in a room that fits the gender and a
    daily rate for that level, ranked exactly (`rules.rank_places`). An exact scan: a city has a few
    hundred such institutions at most, so the database's count of free beds per institution is one
    indexed query and no in-memory index has to be kept in step with every bed change."""
    free = (sa.select(BedRow.provider_id, sa.func.count().label("free_beds"))
            .where(BedRow.status == "free", BedRow.care_level == care_level,
                   sa.or_(BedRow.room_gender.is_(None), BedRow.room_gender == gender) if gender else sa.true())
            .group_by(BedRow.provider_id).subquery())
    query = (sa.select(ProviderRow, free.c.free_beds, BedRateRow.daily_rate_fen)
             .join(free, free.c.provider_id == ProviderRow.id)
             .join(BedRateRow, sa.and_(BedRateRow.provider_id == ProviderRow.id, BedRateRow.care_level == care_level))
             .where(ProviderRow.status == "approved", ProviderRow.kind.in_(rules.BED_KINDS)))
    providers: dict[uuid.UUID, ProviderRow] = {}
    places = []
    for provider, free_beds, rate in (await session.execute(query)).tuples():
        providers[provider.id] = provider
        rating = provider.rating_sum / provider.rating_count if provider.rating_count else None
        places.append(rules.Place(provider.id, provider.lat, provider.lon, rating, provider.rating_count, rate,
                                  policy.guide_daily_rate_fen[care_level], free_beds))
    ranked = rules.rank_places(places, lat=lat, lon=lon, limit=limit)
    return [place_view(r, providers[r.place.provider_id], care_level) for r in ranked]


# ---- capacity ---------------------------------------------------------------------------------

async def bed_capacity(session: AsyncSession, *, principal: Principal, district_code: str | None,
                       policy: rules.BedPolicy) -> dict:
    """Beds by status per institution, per district and in total, with the nursing share against
    the plan's target. Institutions approved or suspended count; applicants' beds do not yet."""
    clauses = capacity_clauses(principal, district_code)
    query = (sa.select(ProviderRow.id, ProviderRow.legal_name, ProviderRow.kind, ProviderRow.district_code,
                       BedRow.status, BedRow.care_level, sa.func.count())
             .join(BedRow, BedRow.provider_id == ProviderRow.id)
             .where(ProviderRow.status.in_(COUNTED_PROVIDERS), *clauses)
             .group_by(ProviderRow.id, ProviderRow.legal_name, ProviderRow.kind, ProviderRow.district_code,
                       BedRow.status, BedRow.care_level))
    total = rules.Capacity()
    by_district: dict[str, rules.Capacity] = defaultdict(rules.Capacity)
    by_institution: dict[uuid.UUID, rules.Capacity] = defaultdict(rules.Capacity)
    names: dict[uuid.UUID, tuple[str, str, str]] = {}
    for provider_id, name, kind, district, status, level, n in (await session.execute(query)).tuples():
        names[provider_id] = (name, kind, district)
        for figures in (total, by_district[district], by_institution[provider_id]):
            figures.add(status, level, n)
    target = policy.nursing_share_target
    districts = [{"district_code": code, "district_name": district_name(code)} | by_district[code].figures(target)
                 for code in sorted(by_district, key=lambda c: (c not in DISTRICTS, c))]
    institutions = [{"provider_id": str(pid), "name": names[pid][0], "kind": names[pid][1],
                     "district_code": names[pid][2]} | by_institution[pid].figures(target)
                    for pid in sorted(by_institution, key=lambda p: (names[p][2], names[p][0], str(p)))]
    return {"policy_version": policy.version, "nursing_share_target": target, "total": total.figures(target),
            "districts": districts, "institutions": institutions}

