"""Placing an order (点单): who may, the price from the catalogue, the voucher hold, the write.

One use case serves people (POST /orders), the recurring spawner and the monthly visit planner,
so every order passes the same checks.

Order of work, and why:
1. Access first (403 for an unlinked elder, before anything is looked up).
2. The elder copy (fetched from assessment once if no event has arrived yet) and the service
   item from providers: reads, done outside the transaction.
3. One transaction under the idempotency key, opened by the caller (`place_in_transaction`):
   for a community-paid order the elder's open institutional stay (409 during a stay, except on
   leave: `refuse_during_stay`), the voucher hold (HTTP to vouchers, idempotency key = order id), the order row, the
   `order.placed` event. Vouchers down → 503 and the
   transaction rolls back: nothing written. A failure after the hold voids it (best effort).
4. After commit the dispatcher is woken; dispatch runs in the background (the answer says
   "placed" and the order moves to "offered" within a moment). An order placed more than
   `dispatch_lead_h` (48 h) ahead stays "placed" until then: an offer that lapses in two minutes
   is no way to book a visit three weeks away.

The order id is derived from the caller, the idempotency key and the body (`rules.placement`), so
a retry after a crash asks vouchers for the same hold instead of a second one.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import PLATFORM_ROLES, actor_of, load_order, order_scope, require_elder_access, require_elder_district
from services.orders.dispatch.dispatcher import NeedCandidates, candidate_params
from services.orders.elders import ensure_elder
from services.orders.events import OrderPlaced, publish_fast
from services.orders.models import DoorRecordRow, OfferRow, OrderPhotoRow, OrderRow, ReviewRow, ServiceRecordRow
from services.orders.queries import INSERT_ORDER, OPEN_STAY, new_order
from services.orders.rules.lifecycle import OrderState
from services.orders.rules.placement import check_payment, check_window, derive_order_id
from services.orders.rules.stays import OpenStay, community_order_refusal
from services.orders.runtime import OrdersRuntime
from services.orders.stays import stay_policy
from services.orders.views import door_answer, order_answer
from shared.auth import Principal
from shared.city import local_day
from shared.errors import Conflict, Forbidden, Invalid, ServiceUnavailable, invalid_field
from shared.fast_sql import FastTx
from shared.idempotency import fingerprint, run_idempotent_fast

log = logging.getLogger("youfu.orders.placement")

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
    preferred_provider_id: uuid.UUID | None = None  # a care plan's provider: offered first
    programme_funded: bool = False  # a civil-affairs programme pays (monthly visits): price 0, no hold


@dataclass
class Placement:
    """An order checked and priced, ready for its transaction; `hold_id` is set once vouchers
    holds the share (so a failed transaction gives it back)."""

    principal: Principal
    request: PlaceRequest
    order_id: uuid.UUID
    body: dict  # what the idempotency key is bound to
    district_code: str | None
    street: str | None
    item: dict
    payment: str
    price_fen: int
    address: str
    lat: float
    lon: float
    now: datetime
    dispatch_at: datetime
    hold_id: uuid.UUID | None = None
    written: list[SimpleNamespace] = field(default_factory=list)


async def prepare_order(rt: OrdersRuntime, *, principal: Principal, request: PlaceRequest, scope: str,
                        idempotency_key: str | None, now: datetime) -> Placement:
    """Access, the elder copy, the service item and every check: reads only, before the
    transaction."""
    req = request
    require_elder_access(principal, req.elder_id, desk=True)
    elder = await ensure_elder(rt, req.elder_id)
    require_elder_district(principal, elder)
    if elder.status != "active":
        raise Invalid(f"该老人的档案状态为「{elder.status}」，不能下单", elder_status=elder.status)
    item = await rt.service_item(req.service_code)
    payment = "self_pay" if req.programme_funded else req.payment
    check_payment(payment, item)
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
    return Placement(
        principal=principal, request=req, body=body,
        order_id=derive_order_id(scope, idempotency_key, fingerprint(body) if idempotency_key else ""),
        district_code=elder.district_code, street=elder.street, item=item, payment=payment, price_fen=price_fen,
        address=address, lat=lat, lon=lon, now=now,
        # dispatch starts at once, or `dispatch_lead_h` before a window far ahead
        dispatch_at=max(now, req.window_start - timedelta(hours=rt.settings.dispatch_lead_h)))


async def place_order(tx: FastTx, *, rt: OrdersRuntime, placement: Placement,
                      also: AlsoWrite | None = None, open_stay: Mapping | None = None) -> tuple[int, dict]:
    """Write the order in the caller's transaction: (201, answer). `also` writes extra rows in it
    (the spawner's occurrence row, the planner's link). `open_stay`: for a community-voucher order,
    the elder's `OPEN_STAY` row (or None), read in this transaction (`place_in_transaction` sends
    it with the idempotency key, D79).

    The voucher hold is an HTTP call to vouchers made inside this transaction, on purpose: the
    order must not be written without its hold, and vouchers keys the hold by the order id, so a
    rolled-back attempt retried later asks for the same hold, not a second one."""
    p, req = placement, placement.request
    if p.payment == "community":  # no home services on the community voucher while in an institution
        refuse_during_stay(placement=p, row=open_stay)
    hold = None
    if p.payment != "self_pay":
        hold = await rt.client("vouchers").post("/holds", idempotency_key=str(p.order_id), json={
            "order_id": str(p.order_id), "elder_id": str(req.elder_id), "kind": p.payment,
            "price_fen": p.price_fen, "service_code": req.service_code})
        if hold.get("status") != "held":
            raise Conflict("该订单的代金券预扣已失效，请重新下单（换一个幂等键）", hold_id=hold.get("hold_id"))
        p.hold_id = uuid.UUID(hold["hold_id"])
    voucher_fen = int(hold["voucher_fen"]) if hold else 0
    item, now = p.item, p.now
    order = new_order(
        id=p.order_id, kind=req.kind, elder_id=req.elder_id, district_code=p.district_code, street=p.street,
        service_code=req.service_code, service_name=item.get("name") or req.service_code, unit=item.get("unit"),
        min_duration_min=item.get("min_duration_min"), price_fen=p.price_fen, voucher_fen=voucher_fen,
        elder_fen=int(hold["elder_fen"]) if hold else p.price_fen, payment=p.payment, hold_id=p.hold_id,
        share_bp=hold.get("share_bp") if hold else None, window_start=req.window_start, window_end=req.window_end,
        address=p.address, lat=p.lat, lon=p.lon, notes=req.notes, state=OrderState.PLACED.value,
        dispatch_mode=item.get("dispatch_mode") or "sequential", grab_size=max(1, int(item.get("grab_size") or 1)),
        unmatched_count=0, next_dispatch_at=p.dispatch_at, completed_event_sent=False,
        recurring_rule_id=req.recurring_rule_id, preferred_provider_id=req.preferred_provider_id,
        placed_by=p.principal.user_id, placed_by_role=p.principal.role,
        created_at=now, updated_at=now)
    if order.voucher_fen + order.elder_fen != order.price_fen:
        raise ServiceUnavailable("养老服务券服务返回的金额不一致，请稍后再试")
    await tx.run(INSERT_ORDER, **vars(order))
    await publish_fast(tx, OrderPlaced(
        order_id=order.id, elder_id=order.elder_id, district_code=order.district_code,
        service_code=order.service_code, price_fen=p.price_fen, voucher_fen=voucher_fen,
        voucher_kind=None if p.payment == "self_pay" else p.payment, hold_id=order.hold_id, kind=order.kind,
        window_start=order.window_start.isoformat()))
    if also is not None:
        await also(tx, order)
    p.written.append(order)
    return 201, order_answer(order)


def refuse_during_stay(*, placement: Placement, row: Mapping | None) -> None:
    """409 when the elder has an open institutional stay on the service day and is not on leave
    (`rules.stays.community_order_refusal`). `row`: the open stay (`OPEN_STAY`), read in the
    order's transaction before the hold."""
    req = placement.request
    if row is None:
        return
    day = local_day(req.window_start)
    stay = OpenStay(stay_id=str(row["id"]), provider_name=row["provider_name"], status=row["status"],
                    admitted_on=row["admitted_on"], leave_from=row["leave_from"], leave_to=row["leave_to"])
    reason = community_order_refusal(placement.payment, stay, day, stay_policy(day))
    if reason is not None:
        raise Conflict(reason, stay_id=stay.stay_id, stay_status=stay.status)


