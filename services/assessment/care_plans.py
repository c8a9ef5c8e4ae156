"""Use cases of care plans: draft (from the policy table for the grade, or explicit items), edit,
submit (the month priced by vouchers), consent (activates; the elder's previous live plan is
replaced), end, lists, the provider options of an item; and the hooks other flows call: a new
finalised assessment marks the live plan to_review, a death or a move ends it. Each runs inside
its caller's transaction; providers and vouchers are asked inside it, so when either cannot
answer the caller gets 503 and nothing is written. The rules are in `rules/care_plans.py`.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import access
from services.assessment.elders import elder_for, is_assigned
from services.assessment.events import CarePlanActivated, CarePlanEnded, CarePlanReplaced
from services.assessment.instruments import care_plan_policy
from services.assessment.models import AssessmentRow, CarePlanItemRow, CarePlanRow, ElderRow
from services.assessment.rules import care_plans as rules
from services.assessment.rules.elders import ELDER_STATUSES
from services.assessment.runtime import AssessmentRuntime
from services.assessment.views import plan_view
from shared.auth import Principal, require_role
from shared.city import local_day
from shared.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from shared.events import make_event
from shared.outbox import add_event

# why a plan ends when the elder leaves the register (elder status → careplan.ended reason)
DEPARTURE_REASONS = {"deceased": "老人已故", "moved_away": "老人已迁出"}


def _missing_plan() -> NotFound:
    return NotFound("没有找到这份护理计划，请核对编号", resource="care_plan")


async def _items(session: AsyncSession, plan_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CarePlanItemRow]]:
    out: dict[uuid.UUID, list[CarePlanItemRow]] = {i: [] for i in plan_ids}
    if plan_ids:
        rows = await session.execute(sa.select(CarePlanItemRow).where(CarePlanItemRow.plan_id.in_(plan_ids))
                                     .order_by(CarePlanItemRow.position))
        for row in rows.scalars():
            out[row.plan_id].append(row)
    return out


async def view_of(session: AsyncSession, plan: CarePlanRow) -> dict[str, Any]:
    return plan_view(plan, (await _items(session, [plan.id]))[plan.id])


async def latest_finalised(session: AsyncSession, elder_id: uuid.UUID) -> AssessmentRow | None:
    query = (sa.select(AssessmentRow).where(AssessmentRow.elder_id == elder_id, AssessmentRow.state == "finalised")
             .order_by(AssessmentRow.finalised_at.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def live_plan(session: AsyncSession, elder_id: uuid.UUID, *, for_update: bool = False) -> CarePlanRow | None:
    query = sa.select(CarePlanRow).where(CarePlanRow.elder_id == elder_id, CarePlanRow.state.in_(rules.LIVE_STATES))
    return (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()


async def require_author(session: AsyncSession, principal: Principal, elder: ElderRow) -> None:
    assigned = principal.role == "assessor" and await is_assigned(session, elder.id, principal.user_id)
    if not access.can_author_plan(principal, district_code=elder.district_code, assigned=assigned):
        raise Forbidden("只有老人的评估员、所在区县的民政工作人员或市级民政可以制定护理计划")


def _require_active(elder: ElderRow, action: str) -> None:
    if elder.status != "active":
        raise Conflict(f"老人档案状态为{ELDER_STATUSES[elder.status]}，不能{action}", current_state=elder.status)


# ---- items: shape, catalogue, coverage ----------------------------------------------------------

async def checked_items(runtime: AssessmentRuntime, elder: ElderRow, items: list[dict], *,
                        require_providers: bool = False) -> list[dict]:
    """The items with each chosen provider's price, after the checks: shapes (`rules`), the code
    in the standard catalogue, the provider offering it (its catalogue) with that payment, and the
    provider covering the elder's home (`GET /candidates`, the search dispatch uses). 422 naming
    every item that fails."""
    rules.raise_if_invalid(rules.item_errors(items, require_providers=require_providers))
    errors: list[FieldError] = []
    catalogues: dict[str, list[dict] | None] = {}
    covering: dict[tuple[str, str], set[str]] = {}
    out = []
    for n, item in enumerate(items):
        at = f"items.{n}"
        code, provider_id = item["service_code"], item.get("provider_id")
        standard = await runtime.service_item(code, field_name=f"{at}.service_code")
        if item["voucher_kind"] != "self_pay" and item["voucher_kind"] not in standard.get("voucher_kinds", []):
            errors.append(FieldError(f"{at}.voucher_kind", f"「{standard.get('name', code)}」不能使用这种服务券"))
        checked = dict(item, unit_price_fen=None)
        if provider_id:
            provider_id = str(provider_id)
            if provider_id not in catalogues:
                catalogues[provider_id] = await runtime.provider_catalogue(provider_id)
            catalogue = catalogues[provider_id]
            offered = next((c for c in catalogue or [] if c["service_code"] == code and c.get("active", True)), None)
            if catalogue is None:
                errors.append(FieldError(f"{at}.provider_id", "没有这家服务商"))
            elif offered is None:
                errors.append(FieldError(f"{at}.provider_id", f"该服务商不提供「{standard.get('name', code)}」"))
            else:
                checked["unit_price_fen"] = int(offered["price_fen"])
                if elder.lat is None or elder.lon is None:
                    errors.append(FieldError(f"{at}.provider_id", "老人档案缺少住址坐标，无法核对服务范围"))
                else:
                    key = (code, item["voucher_kind"])
                    if key not in covering:
                        found = await runtime.candidates(service_code=code, lat=elder.lat, lon=elder.lon,
                                                         street=elder.street, voucher_kind=item["voucher_kind"])
                        covering[key] = {str(c["provider_id"]) for c in found}
                    if provider_id not in covering[key]:
                        errors.append(FieldError(f"{at}.provider_id", "该服务商的服务范围不覆盖老人住址，或暂无可派的服务人员"))
            checked["provider_id"] = provider_id
        out.append(checked)
    rules.raise_if_invalid(errors)
    return out


def _item_rows(plan_id: uuid.UUID, items: list[dict]) -> list[CarePlanItemRow]:
    return [CarePlanItemRow(id=uuid.uuid4(), plan_id=plan_id, position=n, service_code=i["service_code"],
                            provider_id=uuid.UUID(str(i["provider_id"])) if i.get("provider_id") else None,
                            frequency=dict(i["frequency"]), duration_min=i["duration_min"],
                            voucher_kind=i["voucher_kind"], unit_price_fen=i.get("unit_price_fen"))
            for n, i in enumerate(items)]


def _start_date(value: date | None, now: datetime) -> date:
    today = local_day(now)
    start = value or today
    if start < today:
        raise Invalid("护理计划填写有误", errors=[FieldError("start_date", "开始日期不能早于今天")])
    return start


def drafted_items(grade: int, providers: dict[str, str] | None, default_provider: str | None = None) -> list[dict]:
    """The policy table's items for the grade, with the providers the caller chose by service code
    (a home bed's anchoring provider for the rest)."""
    items = rules.policy_items(care_plan_policy(), grade)
    for item in items:
        item["provider_id"] = (providers or {}).get(item["service_code"]) or default_provider
    return items


# ---- draft, edit --------------------------------------------------------------------------------

async def create_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                      elder_id: uuid.UUID, fields: dict[str, Any], now: datetime, kind: str = "care") -> dict[str, Any]:
    """`fields`: a `CarePlanIn`, dumped: `items` (explicit) or none (drafted from the policy table
    for the grade of the latest finalised assessment, with `providers` by service code)."""
    plan = await new_plan(session, runtime=runtime, principal=principal, elder_id=elder_id, fields=fields, now=now,
                          kind=kind)
    return await view_of(session, plan)


