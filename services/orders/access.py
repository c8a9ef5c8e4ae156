"""Who may see and do what in the orders service: the role sets and the scope conditions every
query embeds.

Scoping rule, everywhere: a list is filtered to what the caller may see; a single order outside
the caller's scope is "not found" (404), exactly as if it did not exist; a request that names an
elder or a district outside the caller's own is refused with 403 before anything is looked up.
"""
from __future__ import annotations

import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.models import (
    MealRedemptionRow,
    OfferRow,
    OrderRow,
    RecurringRuleRow,
    StayApplicationRow,
    StayRow,
)
from services.orders.rules.lifecycle import Actor
from shared.auth import Principal, require_role
from shared.errors import Forbidden, NotFound, invalid_field

CITY_ROLES = frozenset({"city_officer", "admin", "service"})
ELDER_ROLES = frozenset({"elder", "family"})
PROVIDER_ROLES = frozenset({"provider_admin", "caregiver"})
PLATFORM_ROLES = frozenset({"officer", "city_officer", "admin", "service"})
# the 12349 hotline desk (坐席): reads orders, rules and plans like an officer of its scope (the
# whole city without a district) and places, cancels and disputes orders for elders in it
OPERATORS = frozenset({"operator"})


def district_condition(principal: Principal, column) -> sa.ColumnElement[bool]:
    """An officer's or operator's scope on a district column: a city-wide operator every row."""
    if principal.role in OPERATORS and not principal.district:
        return sa.true()
    return column == principal.district if principal.district else sa.false()


class InDistrict(Protocol):
    district_code: str | None


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def own_elders(principal: Principal) -> list[uuid.UUID]:
    return [u for u in (parse_uuid(e) for e in principal.elder_ids) if u is not None]


def provider_of(principal: Principal) -> uuid.UUID | None:
    return parse_uuid(principal.provider_id)