async def place_in_transaction(rt: OrdersRuntime, *, placement: Placement, idempotency_key: str | None,
                               scope: str, also: AlsoWrite | None = None) -> tuple[int, dict, bool]:
    """The caller's side of placing, shared by its three callers (POST /orders, the recurring
    spawner, the visit planner): the one transaction under the idempotency key around
    `place_order`; a hold made for an order that was not written is given back; after the commit
    the dispatcher gets the order. Returns (201, answer, replayed)."""
    # a community-voucher order reads the elder's open stay: with the idempotency key, in its round trip
    stay_first = (OPEN_STAY, {"elder_id": placement.request.elder_id}) if placement.payment == "community" else None

    async def work(tx: FastTx, open_stay: Mapping | None = None) -> tuple[int, dict]:
        return await place_order(tx, rt=rt, placement=placement, also=also, open_stay=open_stay)

    try:
        status, answer, replayed = await run_idempotent_fast(
            rt.db, key=idempotency_key, scope=scope, body=placement.body, work=work, first=stay_first)
    except BaseException:
        if placement.hold_id is not None:  # the hold was made but the order was not written: give it back
            await rt.void_hold(placement.hold_id)
        raise
    if not replayed:
        if placement.dispatch_at <= placement.now:  # the usual case: the dispatcher starts on it without looking it up
            rt.hand_to_dispatcher(placement.order_id,
                                  NeedCandidates(candidate_params(rt, placement.written[-1], set())))
        else:  # its dispatch time may come before what the dispatcher waits for now
            rt.dispatch_later(placement.dispatch_at)
    return status, answer, replayed


