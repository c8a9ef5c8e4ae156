"""Who may see what in the providers service: the role sets, and the scope conditions every query
that loads a provider embeds.

Scoping rule, everywhere: a list holds only what the caller may see; one record outside the
caller's scope is "not found" (404) exactly as if it did not exist; a list asked for a scope
outside the caller's own (another district) is refused (403).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.models import BedRow, ProviderRow
from shared.auth import Principal, require_role
from shared.errors import Forbidden, NotFound

CITY_ROLES = frozenset({"city_officer", "admin"})
REVIEW_ROLES = ("officer", "city_officer", "admin")
STAFF_ROLES = frozenset({"provider_admin", "caregiver"})
PUBLIC_STATUSES = ("approved", "suspended")  # once approved, a provider stays nameable (order history)


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


# ---- beds --------------------------------------------------------------------------------------
# The desk (provider_admin of the bed's provider) declares and manages its beds; the orders service
# (role service) reserves, fills and frees them for applications and stays; officers (their
# district) and the city read beds and capacity; anyone signed in searches for a place.
BED_HOLDER_ROLES = ("service",)
CAPACITY_ROLES = ("officer", "city_officer")


def bed_not_found() -> NotFound:
    return NotFound("没有这个床位，或您无权查看", resource="bed")


async def scoped_bed(session: AsyncSession, principal: Principal, bed_id: uuid.UUID, purpose: str, *,
                     for_update: bool = False) -> tuple[BedRow, ProviderRow]:
    """The bed and its provider, for "manage" (the desk) or "hold" (the orders service: reserve,
    occupy, release); row-locked when `for_update`, so one bed's changes queue one behind another."""
    if purpose == "hold":
        require_role(principal, *BED_HOLDER_ROLES)
        clauses = []
    else:
        clauses = scope_clauses(principal, purpose)
    query = sa.select(BedRow, ProviderRow).join(ProviderRow, ProviderRow.id == BedRow.provider_id).where(
        BedRow.bed_id == bed_id, *clauses)
    if for_update:
        query = query.with_for_update(of=BedRow)
    found = (await session.execute(query)).one_or_none()
    if found is None:
        raise bed_not_found()
    return found[0], found[1]


def capacity_clauses(principal: Principal, district_code: str | None) -> list:
    """Officers read their district's capacity (naming another is 403), the city every district's."""
    require_role(principal, *CAPACITY_ROLES)
    if principal.role == "officer":
        if district_code and district_code != principal.district:
            raise Forbidden("只能查看本区县的床位", district_code=district_code)
        return [ProviderRow.district_code == (principal.district or "")]
    return [ProviderRow.district_code == district_code] if district_code else []
