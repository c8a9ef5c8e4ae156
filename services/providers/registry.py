"""Provider organisations: application, review (approve, reject, suspend, reinstate), star
rating, qualification documents and the service area. Each function is one use case inside the
caller's transaction; who may do it is written into the query that loads the provider."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import CITY_ROLES, STAFF_ROLES, scope_clauses, scoped_provider, sees_details
from services.providers.events import ProviderApproved, ProviderReinstated, ProviderSuspended, publish
from services.providers.geocoding import NOT_RECOGNISED
from services.providers.models import DocumentRow, ProviderHistoryRow, ProviderRow
from services.providers.rules import registry as rules
from services.providers.rules.credit_code import validate_credit_code
from services.providers.views import document_view, documents_view, provider_detail, provider_public
from shared.auth import Principal, require_role
from shared.city import DISTRICTS, local_day
from shared.errors import Conflict, FieldError, Forbidden, Invalid

if TYPE_CHECKING:  # the bodies' types only: a use case does not depend on the HTTP layer
    from services.providers.schemas import DocumentIn, ProviderApplication

STATUS_EVENTS = {"approve": ProviderApproved, "suspend": ProviderSuspended, "reinstate": ProviderReinstated}
MAX_AREA_RADIUS_M = 200_000.0  # the search index's own bound on any reach


def check_application(body: ProviderApplication) -> str:
    """Every field-level problem at once (422, nothing written); the normalised credit code.
    `body` has its point already geocoded from the address when none was given (see `api/registry.py`)."""
    errors: list[FieldError] = []
    code = ""
    try:
        code = validate_credit_code(body.credit_code)
    except Invalid as exc:
        errors += exc.errors
    if body.district_code not in DISTRICTS:
        errors.append(FieldError("district_code", "不是本市的区县代码（如海陵区 321202）"))
    if body.lat is None and body.lon is None:  # neither given, and the address was not recognised
        errors.append(FieldError("address", NOT_RECOGNISED))
    else:
        errors += rules.location_problems(body.lat, body.lon)
    if errors:
        raise Invalid("申请信息有误，请按提示修改后再提交", errors=errors)
    return code


async def apply(session: AsyncSession, *, principal: Principal, body: ProviderApplication, credit_code: str,
                now: datetime) -> dict:
    """A provider applies to join (入驻申请); an officer may file it on the provider's behalf."""
    require_role(principal, "provider_admin", "officer", "city_officer")
    if principal.role == "officer" and body.district_code != principal.district:
        raise Forbidden("只能为本区县的服务商提交申请")
    taken = await session.scalar(sa.select(ProviderRow.id).where(ProviderRow.credit_code == credit_code))
    if taken is not None:
        raise Conflict("这个统一社会信用代码已经登记过，请勿重复申请",
                       errors=[FieldError("credit_code", "已登记")])
    row = ProviderRow(
        id=uuid.uuid4(), kind=body.kind, legal_name=body.legal_name.strip(), credit_code=credit_code,
        district_code=body.district_code, street=rules.normalize_street(body.street) if body.street else None,
        address=body.address, lat=body.lat, lon=body.lon, contact_name=body.contact_name,
        contact_phone=body.contact_phone, star_rating=body.star_rating, status="applied", status_reason=None,
        status_changed_at=now, area_radius_m=None, area_streets=[], rating_sum=0, rating_count=0,
        applied_by=principal.user_id, created_at=now, updated_at=now)
    session.add(row)
    try:
        await session.flush()  # the provider first: its history row refers to it
    except IntegrityError:  # a concurrent application with the same code won
        raise Conflict("这个统一社会信用代码已经登记过，请勿重复申请",
                       errors=[FieldError("credit_code", "已登记")]) from None
    _history(session, row, action="apply", from_status=None, reason=body.note or "提交入驻申请",
             principal=principal, now=now)
    docs = (await document_states(session, providers=[row], today=local_day(now)))[row.id]
    return provider_detail(row, docs)


