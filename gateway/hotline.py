"""The 12349 hotline desk: who is calling, and the call log. Use cases; routes in api/hotline.py,
pure rules in rules/hotline.py.

The desk is the gateway's own (it owns the console and the accounts a family caller is found
by, docs/decisions.md D58). Elder records stay in assessment: the lookup asks it with the
operator's own token, so assessment's scope decides what the desk may see (an operator of one
district finds nobody of another) and its masking applies.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import FamilyLink, HotlineCall, User
from gateway.rules import hotline as rules
from gateway.runtime import GatewayRuntime
from shared.auth import Principal, require_role
from shared.city import CITY_TZ, DISTRICTS
from shared.db import Database
from shared.errors import FieldError, Invalid, NotFound, ServiceUnavailable
from shared.observability import current_request_id
from shared.pii import PiiCipher, mask_phone

ELDER_FIELDS = ("id", "name", "gender_name", "age", "district_code", "district_name", "street", "address", "phone",
                "status", "status_name", "grade", "special_hardship")


# ---- asking assessment, as the operator ------------------------------------------------------------

async def _assessment(rt: GatewayRuntime, path: str, *, authorization: str, params: dict | None = None) -> Any:
    """GET from assessment with the caller's own token: the answer, None on 404 (not there, or not
    the caller's to see: the same thing), 503 when assessment cannot answer."""
    headers = {"authorization": authorization, "x-request-id": current_request_id() or "", "accept": "application/json"}
    for attempt in (1, 2):
        try:
            async with rt.upstream["assessment"].get(rt.upstream_url["assessment"] + path, params=params,
                                                     headers=headers) as r:
                status, content = r.status, await r.read()
            break
        except (aiohttp.ClientError, asyncio.TimeoutError):
            if attempt == 2:
                raise ServiceUnavailable("评估服务暂时无法访问，请稍后再查", service="assessment") from None
    if status == 404:
        return None
    if status >= 400:
        raise ServiceUnavailable("评估服务暂时没有给出老人档案，请稍后再查", service="assessment", upstream_status=status)
    return json.loads(content)


def _elder_card(elder: dict, match: str, relation: str | None = None) -> dict:
    card = {k: elder.get(k) for k in ELDER_FIELDS}
    card["phone"] = mask_phone(card["phone"]) if card.get("phone") and "*" not in card["phone"] else card.get("phone")
    return card | {"match": match, "relation": relation}


async def lookup_caller(db: Database, *, rt: GatewayRuntime, principal: Principal, authorization: str,
                        phone: str) -> dict:
    """Who is calling from `phone`: elders whose record has this number (assessment's blind index),
    the elder or family account with this number (the gateway's) and the family's linked elders,
    each only if the operator may read the elder. Cards are masked; the profile is read after."""
    require_role(principal, *rules.DESK_ROLES)
    number = rules.normal_number(phone, field="phone")
    async with db.sessions() as s:
        user = (await s.execute(sa.select(User).where(User.phone_index == rt.cipher.blind_index(number),
                                                      User.status == "active"))).scalar_one_or_none()
        links: list[tuple[str, str]] = []
        if user is not None and user.role == "family":
            rows = await s.execute(sa.select(FamilyLink.elder_id, FamilyLink.relation).where(
                FamilyLink.user_id == user.id, FamilyLink.revoked_at.is_(None)).order_by(FamilyLink.consent_at))
            links = [(r.elder_id, r.relation) for r in rows]
        elif user is not None and user.role == "elder" and user.elder_id:
            links = [(user.elder_id, "本人")]
    by_record = await _assessment(rt, "/elders", authorization=authorization, params={"q": number, "page_size": "20"})
    cards: dict[str, dict] = {}
    for elder in (by_record or {}).get("items", []):
        cards[str(elder["id"])] = _elder_card(elder, "elder_phone")
    for elder_id, relation in links:
        if elder_id in cards:
            continue
        elder = await _assessment(rt, f"/elders/{elder_id}", authorization=authorization)
        if elder is not None:
            cards[elder_id] = _elder_card(elder, "family" if user.role == "family" else "elder_account", relation)
    caller_kind = "unknown"
    if any(c["match"] != "family" for c in cards.values()):
        caller_kind = "elder"
    elif cards:
        caller_kind = "family"
    # a family account is named only when one of its elders is the operator's to see
    caller = {"kind": caller_kind, "phone": number, "phone_masked": mask_phone(number),
              "name": user.display_name if user is not None and cards and user.role in ("family", "elder") else None}
    return {"caller": caller, "elders": list(cards.values())}


async def elder_for_call(rt: GatewayRuntime, *, authorization: str, elder_id: uuid.UUID) -> dict:
    """The elder a call is about, as the operator may see them (404 otherwise): name and district
    come from the record, never from the page."""
    elder = await _assessment(rt, f"/elders/{elder_id}", authorization=authorization)
    if elder is None:
        raise NotFound("没有找到这位老人的档案，或不在您的辖区", resource="elder")
    return elder


