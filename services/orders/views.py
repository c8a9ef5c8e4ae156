"""The answers people read, built from stored rows: times in the city's zone, money in fen with a
zh summary. JSON-ready (an order's answer is also what an idempotent replay returns).

The builders read ORM rows and `shared.fast_sql` rows (as `queries.snapshot`s) alike: the
protocols below say which columns each one reads."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from services.orders.models import (
    DoorRecordRow,
    OrderPhotoRow,
    RecurringRuleRow,
    ReviewRow,
    ServiceRecordRow,
    StayApplicationRow,
    StayMovementRow,
    StayRow,
)
from services.orders.rules.door import PHOTO_STAGES, Confirmation
from services.orders.rules.lifecycle import Actor, OrderState, allowed_commands
from services.orders.rules.meals import MEALS, METHODS, receipt_zh
from services.orders.rules.recurrence import Coverage
from services.orders.rules.stays import APPLICATION_NAMES, CARE_LEVELS, STATUS_NAMES, STAY_KINDS, StayStatus
from shared.city import CITY_TZ


class OrderFacts(Protocol):
    """What `order_answer` reads: an `OrderRow`, or a snapshot of a row of the orders table."""

    id: uuid.UUID
    kind: str
    elder_id: uuid.UUID
    district_code: str | None
    street: str | None
    service_code: str
    service_name: str
    state: str
    price_fen: int
    voucher_fen: int
    elder_fen: int
    payment: str
    hold_id: uuid.UUID | None
    window_start: datetime
    window_end: datetime
    address: str
    lat: float
    lon: float
    notes: str
    dispatch_mode: str
    provider_id: uuid.UUID | None
    provider_name: str | None
    caregiver_id: uuid.UUID | None
    caregiver_name: str | None
    recurring_rule_id: uuid.UUID | None
    next_dispatch_at: datetime | None
    cancel_reason: str | None
    dispute_reason: str | None
    created_at: datetime
    accepted_at: datetime | None
    completed_at: datetime | None
    settled_at: datetime | None
    cancelled_at: datetime | None


class OfferFacts(Protocol):
    """What `offer_answer` reads: an `OfferRow`, or a snapshot of a row of the offers table."""

    id: uuid.UUID
    order_id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str | None
    caregiver_id: uuid.UUID | None
    caregiver_name: str | None
    distance_m: float | None
    rank: int
    offered_at: datetime
    deadline: datetime
    outcome: str
    reason: str | None


def local_iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(CITY_TZ).isoformat()


def yuan(fen: int) -> str:
    """6000 → "60", 5450 → "54.5", 5405 → "54.05": how an amount is said."""
    whole, cents = divmod(int(fen), 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def payment_summary(order: OrderFacts) -> str:
    if order.kind == "visit" and order.price_fen == 0:
        return "探访关爱服务由民政项目承担，老人无需付费"
    if order.payment == "self_pay":
        return f"自费支付 {yuan(order.elder_fen)} 元"
    return f"代金券支付 {yuan(order.voucher_fen)} 元，自付 {yuan(order.elder_fen)} 元"


def order_answer(order: OrderFacts, *, record: ServiceRecordRow | None = None, review: ReviewRow | None = None,
                 offers: list[OfferFacts] | None = None, actor: Actor | None = None) -> dict:
    """The order as people read it: Asia/Shanghai times, money in fen with a zh summary. JSON-ready
    (it is also what an idempotent replay returns)."""
    state = OrderState(order.state)
    answer = {
        "order_id": str(order.id), "kind": order.kind, "elder_id": str(order.elder_id),
        "district_code": order.district_code, "street": order.street,
        "service_code": order.service_code, "service_name": order.service_name,
        "state": state.value, "state_label": state.label,
        "price_fen": order.price_fen, "voucher_fen": order.voucher_fen, "elder_fen": order.elder_fen,
        "payment": order.payment, "hold_id": str(order.hold_id) if order.hold_id else None,
        "summary": payment_summary(order),
        "window_start": local_iso(order.window_start), "window_end": local_iso(order.window_end),
        "address": order.address, "lat": order.lat, "lon": order.lon, "notes": order.notes,
        "dispatch_mode": order.dispatch_mode,
        "provider_id": str(order.provider_id) if order.provider_id else None, "provider_name": order.provider_name,
        "caregiver_id": str(order.caregiver_id) if order.caregiver_id else None,
        "caregiver_name": order.caregiver_name,
        "recurring_rule_id": str(order.recurring_rule_id) if order.recurring_rule_id else None,
        "next_dispatch_at": local_iso(order.next_dispatch_at) if state.value in ("placed", "offered", "unmatched")
        else None,
        "cancel_reason": order.cancel_reason, "dispute_reason": order.dispute_reason,
        "created_at": local_iso(order.created_at), "accepted_at": local_iso(order.accepted_at),
        "completed_at": local_iso(order.completed_at), "settled_at": local_iso(order.settled_at),
        "cancelled_at": local_iso(order.cancelled_at),
        "allowed_actions": [c.value for c in allowed_commands(state, actor=actor)] if actor else None,
    }
    if record is not None:
        answer["check_in"] = {
            "at": local_iso(record.checkin_at), "distance_m": record.checkin_distance_m,
            "limit_m": record.checkin_limit_m, "outcome": record.checkin_outcome,
            "exception_reason": record.exception_reason}
        if record.checkout_at is not None:
            answer["check_out"] = {"at": local_iso(record.checkout_at), "record": record.record,
                                   "duration_min": record.duration_min}
    if review is not None:
        answer["review"] = {"rating": review.rating, "comment": review.comment, "at": local_iso(review.created_at)}
    if offers is not None:
        answer["offers"] = [offer_answer(o) for o in offers]
    return answer


def door_answer(row: DoorRecordRow | None, photos: list[OrderPhotoRow]) -> dict:
    """What happened at the door (issue 24): set off, confirmation, not at home, photos (their
    URLs under the orders service; the gateway serves them at /api/orders/...)."""
    confirmation = Confirmation(row.confirmation) if row is not None and row.confirmation else None
    return {
        "en_route_at": local_iso(row.en_route_at) if row else None,
        "family_confirmed_at": local_iso(row.family_confirmed_at) if row else None,
        "confirmation": confirmation.value if confirmation else None,
        "confirmation_label": confirmation.label if confirmation else None,
        "unconfirmed_reason": row.unconfirmed_reason if row else None,
        "code_attempts": (row.code_attempts or 0) if row else 0,
        "code_locked": bool(row is not None and row.code_locked_at is not None),
        "no_show_at": local_iso(row.no_show_at) if row else None,
        "photos": [photo_answer(p) for p in photos],
    }


def photo_answer(p: OrderPhotoRow) -> dict:
    return {"photo_id": str(p.id), "stage": p.stage, "stage_label": PHOTO_STAGES[p.stage],
            "content_type": p.content_type, "width": p.width, "height": p.height, "size_bytes": p.size_bytes,
            "url": f"/orders/{p.order_id}/photos/{p.id}", "at": local_iso(p.created_at)}


def offer_answer(offer: OfferFacts, now: datetime | None = None) -> dict:
    answer = {"offer_id": str(offer.id), "order_id": str(offer.order_id), "provider_id": str(offer.provider_id),
              "provider_name": offer.provider_name,
              "caregiver_id": str(offer.caregiver_id) if offer.caregiver_id else None,
              "caregiver_name": offer.caregiver_name, "distance_m": offer.distance_m, "rank": offer.rank,
              "offered_at": local_iso(offer.offered_at), "deadline": local_iso(offer.deadline),
              "outcome": offer.outcome, "reason": offer.reason}
    if now is not None:
        answer["seconds_left"] = max(0, int((offer.deadline - now).total_seconds())) \
            if offer.outcome == "pending" else 0
    return answer


_ORDER_VIEW = ("service_code", "service_name", "address", "lat", "lon", "district_code", "street", "price_fen",
               "voucher_fen", "elder_fen", "payment", "notes", "dispatch_mode")


def offered_order_view(row: Mapping[str, object]) -> dict:
    """What a provider needs to decide, from a row of `queries.OPEN_OFFERS` (the order's columns
    prefixed `order_`): service, time, place, money (no elder's personal data)."""
    view = {"order_id": str(row["order_id"])} | {name: row[f"order_{name}"] for name in _ORDER_VIEW}
    view["window_start"] = local_iso(row["order_window_start"])  # type: ignore[arg-type]
    view["window_end"] = local_iso(row["order_window_end"])  # type: ignore[arg-type]
    return view


def rule_answer(row: RecurringRuleRow) -> dict:
    return {"rule_id": str(row.id), "elder_id": str(row.elder_id), "district_code": row.district_code,
            "service_code": row.service_code, "weekdays": list(row.weekdays), "time": row.local_time,
            "duration_min": row.duration_min, "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat() if row.end_date else None,
            "skip_dates": list(row.skip_dates or []), "extra_dates": list(row.extra_dates or []),
            "address": row.address, "lat": row.lat, "lon": row.lon, "notes": row.notes, "payment": row.payment,
            "status": row.status, "end_reason": row.end_reason, "created_at": local_iso(row.created_at),
            "month_days": list(row.month_days or []),
            "source_plan_id": str(row.source_plan_id) if row.source_plan_id else None,
            "source_item_id": row.source_item_id,
            "preferred_provider_id": str(row.preferred_provider_id) if row.preferred_provider_id else None}


def coverage_answer(head: dict, cov: Coverage) -> dict:
    return head | {"required": cov.required, "visited": cov.visited,
                   "ratio": None if cov.ratio is None else round(cov.ratio, 4)}


# ---- stays (issue 22) -------------------------------------------------------------------------


def _day(value) -> str | None:
    return None if value is None else value.isoformat()


def application_answer(row: StayApplicationRow, *, elder_name: str | None = None) -> dict:
    return {"application_id": str(row.id), "elder_id": str(row.elder_id), "elder_name": elder_name,
            "district_code": row.district_code,
            "provider_id": str(row.provider_id), "care_level": row.care_level,
            "care_level_name": CARE_LEVELS.get(row.care_level, row.care_level), "kind": row.kind,
            "kind_name": STAY_KINDS.get(row.kind, row.kind), "planned_start": _day(row.planned_start),
            "planned_end": _day(row.planned_end), "note": row.note, "status": row.status,
            "status_name": APPLICATION_NAMES.get(row.status, row.status),
            "bed_id": str(row.bed_id) if row.bed_id else None, "decline_reason": row.decline_reason,
            "created_at": local_iso(row.created_at), "updated_at": local_iso(row.updated_at)}


def stay_answer(row: StayRow, movements: list[StayMovementRow] | None = None, *, elder_name: str | None = None) -> dict:
    answer = {"stay_id": str(row.id), "application_id": str(row.application_id), "elder_id": str(row.elder_id),
              "elder_name": elder_name,
              "district_code": row.district_code, "provider_id": str(row.provider_id),
              "provider_name": row.provider_name, "bed_id": str(row.bed_id), "care_level": row.care_level,
              "care_level_name": CARE_LEVELS.get(row.care_level, row.care_level), "kind": row.kind,
              "daily_rate_fen": row.daily_rate_fen, "daily_rate": f"每日 {yuan(row.daily_rate_fen)} 元",
              "status": row.status, "status_name": STATUS_NAMES.get(StayStatus(row.status), row.status),
              "admitted_on": _day(row.admitted_on), "planned_end": _day(row.planned_end),
              "leave": ({"kind": row.leave_kind, "from": _day(row.leave_from), "to": _day(row.leave_to)}
                        if row.status == StayStatus.ON_LEAVE else None),
              "ended_on": _day(row.ended_on), "end_reason": row.end_reason}
    if movements is not None:
        answer["movements"] = [{"kind": m.kind, "on": _day(m.on), "leave_kind": m.leave_kind,
                                "leave_to": _day(m.leave_to), "provider_id": str(m.provider_id),
                                "bed_id": str(m.bed_id), "daily_rate_fen": m.daily_rate_fen, "reason": m.reason}
                               for m in movements]
    return answer


def meal_answer(row, *, undo_until: datetime) -> dict:
    """A meal taken at a counter (a `MealRedemptionRow` or the new row as written), with the
    receipt the counter reads out. JSON-ready (an idempotent replay returns it)."""
    return {"redemption_id": str(row.id), "elder_id": str(row.elder_id), "elder_name": row.elder_name,
            "provider_id": str(row.provider_id), "provider_name": row.provider_name,
            "meal": row.meal, "meal_name": MEALS.get(row.meal, row.meal), "meal_date": row.meal_date.isoformat(),
            "price_fen": row.price_fen, "subsidy_fen": row.subsidy_fen, "self_fen": row.self_fen, "tier": row.tier,
            "reason_zh": row.reason_zh, "receipt_zh": receipt_zh(row.subsidy_fen, row.self_fen),
            "method": row.method, "method_name": METHODS.get(row.method, row.method), "static": row.static,
            "scanned_at": local_iso(row.scanned_at), "redeemed_at": local_iso(row.redeemed_at),
            "undo_until": local_iso(undo_until), "undone_at": local_iso(row.undone_at)}
