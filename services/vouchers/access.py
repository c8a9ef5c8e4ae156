"""Who may see what in the vouchers service, written into the queries.

Scoping rule, everywhere: a list is filtered to what the caller may see (an officer's lists
hold only their district, a provider's only their own statements); a single record outside the
caller's scope is "not found" (404), exactly as if it did not exist; a request that names a
scope outside the caller's own (a district, a provider) is refused with 403.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from services.vouchers.events import parse_uuid
from services.vouchers.views import district_name
from shared.auth import Principal
from shared.errors import Forbidden

CITY_ROLES = frozenset({"city_officer", "admin"})
ELDER_ROLES = frozenset({"elder", "family"})
# the 12349 hotline desk (坐席): reads an elder's wallet like an officer of its scope (the whole
# city without a district); no civil-affairs records, no actions
OPERATORS = frozenset({"operator"})


def uuids(values: Iterable[object]) -> list[uuid.UUID]:
    return [u for u in (parse_uuid(v) for v in values) if u is not None]


def own_elders(principal: Principal) -> list[uuid.UUID]:
    return uuids(principal.elder_ids)


def may_act_for_elder(principal: Principal, elder_id: uuid.UUID) -> bool:
    """Elders and families act for their own elders only (quotes)."""
    return principal.role in ELDER_ROLES and elder_id in own_elders(principal)


def elder_readable_by(principal: Principal, elder_column, district_column):
    """SQL condition: rows about an elder that `principal` may read."""
    if principal.role in CITY_ROLES or principal.role == "service":
        return sa.true()
    if principal.role in ELDER_ROLES:
        return elder_column.in_(own_elders(principal)) if principal.elder_ids else sa.false()
    if principal.role == "officer" and principal.district:
        return district_column == principal.district
    if principal.role in OPERATORS:
        return district_column == principal.district if principal.district else sa.true()
    return sa.false()


def district_readable_by(principal: Principal, district_column):
    """SQL condition for civil-affairs records (reports, runs, findings)."""
    if principal.role in CITY_ROLES:
        return sa.true()
    if principal.role == "officer" and principal.district:
        return district_column == principal.district
    return sa.false()


def provider_readable_by(principal: Principal, provider_column, district_column):
    """SQL condition for a provider's money (settlements): its own admin, or the civil side."""
    if principal.role == "provider_admin":
        provider = parse_uuid(principal.provider_id)
        return provider_column == provider if provider else sa.false()
    return district_readable_by(principal, district_column)


def stay_claim_readable_by(principal: Principal, table):
    """SQL condition for bed-day claims: the institution's admin and the civil side (as settlements),
    and the elder and linked family, who read their own bill."""
    if principal.role in ELDER_ROLES:
        return table.elder_id.in_(own_elders(principal)) if principal.elder_ids else sa.false()
    return provider_readable_by(principal, table.provider_id, table.district_code)


def acting_district(principal: Principal, requested: str | None = None) -> str | None:
    """The district a civil-affairs action covers: an officer's own (naming another is 403),
    or for city roles the requested one (None: the whole city)."""
    if principal.role in CITY_ROLES:
        return requested
    if principal.role == "officer" and principal.district:
        if requested and requested != principal.district:
            raise Forbidden(f"只能处理本辖区（{district_name(principal.district)}）的数据",
                            district_code=requested)
        return principal.district
    raise Forbidden("当前账号没有权限进行此操作")



def complaint_readable_by(principal: Principal, table):
    """SQL condition for complaints: the civil side and operators in their scope, the elder and
    linked family about their elders, a provider admin about their provider (the answer hides
    the complainant when anonymity was asked: views.complaint_answer)."""
    if principal.role in OPERATORS:
        return table.district_code == principal.district if principal.district else sa.true()
    if principal.role in ELDER_ROLES:
        return table.elder_id.in_(own_elders(principal)) if principal.elder_ids else sa.false()
    if principal.role == "provider_admin":
        provider = parse_uuid(principal.provider_id)
        return table.provider_id == provider if provider else sa.false()
    return district_readable_by(principal, table.district_code)


def visit_readable_by(principal: Principal, district_column):
    """SQL condition for return-visit samples and visits: the civil side and operators in scope."""
    if principal.role in OPERATORS:
        return district_column == principal.district if principal.district else sa.true()
    return district_readable_by(principal, district_column)
