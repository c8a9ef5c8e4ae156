"""What every use case of the providers service shares: the clock, who may see what (written
into the queries), document state, publishing, and the views people read.

The use cases live in named modules: `registry` (applications, life cycle, documents, service
area), `catalogue` (the city's standard items and each provider's own), `staff` (caregivers),
`search` (the in-memory candidate index) and `ratings` (reviews and daily load from order
events). Each takes the caller's one transaction (`AsyncSession`) and keyword-only arguments;
`api.py` and `consumers.py` open it.

Scoping rule, everywhere: a list holds only what the caller may see; one record outside the
caller's scope is "not found" (404) exactly as if it did not exist; a list asked for a scope
outside the caller's own (another district) is refused (403).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers import domain
from services.providers.models import DocumentRow, ProviderRow
from shared.auth import Principal, require_role
from shared.db import utcnow
from shared.errors import NotFound
from shared.events import make_event
from shared.outbox import add_event

SOURCE = "/youfu/providers"
CITY_ROLES = frozenset({"city_officer", "admin"})
REVIEW_ROLES = ("officer", "city_officer", "admin")
STAFF_ROLES = frozenset({"provider_admin", "caregiver"})
PUBLIC_STATUSES = ("approved", "suspended")  # once approved, a provider stays nameable (order history)


def current_time(ctx) -> datetime:
    """Now, or the test's clock when one was given to `create_app`."""
    clock = ctx.extras.get("clock")
    return clock() if clock is not None else utcnow()


def publish(session: AsyncSession, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the caller's transaction has committed (never on rollback): in-memory
    state such as the search index must not run ahead of the database."""
    sa.event.listen(session.sync_session, "after_commit", lambda _s: callback(), once=True)


def as_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def provider_not_found() -> NotFound:
    return NotFound("没有这个服务商，或您无权查看", resource="provider")


# ---- scope -------------------------------------------------------------------------------------

def scope_clauses(principal: Principal, purpose: str) -> list:
    """Where-clauses that limit `providers` to what `principal` may reach for `purpose`:
    "review" (officers' decisions), "manage" (the provider's own administrator), "staff"
    (reading internal details) or "public" (anyone signed in)."""
    role = principal.role
    if purpose == "review":
        require_role(principal, *REVIEW_ROLES)
    elif purpose == "manage":
        require_role(principal, "provider_admin")
    elif purpose == "staff":
        require_role(principal, "provider_admin", "caregiver", "officer", "city_officer", "service")
    if role in CITY_ROLES or role == "service":
        return []
    own_id = as_uuid(principal.provider_id)
    own = ProviderRow.id == own_id if own_id else sa.false()
    district = ProviderRow.district_code == (principal.district or "")
    if purpose in ("review", "manage", "staff"):
        return [own] if role in STAFF_ROLES else [district]
    # public: the caller's own provider in any state, others once approved
    visible = ProviderRow.status.in_(PUBLIC_STATUSES)
    if role == "officer":
        return [sa.or_(district, visible)]
    return [sa.or_(own, visible)] if role in STAFF_ROLES else [visible]


async def scoped_provider(session: AsyncSession, principal: Principal, provider_id: uuid.UUID, purpose: str, *,
                          for_update: bool = False) -> ProviderRow:
    query = sa.select(ProviderRow).where(ProviderRow.id == provider_id, *scope_clauses(principal, purpose))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise provider_not_found()
    return row


def sees_details(principal: Principal, provider: ProviderRow) -> bool:
    if principal.role in CITY_ROLES or principal.role == "service":
        return True
    if principal.role == "officer":
        return principal.district == provider.district_code
    return principal.role in STAFF_ROLES and as_uuid(principal.provider_id) == provider.id


# ---- documents ---------------------------------------------------------------------------------

async def latest_expiries(session: AsyncSession, provider_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, date]]:
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


async def document_states(session: AsyncSession, providers: Iterable[ProviderRow],
                          today: date) -> dict[uuid.UUID, domain.DocumentState]:
    providers = list(providers)
    expiries = await latest_expiries(session, [p.id for p in providers])
    return {p.id: domain.document_state(p.kind, expiries[p.id], today) for p in providers}


# ---- views -------------------------------------------------------------------------------------

def rating_view(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def provider_public(p: ProviderRow) -> dict:
    return {
        "id": str(p.id), "name": p.legal_name, "kind": p.kind, "kind_name": domain.KINDS.get(p.kind, p.kind),
        "district_code": p.district_code, "district_name": domain.DISTRICTS.get(p.district_code, p.district_code),
        "street": p.street, "status": p.status, "status_name": domain.STATUS_NAMES.get(p.status, p.status),
        "rating": rating_view(p.rating_sum, p.rating_count), "rating_count": p.rating_count,
        "star_rating": p.star_rating,
    }


def provider_detail(p: ProviderRow, docs: domain.DocumentState) -> dict:
    return provider_public(p) | {
        "credit_code": p.credit_code, "address": p.address, "lat": p.lat, "lon": p.lon,
        "contact_name": p.contact_name, "contact_phone": p.contact_phone,
        "status_reason": p.status_reason, "status_changed_at": p.status_changed_at,
        "service_area": {"radius_m": p.area_radius_m, "streets": list(p.area_streets or [])},
        "documents": documents_view(docs),
        "applied_by": p.applied_by, "created_at": p.created_at, "updated_at": p.updated_at,
    }


def documents_view(docs: domain.DocumentState) -> dict:
    return {"ok": docs.ok, "valid_until": None if docs.valid_until in (None, date.max) else docs.valid_until,
            "missing": list(docs.missing), "expired": list(docs.expired),
            "problem": domain.documents_problem(docs)}
