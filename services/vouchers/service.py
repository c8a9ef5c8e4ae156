"""What every use case of the vouchers service shares: who may see what (written into the
queries), publishing events, and the names people read.

The use cases themselves live in named modules: `policies`, `eligibility` (the elder copy and
issuance), `spending` (quote, hold, capture, void), `month_end` (expiry, settlement) and `audit`
(reports, anomalies, auditor actions, the ledger check). Each takes the caller's one
transaction (`AsyncSession`) and keyword-only arguments; `api.py` and `consumers.py` open it.

Scoping rule, everywhere: a list is filtered to what the caller may see (an officer's lists
hold only their district, a provider's only their own statements); a single record outside the
caller's scope is "not found" (404), exactly as if it did not exist; a request that names a
scope outside the caller's own (a district, a provider) is refused with 403.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Forbidden
from shared.events import make_event
from shared.outbox import add_event

SOURCE = "/youfu/vouchers"
CITY_ROLES = frozenset({"city_officer", "admin"})
ELDER_ROLES = frozenset({"elder", "family"})

DISTRICT_NAMES = {"321202": "海陵区", "321203": "高港区", "321204": "姜堰区", "321281": "兴化市",
                  "321282": "靖江市", "321283": "泰兴市"}


def district_name(code: str | None) -> str:
    return DISTRICT_NAMES.get(code or "", code or "未知区县")


def publish(session, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def parse_instant(text: object) -> datetime | None:
    """An ISO instant from an event; None when missing, malformed or without a zone (a naive
    time could be either UTC or Shanghai, eight hours apart)."""
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else None


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


def current_time(ctx) -> datetime:
    """Now, from the clock the app was created with (tests pass a settable one; the default is
    the real UTC time)."""
    clock = ctx.extras.get("clock")
    return clock() if clock else utcnow()