async def change_status(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, action: str,
                        reason: str | None, now: datetime) -> dict:
    """approve / reject / suspend / reinstate, by an officer of the provider's district (or city level)."""
    row = await scoped_provider(session, principal, provider_id, "review", for_update=True)
    to_status = rules.next_status(row.status, action)
    docs = (await document_states(session, providers=[row], today=local_day(now)))[row.id]
    if to_status == "approved" and not docs.ok:
        # approval vouches for the documents as of today; an expired one would bar orders at once
        raise Conflict(f"资质文件不全或已过期：{rules.documents_problem(docs)}。请服务商补充后再审核",
                       missing=list(docs.missing), expired=list(docs.expired))
    if not reason and action != "approve":
        raise Invalid("请填写原因", errors=[FieldError("reason", "此项必填")])
    reason = reason or "资质审核通过"
    from_status = row.status
    row.status, row.status_reason, row.status_changed_at, row.updated_at = to_status, reason, now, now
    _history(session, row, action=action, from_status=from_status, reason=reason, principal=principal, now=now)
    event = STATUS_EVENTS.get(action)
    if event is not None:
        publish(session, event(provider_id=row.id, name=row.legal_name, kind=row.kind,
                               district_code=row.district_code, status=to_status, reason=reason,
                               changed_by=principal.user_id, changed_at=now))
    return provider_detail(row, docs)


async def set_star_rating(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                          star_rating: int | None, reason: str, now: datetime) -> dict:
    row = await scoped_provider(session, principal, provider_id, "review", for_update=True)
    before = row.star_rating
    row.star_rating, row.updated_at = star_rating, now
    _history(session, row, action="star_rating", from_status=row.status,
             reason=f"星级 {before or '无'} → {star_rating or '无'}：{reason}", principal=principal, now=now)
    docs = (await document_states(session, providers=[row], today=local_day(now)))[row.id]
    return provider_detail(row, docs)


async def get_provider(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, today: date) -> dict:
    row = await scoped_provider(session, principal, provider_id, "public")
    if not sees_details(principal, row):
        return provider_public(row)
    return provider_detail(row, (await document_states(session, providers=[row], today=today))[row.id])


async def list_providers(session: AsyncSession, *, principal: Principal, district_code: str | None,
                         status: str | None, kind: str | None, limit: int, offset: int, today: date) -> list[dict]:
    """Officers see their own district, city level all; everyone else the approved ones only."""
    if principal.role == "officer" and district_code and district_code != principal.district:
        raise Forbidden("只能查看本区县的服务商", district_code=district_code)
    query = sa.select(ProviderRow)
    if principal.role == "officer":
        query = query.where(ProviderRow.district_code == principal.district)
    elif principal.role not in CITY_ROLES and principal.role != "service":
        query = query.where(ProviderRow.status == "approved")
    for column, value in ((ProviderRow.district_code, district_code), (ProviderRow.status, status),
                          (ProviderRow.kind, kind)):
        if value:
            query = query.where(column == value)
    rows = list((await session.execute(query.order_by(ProviderRow.district_code, ProviderRow.legal_name,
                                                      ProviderRow.id).limit(limit).offset(offset))).scalars())
    detailed = [r for r in rows if sees_details(principal, r)]
    docs = await document_states(session, providers=detailed, today=today)
    return [provider_detail(r, docs[r.id]) if r.id in docs else provider_public(r) for r in rows]


async def history(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID) -> list[dict]:
    await scoped_provider(session, principal, provider_id, "staff")
    rows = (await session.execute(sa.select(ProviderHistoryRow).where(ProviderHistoryRow.provider_id == provider_id)
                                  .order_by(ProviderHistoryRow.seq))).scalars()
    return [{"action": r.action, "from_status": r.from_status, "to_status": r.to_status, "reason": r.reason,
             "actor_id": r.actor_id, "actor_role": r.actor_role, "at": r.at} for r in rows]


def _history(session: AsyncSession, row: ProviderRow, *, action: str, from_status: str | None, reason: str,
             principal: Principal, now: datetime) -> None:
    session.add(ProviderHistoryRow(provider_id=row.id, action=action, from_status=from_status,
                                   to_status=row.status, reason=reason, actor_id=principal.user_id,
                                   actor_role=principal.role, at=now))


# ---- documents ---------------------------------------------------------------------------------

async def latest_expiries(session: AsyncSession, *,
                          provider_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, date]]:
    ids = list(provider_ids)
    out: dict[uuid.UUID, dict[str, date]] = {pid: {} for pid in ids}
    if not ids:
        return out
    rows = await session.execute(
        sa.select(DocumentRow.provider_id, DocumentRow.kind, sa.func.max(DocumentRow.expires_on))
        .where(DocumentRow.provider_id.in_(ids)).group_by(DocumentRow.provider_id, DocumentRow.kind))
    for provider_id, kind, expires_on in rows:
        out[provider_id][kind] = expires_on
    return out