async def place(rt: OrdersRuntime, *, principal: Principal, request: PlaceRequest, idempotency_key: str | None,
                scope: str, now: datetime, also: AlsoWrite | None = None) -> tuple[int, dict, bool]:
    """`prepare_order`, then `place_in_transaction`: what every caller does."""
    placement = await prepare_order(rt, principal=principal, request=request, scope=scope,
                                    idempotency_key=idempotency_key, now=now)
    return await place_in_transaction(rt, placement=placement, idempotency_key=idempotency_key, scope=scope,
                                      also=also)


# ---- the order read back ----------------------------------------------------------------------


async def order_details(session: AsyncSession, *, order: OrderRow, principal: Principal) -> dict:
    """The order's answer with its service record, review and (for the platform) offers."""
    record = await session.get(ServiceRecordRow, order.id)
    review = await session.get(ReviewRow, order.id)
    offers = None
    if principal.role in PLATFORM_ROLES:  # the dispatch history is the platform's business
        offers = list((await session.execute(sa.select(OfferRow).where(OfferRow.order_id == order.id)
                                             .order_by(OfferRow.offered_at, OfferRow.rank))).scalars())
    answer = order_answer(order, record=record, review=review, offers=offers, actor=actor_of(principal))
    if record is not None or order.state == "accepted":  # at the door: set off, confirmation, photos
        photos = list((await session.execute(sa.select(OrderPhotoRow).where(OrderPhotoRow.order_id == order.id)
                                             .order_by(OrderPhotoRow.created_at, OrderPhotoRow.id))).scalars())
        answer["door"] = door_answer(await session.get(DoorRecordRow, order.id), photos)
    return answer


async def read_order(session: AsyncSession, *, principal: Principal, order_id: uuid.UUID) -> dict:
    return await order_details(session, order=await load_order(session, principal, order_id), principal=principal)


async def list_orders(session: AsyncSession, *, principal: Principal, state: OrderState | None,
                      elder_id: uuid.UUID | None, provider_id: uuid.UUID | None, caregiver_id: uuid.UUID | None,
                      limit: int, offset: int) -> list[dict]:
    if principal.role == "assessor":
        raise Forbidden("评估员不能查看订单")
    query = sa.select(OrderRow).where(order_scope(principal))
    for column, value in ((OrderRow.state, state.value if state else None), (OrderRow.elder_id, elder_id),
                          (OrderRow.provider_id, provider_id), (OrderRow.caregiver_id, caregiver_id)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(OrderRow.window_start.desc(), OrderRow.id).limit(limit).offset(offset)
    return [order_answer(o) for o in (await session.execute(query)).scalars()]
