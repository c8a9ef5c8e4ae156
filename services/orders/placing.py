"""Placing an order (点单): who may, the price from the catalogue, the voucher hold, the write.

One use case serves people (POST /orders), the recurring spawner and the monthly visit planner,
so every order passes the same checks.

Order of work, and why:
1. Access first (403 for an unlinked elder, before anything is looked up).
2. The elder copy (fetched from assessment once if no event has arrived yet) and the service
   item from providers: reads, done outside the transaction.
3. One transaction under the idempotency key: the voucher hold (HTTP to vouchers, idempotency
   key = order id), the order row, the `order.placed` event. Vouchers down → 503 and the
   transaction rolls back: nothing written. A failure after the hold voids it (best effort).
4. After commit the dispatcher is woken; dispatch runs in the background (the answer says
   "placed" and the order moves to "offered" within a moment). An order placed more than
   `dispatch_lead_h` (48 h) ahead stays "placed" until then: an offer that lapses in two minutes
   is no way to book a visit three weeks away.

The order id is derived from the caller, the idempotency key and the body, so a retry after a
crash asks vouchers for the same hold (vouchers keys holds by order id) instead of a second one.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from services.orders.dispatching import NeedCandidates, candidate_params
from services.orders.events import OrderPlaced
from services.orders.lifecycle import OrderState
from services.orders.queries import INSERT_ORDER
from services.orders.service import (PAYMENT_KINDS, VOUCHER_NAMES, Runtime, ensure_elder, order_answer, publish_fast,
                                     require_elder_access, require_elder_district)
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Invalid, NotFound, ServiceUnavailable, invalid_field
from shared.fast_sql import FastTx
from shared.idempotency import fingerprint, run_idempotent_fast

log = logging.getLogger("youfu.orders.placing")
ORDER_ID_NAMESPACE = uuid.UUID("5b0f1f6e-2d7c-4c59-9a59-6a1f3c1e7d10")
MAX_WINDOW = timedelta(hours=12)
MAX_AHEAD = timedelta(days=92)
PAST_GRACE = timedelta(minutes=1)  # clocks differ a little between a phone and the server

# extra writes in the order's transaction: (the transaction, the new order as written)
AlsoWrite = Callable[[FastTx, SimpleNamespace], Awaitable[None]]


@dataclass(frozen=True)
class PlaceRequest:
    elder_id: uuid.UUID
    service_code: str
    window_start: datetime  # aware
    window_end: datetime
    payment: str
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    notes: str = ""
    kind: str = "on_demand"  # on_demand | recurring | visit
    recurring_rule_id: uuid.UUID | None = None
    programme_funded: bool = False  # a civil-affairs programme pays (monthly visits): price 0, no hold


async def fetch_service_item(rt: Runtime, code: str) -> dict:
    """The catalogue item from providers, kept for `item_cache_s` (the spawner and the visit
    planner place many orders of one item in a row)."""
    cached = rt.item_cache.get(code)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        item = await rt.client("providers").get(f"/service-items/{code}")
    except NotFound:
        raise invalid_field("service_code", "没有这个服务项目", f"服务目录中没有「{code}」，请从目录中选择服务") from None
    rt.item_cache[code] = (time.monotonic() + rt.config.item_cache_s, item)
    return item


def check_payment(payment: str, item: dict) -> None:
    if payment not in PAYMENT_KINDS:
        raise invalid_field("payment", "不是可选的支付方式")
    if payment != "self_pay" and payment not in (item.get("voucher_kinds") or []):
        name = VOUCHER_NAMES.get(payment, payment)
        raise invalid_field("payment", f"该服务不能使用{name}",
                            f"「{item.get('name', item.get('code'))}」不能使用{name}支付，请选择其他券种或自费")


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    errors = []
    if end <= start:
        errors.append(FieldError("window_end", "结束时间应晚于开始时间"))
    elif end - start > MAX_WINDOW:
        errors.append(FieldError("window_end", "服务时间段不能超过 12 小时"))
    if start < now - PAST_GRACE:
        errors.append(FieldError("window_start", "服务时间已过，请选择以后的时间"))
    elif start > now + MAX_AHEAD:
        errors.append(FieldError("window_start", "最多只能预约三个月内的服务"))
    if errors:
        raise Invalid("服务时间有误：" + "；".join(e.reason for e in errors), errors=errors)


def derive_order_id(scope: str, key: str | None, body: dict) -> uuid.UUID:
    if not key:
        return uuid.uuid4()
    return uuid.uuid5(ORDER_ID_NAMESPACE, f"{scope}\n{key}\n{fingerprint(body)}")


async def place_order(rt: Runtime, principal: Principal, req: PlaceRequest, *, idempotency_key: str | None,
                      scope: str, also: AlsoWrite | None = None) -> tuple[int, dict, bool]:
    """Place one order; returns (201, answer, replayed). `also` writes extra rows in the same
    transaction (the spawner's occurrence row, the planner's link)."""
    require_elder_access(principal, req.elder_id)
    elder = await ensure_elder(rt, req.elder_id)
    require_elder_district(principal, elder)
    if elder.status != "active":
        raise Invalid(f"该老人的档案状态为「{elder.status}」，不能下单", elder_status=elder.status)
    item = await fetch_service_item(rt, req.service_code)
    payment = "self_pay" if req.programme_funded else req.payment
    check_payment(payment, item)
    now = rt.now()
    check_window(req.window_start, req.window_end, now)
    lat = req.lat if req.lat is not None else elder.lat
    lon = req.lon if req.lon is not None else elder.lon
    if lat is None or lon is None:
        raise invalid_field("lat", "请提供服务地点的位置", "老人档案中没有住址定位，请在下单时提供服务地点的经纬度")
    address = req.address or elder.address
    if not address:
        raise invalid_field("address", "请填写服务地址")
    price_fen = 0 if req.programme_funded else int(item["guide_price_fen"])
    if price_fen <= 0 and payment != "self_pay":
        raise invalid_field("payment", "该服务免费，无需用券", "该服务价格为 0，请选择自费（无需付费）")

    body = {"elder_id": str(req.elder_id), "service_code": req.service_code, "payment": payment,
            "window_start": req.window_start.isoformat(), "window_end": req.window_end.isoformat(),
            "address": address, "lat": lat, "lon": lon, "notes": req.notes, "kind": req.kind}
    order_id = derive_order_id(scope, idempotency_key, body)
    # dispatch starts at once, or `dispatch_lead_h` before a window far ahead
    dispatch_at = max(now, req.window_start - timedelta(hours=rt.config.dispatch_lead_h))
    held: dict = {}
    written: list[SimpleNamespace] = []

    async def work(tx: FastTx) -> tuple[int, dict]:
        hold = None
        if payment != "self_pay":
            hold = await rt.client("vouchers").post("/holds", idempotency_key=str(order_id), json={
                "order_id": str(order_id), "elder_id": str(req.elder_id), "kind": payment,
                "price_fen": price_fen, "service_code": req.service_code})
            if hold.get("status") != "held":
                raise Conflict("该订单的代金券预扣已失效，请重新下单（换一个幂等键）", hold_id=hold.get("hold_id"))
            held["hold_id"] = uuid.UUID(hold["hold_id"])
        voucher_fen = int(hold["voucher_fen"]) if hold else 0
        order = SimpleNamespace(
            id=order_id, kind=req.kind, elder_id=req.elder_id, district_code=elder.district_code,
            street=elder.street, service_code=req.service_code, service_name=item.get("name") or req.service_code,
            unit=item.get("unit"), min_duration_min=item.get("min_duration_min"), price_fen=price_fen,
            voucher_fen=voucher_fen, elder_fen=int(hold["elder_fen"]) if hold else price_fen, payment=payment,
            hold_id=held.get("hold_id"), share_bp=hold.get("share_bp") if hold else None, captured_fen=None,
            window_start=req.window_start, window_end=req.window_end, address=address, lat=lat, lon=lon,
            notes=req.notes, state=OrderState.PLACED.value, dispatch_mode=item.get("dispatch_mode") or "sequential",
            grab_size=max(1, int(item.get("grab_size") or 1)), unmatched_count=0,
            next_dispatch_at=dispatch_at,
            provider_id=None, provider_name=None, caregiver_id=None, caregiver_name=None,
            completed_event_sent=False, cancel_reason=None, cancelled_by=None, dispute_reason=None,
            dispute_state_before=None, resolution=None, recurring_rule_id=req.recurring_rule_id,
            placed_by=principal.user_id, placed_by_role=principal.role, created_at=now, updated_at=now,
            accepted_at=None, completed_at=None, settled_at=None, cancelled_at=None)
        if order.voucher_fen + order.elder_fen != order.price_fen:
            raise ServiceUnavailable("养老服务券服务返回的金额不一致，请稍后再试")
        await tx.run(INSERT_ORDER, **vars(order))
        await publish_fast(tx, OrderPlaced(
            order_id=order.id, elder_id=order.elder_id, district_code=order.district_code,
            service_code=order.service_code, price_fen=price_fen, voucher_fen=voucher_fen,
            voucher_kind=None if payment == "self_pay" else payment, hold_id=order.hold_id, kind=order.kind,
            window_start=order.window_start.isoformat()))
        if also is not None:
            await also(tx, order)
        written.append(order)
        return 201, order_answer(order)

    try:
        status, answer, replayed = await run_idempotent_fast(rt.db, key=idempotency_key, scope=scope, body=body,
                                                             work=work)
    except BaseException:
        if "hold_id" in held:  # the hold was made but the order was not written: give it back
            await rt.void_hold(held["hold_id"])
        raise
    if not replayed:
        if dispatch_at <= now:  # the usual case: the dispatcher starts on it without looking it up
            rt.hand_to_dispatcher(order_id, NeedCandidates(candidate_params(rt, written[-1], set())))
        else:  # its dispatch time may come before what the dispatcher waits for now
            rt.wake_dispatcher()
    return status, answer, replayed