async def document_states(session: AsyncSession, *, providers: Iterable[ProviderRow],
                          today: date) -> dict[uuid.UUID, rules.DocumentState]:
    providers = list(providers)
    expiries = await latest_expiries(session, provider_ids=[p.id for p in providers])
    return {p.id: rules.document_state(p.kind, expiries[p.id], today) for p in providers}


def _document_purpose(principal: Principal) -> str:
    # the provider's administrator uploads its own; an officer may record one seen on paper
    return "manage" if principal.role in STAFF_ROLES else "review"


async def add_document(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID, body: DocumentIn,
                       now: datetime) -> dict:
    row = await scoped_provider(session, principal, provider_id, _document_purpose(principal))
    today = local_day(now)
    if body.expires_on < today:
        raise Invalid("证件已过期，请上传有效期内的证件", errors=[FieldError("expires_on", "已过期")])
    if body.issued_on and body.issued_on > body.expires_on:
        raise Invalid("发证日期晚于有效期", errors=[FieldError("issued_on", "不能晚于有效期截止日")])
    doc = DocumentRow(id=uuid.uuid4(), provider_id=row.id, kind=body.kind, number=body.number.strip(),
                      issued_on=body.issued_on, expires_on=body.expires_on, file_url=body.file_url,
                      uploaded_by=principal.user_id, uploaded_at=now)
    session.add(doc)
    await session.flush()
    return document_view(doc, row, today)


async def list_documents(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                         today: date) -> dict:
    row = await scoped_provider(session, principal, provider_id, "staff")
    docs = (await session.execute(sa.select(DocumentRow).where(DocumentRow.provider_id == provider_id)
                                  .order_by(DocumentRow.kind, DocumentRow.expires_on.desc()))).scalars()
    state = (await document_states(session, providers=[row], today=today))[row.id]
    return {"state": documents_view(state), "documents": [document_view(d, row, today) for d in docs]}


async def expiring_documents(session: AsyncSession, *, principal: Principal, within_days: int,
                             today: date) -> list[dict]:
    """Each provider's latest document of each kind that runs out within `within_days` (or has
    run out already, days_left < 0), soonest first; officers see their district."""
    latest = (sa.select(DocumentRow.provider_id, DocumentRow.kind, sa.func.max(DocumentRow.expires_on).label("until"))
              .group_by(DocumentRow.provider_id, DocumentRow.kind).subquery())
    query = (sa.select(ProviderRow, DocumentRow)
             .join(latest, latest.c.provider_id == ProviderRow.id)
             .join(DocumentRow, sa.and_(DocumentRow.provider_id == latest.c.provider_id,
                                        DocumentRow.kind == latest.c.kind, DocumentRow.expires_on == latest.c.until))
             .where(latest.c.until <= today + timedelta(days=within_days), ProviderRow.status != "rejected",
                    *scope_clauses(principal, "review"))
             .order_by(latest.c.until, ProviderRow.legal_name, ProviderRow.id, DocumentRow.kind,
                       DocumentRow.uploaded_at.desc()))
    seen: set[tuple] = set()
    out = []
    for provider, doc in (await session.execute(query)).all():
        if (provider.id, doc.kind) not in seen:  # two uploads with the same expiry: show the newer
            seen.add((provider.id, doc.kind))
            out.append(document_view(doc, provider, today))
    return out


# ---- service area ------------------------------------------------------------------------------

async def set_service_area(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID,
                           radius_m: float | None, streets: list[str], now: datetime) -> dict:
    row = await scoped_provider(session, principal, provider_id, "manage", for_update=True)
    if radius_m is not None and not 0 < radius_m <= MAX_AREA_RADIUS_M:
        raise Invalid("服务半径不正确", errors=[FieldError("radius_m", "应大于 0 且不超过 200 公里")])
    row.area_radius_m = radius_m
    row.area_streets = sorted({rules.normalize_street(s) for s in streets if s.strip()})
    row.updated_at = now
    return {"radius_m": row.area_radius_m, "streets": row.area_streets}
