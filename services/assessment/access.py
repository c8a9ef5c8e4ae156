"""Who may see what in elder records: the role sets, ownership, the scope condition every list
embeds, and who sees the ID card and phones unmasked.

Privacy rule (docs/architecture.md "Personal data"), decided here once:

| caller                                   | reads                 | ID card  | phones (elder's, contacts') |
|------------------------------------------|-----------------------|----------|-----------------------------|
| admin, city_officer                      | every elder           | full     | full                        |
| officer                                  | elders of their district | full  | full                        |
| assessor                                 | elders of their district | full only if assigned to the elder | same as ID card |
| elder, family                            | principal.elder_ids   | masked   | full (their own household's numbers) |
| operator (12349 desk), city-wide         | every elder           | masked   | full (to call the family back) |
| operator of a district                   | elders of their district | masked | full (to call the family back) |
| service (another Youfu service)          | every elder           | masked   | masked                      |
| provider_admin, caregiver                | nothing here (403)    |          |                             |

Unmasked values appear only in single-record reads (`GET /elders/{id}`); lists and the answers
to writes are always masked (write answers are also kept in the idempotency table, which must
not hold plain personal data). Every answer that carries an unmasked value is written to the
access log, the elder's own household included.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.assessment.models import ElderRow
from services.assessment.rules.elders import ALL_PII, CONTACT_PHONES, PHONE
from shared.auth import Principal
from shared.errors import FieldError, Forbidden

STAFF_ALL = frozenset({"admin", "city_officer"})
DISTRICT_STAFF = frozenset({"officer", "assessor"})
HOUSEHOLD = frozenset({"elder", "family"})
# the 12349 hotline desk (坐席): reads like an officer of its scope (the whole city without a
# district), registers and changes nothing here
OPERATORS = frozenset({"operator"})
READERS = STAFF_ALL | DISTRICT_STAFF | HOUSEHOLD | OPERATORS | {"service"}
REGISTRARS = STAFF_ALL | DISTRICT_STAFF
# status lists from other bureaus are city-wide: the city's officers, and another system with its
# service token (docs/decisions.md); a district officer is refused (403)
LIST_KEEPERS = STAFF_ALL | {"service"}


def city_operator(principal: Principal) -> bool:
    return principal.role in OPERATORS and not principal.district


def can_read(principal: Principal, *, elder_id: str, district_code: str) -> bool:
    """Ownership. A caller who cannot read an elder is told the elder does not exist."""
    if principal.role in STAFF_ALL or principal.role == "service" or city_operator(principal):
        return True
    if principal.role in OPERATORS:
        return principal.district == district_code
    if principal.role in DISTRICT_STAFF:
        return principal.district is not None and principal.district == district_code
    if principal.role in HOUSEHOLD:
        return elder_id in principal.elder_ids
    return False


def _parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def readable_by(principal: Principal) -> sa.ColumnElement[bool]:
    """`can_read` as a WHERE clause, for lists."""
    if principal.role in STAFF_ALL or principal.role == "service" or city_operator(principal):
        return sa.true()
    if principal.role in DISTRICT_STAFF | OPERATORS and principal.district:
        return ElderRow.district_code == principal.district
    if principal.role in HOUSEHOLD:
        ids = [i for i in (_parse_id(x) for x in principal.elder_ids) if i is not None]
        return ElderRow.id.in_(ids) if ids else sa.false()
    return sa.false()


def can_register_in(principal: Principal, district_code: str) -> bool:
    if principal.role in STAFF_ALL:
        return True
    return principal.role in DISTRICT_STAFF and principal.district == district_code


def unmasked_fields(principal: Principal, *, district_code: str, assigned: bool) -> tuple[str, ...]:
    """Which personal fields this caller sees in full on a single-record read (see the table)."""
    role = principal.role
    if role in STAFF_ALL or (role == "officer" and principal.district == district_code):
        return ALL_PII
    if role == "assessor" and principal.district == district_code and assigned:
        return ALL_PII
    if role in HOUSEHOLD:
        return (PHONE, CONTACT_PHONES)
    if role in OPERATORS and can_read(principal, elder_id="", district_code=district_code):
        return (PHONE, CONTACT_PHONES)  # the desk calls the elder and the family back
    return ()


# ---- care plans and home beds -------------------------------------------------------------------
# Drafting a plan: the elder's assigned assessor, the officer of the elder's district, the city.
# Consent: the elder or a linked family member in the app, or the district officer (in person or by
# phone, recorded who, how and when). Ending a plan, waiving an adaptation, opening and closing a
# bed: the district officer and the city. Devices: those, and the anchoring provider's admin.
PLAN_AUTHORS = frozenset({"assessor", "officer", "city_officer"})
PLAN_OFFICERS = frozenset({"officer", "city_officer"})
REVIEW_LIST_READERS = PLAN_OFFICERS


def can_author_plan(principal: Principal, *, district_code: str, assigned: bool) -> bool:
    if principal.role in STAFF_ALL:
        return True
    if principal.role == "officer":
        return principal.district == district_code
    return principal.role == "assessor" and principal.district == district_code and assigned


def is_plan_officer(principal: Principal, *, district_code: str) -> bool:
    if principal.role in STAFF_ALL:
        return True
    return principal.role == "officer" and principal.district == district_code


def district_scope(principal: Principal, district_code: str | None) -> str | None:
    """The district a district officer's list is limited to (403 when they ask for another)."""
    if principal.role in STAFF_ALL:
        return district_code
    if district_code and district_code != principal.district:
        raise Forbidden("只能查看本辖区的名单", errors=[FieldError("district_code", "不是您负责的区县")])
    return principal.district