# ---- the call log ----------------------------------------------------------------------------------

async def record_call(s: AsyncSession, *, cipher: PiiCipher, principal: Principal, fields: dict,
                      elder: dict | None, now: datetime) -> dict:
    """`fields`: a `CallIn`, dumped; `elder`: the record of the elder the call is about (read by
    `elder_for_call` before the transaction), or None."""
    require_role(principal, *rules.DESK_ROLES)
    number = rules.normal_number(fields["caller_phone"])
    facts = rules.CallFacts(reason=fields["reason"], outcome=fields["outcome"], started_at=fields["started_at"],
                            ended_at=fields["ended_at"], note=(fields.get("note") or "").strip())
    duration = rules.check_call(facts, now=now)
    district = rules.call_district(role=principal.role, own_district=principal.district,
                                   elder_district=elder["district_code"] if elder else None)
    operator = await s.get(User, uuid.UUID(principal.user_id)) if _is_uuid(principal.user_id) else None
    call = HotlineCall(
        id=uuid.uuid4(), caller_phone_enc=cipher.encrypt(number), caller_phone_index=cipher.blind_index(number),
        caller_phone_masked=mask_phone(number), caller_kind=fields.get("caller_kind") or "unknown",
        elder_id=str(elder["id"]) if elder else None, elder_name=elder["name"] if elder else None,
        district_code=district, operator_id=principal.user_id,
        operator_name=operator.display_name if operator else principal.user_id[:50],
        reason=facts.reason, outcome=facts.outcome, started_at=facts.started_at, ended_at=facts.ended_at,
        duration_s=duration, note=facts.note, order_id=str(fields["order_id"]) if fields.get("order_id") else None,
        created_at=now)
    s.add(call)
    await s.flush()
    # the write's answer is kept by the idempotency table: masked, whoever reads it again
    return call_view(call, cipher, reader=None)


def call_scope(principal: Principal, district: str | None) -> list[sa.ColumnElement[bool]]:
    """The log rows a reader may see, as WHERE clauses (`district` from `rules.log_district`)."""
    return [HotlineCall.district_code == district] if district else []


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CITY_TZ)


async def list_calls(s: AsyncSession, *, cipher: PiiCipher, principal: Principal, date_from: date | None,
                     date_to: date | None, district_code: str | None, reason: str | None, caller_phone: str | None,
                     elder_id: uuid.UUID | None, limit: int, offset: int) -> dict:
    """The log, newest first: days are the city's calendar days, both ends included."""
    require_role(principal, *rules.LOG_READERS)
    district = rules.log_district(role=principal.role, own_district=principal.district, requested=district_code)
    rules.log_days(date_from, date_to)
    where = call_scope(principal, district)
    if date_from:
        where.append(HotlineCall.started_at >= _day_start(date_from))
    if date_to:
        where.append(HotlineCall.started_at < _day_start(date_to + timedelta(days=1)))
    if reason:
        if reason not in rules.REASONS:
            raise Invalid("来电事由不正确", errors=[FieldError("reason", "应为：" + "、".join(rules.REASONS.values()))])
        where.append(HotlineCall.reason == reason)
    if caller_phone:
        where.append(HotlineCall.caller_phone_index == cipher.blind_index(rules.normal_number(caller_phone)))
    if elder_id:
        where.append(HotlineCall.elder_id == str(elder_id))
    total = (await s.execute(sa.select(sa.func.count()).select_from(HotlineCall).where(*where))).scalar_one()
    rows = (await s.execute(sa.select(HotlineCall).where(*where).order_by(HotlineCall.started_at.desc(), HotlineCall.id)
                            .limit(limit).offset(offset))).scalars()
    return {"items": [call_view(r, cipher, reader=principal) for r in rows], "total": total}


def call_view(call: HotlineCall, cipher: PiiCipher, *, reader: Principal | None) -> dict:
    """`reader` None: masked for everyone (a write's stored answer)."""
    if reader is None:
        number = call.caller_phone_masked
    else:
        number = rules.number_shown(cipher.decrypt(call.caller_phone_enc), role=reader.role,
                                    own_call=reader.user_id == call.operator_id)
    return {
        "id": str(call.id), "caller_phone": number, "caller_kind": call.caller_kind,
        "elder_id": call.elder_id, "elder_name": call.elder_name, "district_code": call.district_code,
        "district_name": DISTRICTS.get(call.district_code or "", None), "operator_id": call.operator_id,
        "operator_name": call.operator_name, "reason": call.reason, "reason_name": rules.REASONS[call.reason],
        "outcome": call.outcome, "outcome_name": rules.OUTCOMES[call.outcome],
        "started_at": call.started_at.isoformat(), "ended_at": call.ended_at.isoformat(),
        "duration_s": call.duration_s, "note": call.note, "order_id": call.order_id,
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False