def order_scope(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition: the orders `principal` may read."""
    role = principal.role
    if role in CITY_ROLES:
        return sa.true()
    if role in ELDER_ROLES:
        return OrderRow.elder_id.in_(own_elders(principal))
    if role in PROVIDER_ROLES:
        provider = provider_of(principal)
        if provider is None:
            return sa.false()
        offered = sa.select(OfferRow.id).where(OfferRow.order_id == OrderRow.id, OfferRow.provider_id == provider,
                                               OfferRow.outcome == "pending")
        return sa.or_(OrderRow.provider_id == provider, offered.exists())
    if role == "officer" or role in OPERATORS:
        return district_condition(principal, OrderRow.district_code)
    return sa.false()


def rule_scope(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition: the recurring rules `principal` may read."""
    if principal.role in CITY_ROLES:
        return sa.true()
    if principal.role in ELDER_ROLES:
        return RecurringRuleRow.elder_id.in_(own_elders(principal))
    if principal.role == "officer" or principal.role in OPERATORS:
        return district_condition(principal, RecurringRuleRow.district_code)
    return sa.false()


def plan_rule_scope(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition: the care plans' rules (and so their planned against delivered) `principal`
    may read: the elder's household, the provider of the item, the district's officers, the city.
    An elder outside it reads as an elder without a plan."""
    role = principal.role
    from_plan = RecurringRuleRow.source_plan_id.is_not(None)
    if role in CITY_ROLES:
        return from_plan
    if role in ELDER_ROLES:
        return sa.and_(from_plan, RecurringRuleRow.elder_id.in_(own_elders(principal)))
    if role in PROVIDER_ROLES:
        provider = provider_of(principal)
        return sa.and_(from_plan, RecurringRuleRow.preferred_provider_id == provider) if provider else sa.false()
    if role == "officer" or role in OPERATORS:
        return sa.and_(from_plan, district_condition(principal, RecurringRuleRow.district_code))
    return sa.false()


def require_plan_reader(principal: Principal) -> None:
    """Planned against delivered: everyone `plan_rule_scope` can give something (not assessors)."""
    if principal.role not in CITY_ROLES | ELDER_ROLES | PROVIDER_ROLES | OPERATORS | {"officer"}:
        raise Forbidden("当前账号不能查看照护计划的执行情况")


def schedule_provider(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """The provider whose plan schedule is asked for: provider staff only their own (another →
    403); the city names one."""
    if principal.role in PROVIDER_ROLES:
        own = require_provider(principal)
        if requested is not None and requested != own:
            raise Forbidden("只能查看本服务商的计划排班", provider_id=str(requested))
        return own
    if principal.role in CITY_ROLES:
        if requested is None:
            raise invalid_field("provider_id", "请指定服务商")
        return requested
    raise Forbidden("只有服务商可以查看照护计划排班")


async def load_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID, *,
                     lock: bool = False) -> OrderRow:
    """The order if `principal` may read it, else 404; `lock` takes its row lock (PostgreSQL)
    so that concurrent commands on one order queue instead of racing."""
    query = sa.select(OrderRow).where(OrderRow.id == order_id, order_scope(principal))
    if lock:
        query = query.with_for_update(of=OrderRow)
    order = (await session.execute(query)).scalar_one_or_none()
    if order is None:
        raise NotFound("没有找到该订单，或您无权查看", order_id=str(order_id))
    return order


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> OrderRow | None:
    """Platform jobs (dispatcher, consumers): the order with its row lock, no scope."""
    query = sa.select(OrderRow).where(OrderRow.id == order_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def actor_of(principal: Principal) -> Actor:
    if principal.role in PROVIDER_ROLES:
        return Actor.PROVIDER
    if principal.role in ELDER_ROLES:
        return Actor(principal.role)
    return Actor.PLATFORM


def require_elder_access(principal: Principal, elder_id: uuid.UUID, *, desk: bool = False) -> None:
    """Before any lookup: elders and families only for their own linked elders (403 tells the
    caller nothing about whether the elder exists); officers are checked against the elder's
    district once it is known (`require_elder_district`)."""
    if principal.role in ELDER_ROLES:
        if elder_id not in own_elders(principal):
            raise Forbidden("您尚未绑定该老人，不能为其下单或查看；请先在「家属绑定」中申请绑定",
                            elder_id=str(elder_id))
        return
    # `desk`: a one-off order, which the hotline desk places too (stays and standing rules it does not)
    if principal.role not in (PLATFORM_ROLES | OPERATORS if desk else PLATFORM_ROLES):
        raise Forbidden("当前账号不能为老人下单；请由老人本人、已绑定的家属或民政工作人员操作")


def require_elder_district(principal: Principal, elder: InDistrict) -> None:
    if principal.role == "officer" and elder.district_code != principal.district:
        raise Forbidden("只能为本辖区的老人代为下单", elder_district=elder.district_code)
    if principal.role in OPERATORS and principal.district and elder.district_code != principal.district:
        raise Forbidden("只能为本辖区的老人代为下单", elder_district=elder.district_code)


def district_scope(principal: Principal, requested: str | None) -> str | None:
    """The district a platform view covers: an officer always their own (another → 403)."""
    if principal.role == "officer":
        if requested and requested != principal.district:
            raise Forbidden("只能查看本辖区的数据", district_code=requested)
        return principal.district
    if principal.role in CITY_ROLES:
        return requested
    raise Forbidden("当前账号没有权限查看该数据")


def require_provider(principal: Principal) -> uuid.UUID:
    """A provider's account (administrator or caregiver) linked to its provider."""
    require_role(principal, "provider_admin", "caregiver")
    provider = provider_of(principal)
    if provider is None:
        raise Forbidden("当前账号未关联服务商，不能接单或拒单")
    return provider


def require_assigned(principal: Principal, order: OrderRow, action: str) -> None:
    """The assigned caregiver, or an administrator of the order's provider."""
    require_role(principal, "caregiver", "provider_admin")
    if principal.role == "admin":
        return
    if provider_of(principal) != order.provider_id:
        raise Forbidden(f"只有接单的服务商可以{action}")
    if principal.role == "caregiver" and parse_uuid(principal.caregiver_id) != order.caregiver_id:
        raise Forbidden(f"只有被指派的护理员可以{action}")


# ---- stays (issue 22) -------------------------------------------------------------------------


def _stay_scope(principal: Principal, table: type[StayApplicationRow] | type[StayRow]) -> sa.ColumnElement[bool]:
    """The elder's side, the district's officers and the city read their own; the institution's
    administrator reads the applications to and the stays in its provider; nobody else."""
    role = principal.role
    if role in CITY_ROLES:
        return sa.true()
    if role in ELDER_ROLES:
        return table.elder_id.in_(own_elders(principal))
    if role == "officer":
        return table.district_code == principal.district if principal.district else sa.false()
    if role == "provider_admin":
        provider = provider_of(principal)
        return table.provider_id == provider if provider is not None else sa.false()
    return sa.false()


def application_scope(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition: the stay applications `principal` may read."""
    return _stay_scope(principal, StayApplicationRow)


def stay_scope(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition: the stays `principal` may read."""
    return _stay_scope(principal, StayRow)


def require_stay_reader(principal: Principal) -> None:
    """Lists: roles that never see a stay are refused outright (not given an empty list)."""
    require_role(principal, "elder", "family", "officer", "city_officer", "provider_admin", "service")


def require_desk(principal: Principal) -> None:
    """The institution's desk (its provider_admin; the system administrator too), before any
    lookup; the row itself is then loaded within `application_scope` / `stay_scope`, so another
    institution's application or stay is a 404."""
    require_role(principal, "provider_admin")
    if principal.role == "provider_admin" and provider_of(principal) is None:
        raise Forbidden("当前账号未关联养老机构，不能办理入住")


async def load_application(session: AsyncSession, principal: Principal, application_id: uuid.UUID, *,
                           lock: bool = False) -> StayApplicationRow:
    query = sa.select(StayApplicationRow).where(StayApplicationRow.id == application_id,
                                                application_scope(principal))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("没有找到该入住申请，或您无权查看", application_id=str(application_id))
    return row


async def load_stay(session: AsyncSession, principal: Principal, stay_id: uuid.UUID, *,
                    lock: bool = False) -> StayRow:
    query = sa.select(StayRow).where(StayRow.id == stay_id, stay_scope(principal))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("没有找到该入住记录，或您无权查看", stay_id=str(stay_id))
    return row


# ---- meals at the counter (issue 23) ----------------------------------------------------------


def require_meal_code_holder(principal: Principal, elder_id: uuid.UUID) -> None:
    """The dynamic code is the elder's and their linked family's alone. An unlinked elder answers
    404 (a code is a key to the elder's subsidy: nobody learns whether the elder exists); other
    roles are refused outright."""
    if principal.role not in ELDER_ROLES:
        raise Forbidden("只有老人本人或已绑定的家属可以出示助餐码")
    if elder_id not in own_elders(principal):
        raise NotFound("没有找到该老人，或您尚未绑定", elder_id=str(elder_id))


def require_card_issuer(principal: Principal) -> None:
    """Printed cards: officers (their district's elders, `require_elder_district`) and the city."""
    require_role(principal, "officer", "city_officer")


def require_meal_counter(principal: Principal, provider_id: uuid.UUID) -> None:
    """The counter of a meal point: its own staff (administrator or caregiver). Staff of another
    provider, and everyone else, find no such counter (404), before anything is looked up."""
    if principal.role not in PROVIDER_ROLES or provider_of(principal) != provider_id:
        raise NotFound("没有这个助餐点，或您不是该助餐点的工作人员", provider_id=str(provider_id))


def meal_scope(principal: Principal, provider_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """SQL condition: the meals a counter may touch (its own point's)."""
    require_meal_counter(principal, provider_id)
    return MealRedemptionRow.provider_id == provider_id


def meal_report_district(principal: Principal, requested: str | None) -> str | None:
    """The bureau's meal report: officers their district (another → 403), the city any or all."""
    require_role(principal, "officer", "city_officer")
    return district_scope(principal, requested)