async def new_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal, elder_id: uuid.UUID,
                   fields: dict[str, Any], now: datetime, kind: str) -> CarePlanRow:
    require_role(principal, *access.PLAN_AUTHORS)
    elder = await elder_for(session, principal, elder_id, for_update=True)
    await require_author(session, principal, elder)
    _require_active(elder, "制定护理计划")
    assessment = await latest_finalised(session, elder.id)
    if assessment is None:
        raise Conflict("这位老人还没有定稿的能力评估，请先完成评估再制定护理计划", missing="finalised_assessment",
                       elder_id=str(elder.id))
    start = _start_date(fields.get("start_date"), now)
    raw = fields.get("items")
    items = [dict(i) for i in raw] if raw else drafted_items(assessment.grade, fields.get("providers"),
                                                                          fields.get("default_provider"))
    items = await checked_items(runtime, elder, items)
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(CarePlanRow.version), 0))
                                     .where(CarePlanRow.elder_id == elder.id))).scalar_one() + 1
    plan = CarePlanRow(id=uuid.uuid4(), elder_id=elder.id, version=version, state="draft", kind=kind,
                       assessment_id=assessment.id, grade=assessment.grade, start_date=start,
                       review_date=assessment.valid_until, created_by=principal.user_id, created_at=now, updated_at=now)
    session.add(plan)
    await session.flush()
    session.add_all(_item_rows(plan.id, items))
    await session.flush()
    return plan


async def plan_for(session: AsyncSession, principal: Principal, plan_id: uuid.UUID, *,
                   for_update: bool = False) -> tuple[CarePlanRow, ElderRow]:
    """The plan if its elder is readable by this caller (the household does not see drafts);
    anything else is 404."""
    query = sa.select(CarePlanRow).where(CarePlanRow.id == plan_id)
    plan = (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()
    if plan is None:
        raise _missing_plan()
    try:
        elder = await elder_for(session, principal, plan.elder_id, for_update=for_update)
    except NotFound:
        raise _missing_plan() from None
    if principal.role in access.HOUSEHOLD and plan.state == "draft":
        raise _missing_plan()
    return plan, elder


async def update_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                      plan_id: uuid.UUID, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields`: a `CarePlanUpdate`, dumped: the whole item list and the start date, replaced."""
    require_role(principal, *access.PLAN_AUTHORS)
    plan, elder = await plan_for(session, principal, plan_id, for_update=True)
    await require_author(session, principal, elder)
    rules.next_state(plan.state, "edit")
    items = await checked_items(runtime, elder, [dict(i) for i in fields["items"]])
    # a draft left past its start date starts today unless the caller says otherwise
    plan.start_date = (_start_date(fields["start_date"], now) if fields.get("start_date")
                       else max(plan.start_date, local_day(now)))
    await session.execute(sa.delete(CarePlanItemRow).where(CarePlanItemRow.plan_id == plan.id))
    session.add_all(_item_rows(plan.id, items))
    plan.updated_at = now
    await session.flush()
    return await view_of(session, plan)


# ---- submit, consent ----------------------------------------------------------------------------

async def submit_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                      plan_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """Draft → awaiting_consent, with the month of the start date priced by vouchers: the
    occurrences are counted from the start date (a mid-month start holds the rest of the month)."""
    require_role(principal, *access.PLAN_AUTHORS)
    plan, elder = await plan_for(session, principal, plan_id, for_update=True)
    await require_author(session, principal, elder)
    plan.state = rules.next_state(plan.state, "submit")
    _require_active(elder, "提交护理计划")
    plan.start_date = max(plan.start_date, local_day(now))  # a draft left past its start date starts today
    items = (await _items(session, [plan.id]))[plan.id]
    raw = [{"service_code": i.service_code, "provider_id": str(i.provider_id) if i.provider_id else None,
            "frequency": i.frequency, "duration_min": i.duration_min, "voucher_kind": i.voucher_kind} for i in items]
    checked = await checked_items(runtime, elder, raw, require_providers=True)  # prices as they are today
    for row, item in zip(items, checked, strict=True):
        row.unit_price_fen = item["unit_price_fen"]
    month = rules.month_of(plan.start_date)
    answer = await runtime.plan_budget({"elder_id": str(elder.id), "month": month,
                                        "lines": rules.budget_lines(checked, month=month, start_date=plan.start_date)})
    plan.budget = {k: answer.get(k) for k in ("month", "occurrences", "total_fen", "voucher_fen", "self_fen",
                                               "over_budget", "summary_zh", "lines")}
    plan.submitted_at = plan.updated_at = now
    await session.flush()
    return plan_view(plan, items)


def _consent_method_errors(principal: Principal, elder: ElderRow, method: str) -> None:
    if principal.role in access.HOUSEHOLD:
        if method not in rules.HOUSEHOLD_METHODS:
            raise Invalid("确认方式有误", errors=[FieldError("method", "老人或家属请在应用内确认（method 为 app）")])
        return
    if not access.is_plan_officer(principal, district_code=elder.district_code):
        raise Forbidden("只有老人本人、关联的家属或所在区县的民政工作人员可以确认护理计划")
    if method not in rules.OFFICER_METHODS:
        raise Invalid("确认方式有误", errors=[FieldError("method", "工作人员代为确认请选择 in_person（当面）或 phone（电话）")])


async def consent_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                       plan_id: uuid.UUID, method: str, accepts_self_pay: bool, given_by_name: str | None,
                       now: datetime) -> dict[str, Any]:
    """awaiting_consent → active. Over budget, consent must accept the self-paid part (409
    otherwise). The elder's previous live plan becomes `replaced` (careplan.replaced.v1), then
    this one is activated (careplan.activated.v1), in this one transaction."""
    require_role(principal, "elder", "family", *access.PLAN_OFFICERS)
    plan, elder = await plan_for(session, principal, plan_id, for_update=True)
    _consent_method_errors(principal, elder, method)
    state = rules.next_state(plan.state, "consent")
    _require_active(elder, "确认护理计划")
    budget = plan.budget or {}
    if budget.get("over_budget") and not accepts_self_pay:
        raise Conflict(f"计划超出服务券额度，需自付 {budget.get('self_fen', 0) / 100:.2f} 元；请确认愿意自付后再同意",
                       reason="over_budget", self_fen=budget.get("self_fen"), summary_zh=budget.get("summary_zh"))
    # consent given after the start date: the plan runs from today (orders never gets a past start)
    plan.start_date = effective = max(plan.start_date, local_day(now))
    previous = await live_plan(session, elder.id, for_update=True)
    if previous is not None:
        previous.state = rules.next_state(previous.state, "replace")
        previous.replaced_by, previous.ended_at, previous.updated_at = plan.id, now, now
        previous.end_reason = f"被第 {plan.version} 版计划替代"
        await session.flush()  # the one-live-plan index must see the old plan leave first
        add_event(session, make_event(CarePlanReplaced(plan_id=previous.id, replaced_by=plan.id, elder_id=elder.id,
                                                       effective_date=effective), source=runtime.source))
    plan.state, plan.activated_at, plan.updated_at = state, now, now
    plan.consent = {"by_account_id": principal.user_id, "by_role": principal.role, "method": method,
                    "at": now.isoformat(), "given_by_name": given_by_name,
                    "accepts_self_pay_fen": int(budget.get("self_fen") or 0) if accepts_self_pay else 0}
    await session.flush()
    items = (await _items(session, [plan.id]))[plan.id]
    add_event(session, make_event(CarePlanActivated(
        plan_id=plan.id, elder_id=elder.id, version=plan.version, start_date=plan.start_date,
        review_date=plan.review_date, kind=plan.kind, district_code=elder.district_code, lat=elder.lat, lon=elder.lon,
        address=elder.address,
        items=[{"item_id": i.id, "service_code": i.service_code, "provider_id": i.provider_id, "frequency": i.frequency,
                "duration_min": i.duration_min, "voucher_kind": i.voucher_kind,
                "unit_price_fen": i.unit_price_fen or 0} for i in items]), source=runtime.source))
    return plan_view(plan, items)


# ---- end, and the hooks of other flows ----------------------------------------------------------

def _end(session: AsyncSession, plan: CarePlanRow, *, reason: str, effective: date, source: str,
         now: datetime) -> None:
    was_live = plan.state in rules.LIVE_STATES
    plan.state = rules.next_state(plan.state, "end")
    plan.ended_at, plan.end_reason, plan.updated_at = now, reason, now
    if was_live:  # a draft or a plan never consented had no rules to end
        add_event(session, make_event(CarePlanEnded(plan_id=plan.id, elder_id=plan.elder_id, reason=reason,
                                                    effective_date=effective), source=source))


async def end_plan(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal, plan_id: uuid.UUID,
                   reason: str, now: datetime) -> dict[str, Any]:
    require_role(principal, *access.PLAN_OFFICERS)
    plan, elder = await plan_for(session, principal, plan_id, for_update=True)
    if not access.is_plan_officer(principal, district_code=elder.district_code):
        raise Forbidden("只有所在区县的民政工作人员或市级民政可以终止护理计划")
    _end(session, plan, reason=reason, effective=local_day(now), source=runtime.source, now=now)
    await session.flush()
    return await view_of(session, plan)


async def mark_to_review(session: AsyncSession, *, elder_id: uuid.UUID, now: datetime) -> None:
    """A new finalised assessment: the elder's active plan is to be reviewed (it stays the plan
    orders runs until a new one is consented)."""
    plan = await live_plan(session, elder_id, for_update=True)
    if plan is not None and plan.state == "active":
        plan.state = rules.next_state(plan.state, "review")
        plan.review_since, plan.updated_at = now, now


def departed_elders(elder_ids: list[uuid.UUID] | None = None) -> sa.Select:
    """The ids of elders off the register (deceased, moved away), among `elder_ids` when given."""
    departed = sa.select(ElderRow.id).where(ElderRow.status.in_(tuple(DEPARTURE_REASONS)))
    return departed.where(ElderRow.id.in_(elder_ids)) if elder_ids is not None else departed


async def end_for_departures(session: AsyncSession, *, source: str, now: datetime,
                             elder_ids: list[uuid.UUID] | None = None) -> int:
    """End the plans (live ones with careplan.ended.v1; drafts and unconsented ones quietly) of
    elders who left the register (deceased, moved away): those of `elder_ids`, or every such elder
    when None (after a status list: the departures it applied are the only ones whose plans are
    still open). How many live plans ended; `home_beds.end_plans_and_beds` also closes their beds."""
    departed = departed_elders(elder_ids)
    query = (sa.select(CarePlanRow, ElderRow.status, ElderRow.status_date).join(ElderRow, ElderRow.id == CarePlanRow.elder_id)
             .where(CarePlanRow.state.in_(("draft", "awaiting_consent", *rules.LIVE_STATES)),
                    CarePlanRow.elder_id.in_(departed)).with_for_update(of=CarePlanRow))
    ended = 0
    for plan, status, status_date in (await session.execute(query)).all():
        ended += plan.state in rules.LIVE_STATES
        _end(session, plan, reason=DEPARTURE_REASONS[status], effective=status_date or local_day(now), source=source,
             now=now)
    return ended


# ---- reads --------------------------------------------------------------------------------------

async def read_plan(session: AsyncSession, *, principal: Principal, plan_id: uuid.UUID) -> dict[str, Any]:
    plan, _ = await plan_for(session, principal, plan_id)
    return await view_of(session, plan)


async def elder_plans(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict[str, Any]]:
    """The elder's plans, newest version first (the household sees no drafts)."""
    elder = await elder_for(session, principal, elder_id)
    query = sa.select(CarePlanRow).where(CarePlanRow.elder_id == elder.id)
    if principal.role in access.HOUSEHOLD:
        query = query.where(CarePlanRow.state != "draft")
    plans = list((await session.execute(query.order_by(CarePlanRow.version.desc()))).scalars())
    items = await _items(session, [p.id for p in plans])
    return [plan_view(p, items[p.id]) for p in plans]


async def list_plans(session: AsyncSession, *, principal: Principal, state: str | None, district_code: str | None,
                     page: int, page_size: int) -> dict[str, Any]:
    """Plans by state for officers (the to_review list), oldest change first."""
    require_role(principal, *access.REVIEW_LIST_READERS)
    district = access.district_scope(principal, district_code)
    if state is not None and state not in rules.STATE_NAMES:
        raise Invalid("查询条件有误", errors=[FieldError("state", "状态应为 " + "、".join(rules.STATE_NAMES))])
    where = [access.readable_by(principal)]
    if state:
        where.append(CarePlanRow.state == state)
    if district:
        where.append(ElderRow.district_code == district)
    base = sa.select(CarePlanRow).join(ElderRow, ElderRow.id == CarePlanRow.elder_id).where(*where)
    total = (await session.execute(sa.select(sa.func.count()).select_from(base.subquery()))).scalar_one()
    plans = list((await session.execute(base.order_by(CarePlanRow.updated_at, CarePlanRow.id)
                                        .offset((page - 1) * page_size).limit(page_size))).scalars())
    items = await _items(session, [p.id for p in plans])
    return {"items": [plan_view(p, items[p.id]) for p in plans], "total": total, "page": page, "page_size": page_size}


async def provider_options(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                           elder_id: uuid.UUID, service_code: str, voucher_kind: str | None) -> list[dict[str, Any]]:
    """The nearest qualified providers for one item at the elder's home, ranked as the search
    ranks their best caregiver, one row per provider."""
    require_role(principal, *access.PLAN_AUTHORS)
    elder = await elder_for(session, principal, elder_id)
    await require_author(session, principal, elder)
    await runtime.service_item(service_code, field_name="service_code")
    if elder.lat is None or elder.lon is None:
        raise Invalid("老人档案缺少住址坐标", errors=[FieldError("lat", "请先补全老人住址的经纬度")])
    found = await runtime.candidates(service_code=service_code, lat=elder.lat, lon=elder.lon, street=elder.street,
                                     voucher_kind=voucher_kind)
    options: dict[str, dict] = {}
    for c in found:
        pid = str(c["provider_id"])
        if pid not in options:
            options[pid] = {"provider_id": pid, "provider_name": c.get("provider_name"),
                            "distance_m": c.get("distance_m"), "price_fen": c.get("price_fen"),
                            "rating": c.get("rating"), "voucher_kinds": c.get("voucher_kinds", []),
                            "rank": len(options) + 1}
    return list(options.values())
