"""What every use case of the orders service shares: the runtime (settings, clock, clients of the
other services, the dispatcher's wake-up), who may see what (written into the queries), the
elder copy, publishing, and the answers people read.

The use cases live in named modules, each opening its own transactions: `placing` (place an
order: price, voucher hold, write), `dispatching` (offers, deadlines, accept, decline, retries),
`delivery` (check-in/out, review, cancel, dispute, settlement), `recurring` (rules and the
spawner) and `visits` (monthly 探访关爱 plans and coverage).

Scoping rule, everywhere: a list is filtered to what the caller may see; a single order outside
the caller's scope is "not found" (404), exactly as if it did not exist; a request that names an
elder or a district outside the caller's own is refused with 403 before anything is looked up.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.lifecycle import Actor, OrderState, allowed_commands
from services.orders.models import ElderRow, OfferRow, OrderRow, ReviewRow, ServiceRecordRow
from services.orders.queries import ELDER, snapshot
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import Database, utcnow
from shared.errors import Forbidden, NotFound
from shared.events import make_event
from shared.fast_sql import FastTx, fast_reads
from shared.http import ServiceClient
from shared.outbox import add_event

log = logging.getLogger("youfu.orders")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SOURCE = "/youfu/orders"

CITY_ROLES = frozenset({"city_officer", "admin", "service"})
ELDER_ROLES = frozenset({"elder", "family"})
PROVIDER_ROLES = frozenset({"provider_admin", "caregiver"})
PLATFORM_ROLES = frozenset({"officer", "city_officer", "admin", "service"})
PAYMENT_KINDS = ("community", "mutual_aid", "institutional", "self_pay")
VOUCHER_NAMES = {"community": "社区照护券", "mutual_aid": "邻里互助券", "institutional": "机构托养券"}


class OrdersConfig(BaseSettings):
    """The orders service's own settings (env YOUFU_ORDERS_…). They live here, not in the
    kernel's `Settings`, because they mean nothing to the other services."""

    model_config = SettingsConfigDict(env_prefix="YOUFU_ORDERS_", extra="ignore")

    offer_timeout_s: int = 120  # how long a provider has to answer an offer
    dispatch_lead_h: float = 48  # an order placed further ahead waits until this long before its window
    checkin_limit_m: int = 200  # farther than this from the address: refused or an exception
    unmatched_retry_s: int = 300  # an order nobody took is offered again after this
    candidates_k: int = 10  # how many ranked candidates to ask providers for
    max_offers: int | None = None  # stop after this many offers per round of retries (None: all)
    dispatch_tick_s: float = 1.0  # the dispatcher looks at least this often
    dispatch_backoff_s: float = 10.0  # providers unreachable: look again after this
    dispatch_concurrency: int = 16  # orders advanced at once (each holds a database connection a moment)
    spawn_every_s: float = 60.0  # recurring orders and visit plans are checked this often
    spawn_lead_h: int = 24  # occurrences are placed this far ahead
    auto_plan_visits: bool = True  # plan this month's visits city-wide from the spawner
    visit_duration_min: int = 60
    item_cache_s: float = 30  # service items are re-read from providers after this
    run_background: bool = True  # dispatcher and spawner tasks (tests may drive them by hand)


@dataclass
class Runtime:
    """The service's parts, kept in `ctx.extras["orders"]`."""

    ctx: ServiceContext
    config: OrdersConfig
    clock: Callable[[], datetime] | None = None
    clients: dict[str, ServiceClient] = field(default_factory=dict)
    dispatch_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task] = field(default_factory=list)
    item_cache: dict[str, tuple[float, dict]] = field(default_factory=dict)  # code -> (monotonic expiry, item)
    # new orders handed straight to the dispatcher (order id -> its first candidates request), and
    # whether something else changed that only a look at the table finds (`wake_dispatcher`)
    handed_over: dict[uuid.UUID, object] = field(default_factory=dict)
    dispatch_look_needed: bool = False

    @property
    def db(self) -> Database:
        return self.ctx.db

    def now(self) -> datetime:
        return self.clock() if self.clock else utcnow()

    def client(self, service: str) -> ServiceClient:
        if service not in self.clients:
            self.clients[service] = ServiceClient(self.ctx.settings, service)
        return self.clients[service]

    def wake_dispatcher(self) -> None:
        """Something due changed in the table (a decline, a provider's cancel): look at once."""
        self.dispatch_look_needed = True
        self.dispatch_wakeup.set()

    def hand_to_dispatcher(self, order_id: uuid.UUID, first_ask: object) -> None:
        """A committed new order, due now: dispatch starts without the dispatcher's query."""
        self.handed_over[order_id] = first_ask
        self.dispatch_wakeup.set()

    async def void_hold(self, hold_id: uuid.UUID | None) -> None:
        """Release a voucher hold at once. Best effort: the `order.cancelled` event in the outbox
        releases it anyway, so a vouchers outage only delays the release."""
        if hold_id is None:
            return
        try:
            await self.client("vouchers").post(f"/holds/{hold_id}/void", idempotency_key=f"void:{hold_id}")
        except Exception as exc:  # the cancellation is committed: never turn it into an error now
            log.warning("voiding hold %s failed (the cancelled event will release it): %s", hold_id,
                        getattr(exc, "detail", exc))


def runtime(ctx: ServiceContext) -> Runtime:
    return ctx.extras["orders"]


# ---- small conversions ------------------------------------------------------------------------


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def local_iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(SHANGHAI).isoformat()


def yuan(fen: int) -> str:
    """6000 → "60", 5450 → "54.5", 5405 → "54.05": how an amount is said."""
    whole, cents = divmod(int(fen), 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def payment_summary(order: OrderRow) -> str:
    if order.kind == "visit" and order.price_fen == 0:
        return "探访关爱服务由民政项目承担，老人无需付费"
    if order.payment == "self_pay":
        return f"自费支付 {yuan(order.elder_fen)} 元"
    return f"代金券支付 {yuan(order.voucher_fen)} 元，自付 {yuan(order.elder_fen)} 元"


def publish(session: AsyncSession, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


async def publish_fast(tx: FastTx, data: BaseModel) -> None:
    """`publish` for the paths on `shared.fast_sql`."""
    await tx.add_event(make_event(data, source=SOURCE))


# ---- who may see and do what ------------------------------------------------------------------


def own_elders(principal: Principal) -> list[uuid.UUID]:
    return [u for u in (parse_uuid(e) for e in principal.elder_ids) if u is not None]


def provider_of(principal: Principal) -> uuid.UUID | None:
    return parse_uuid(principal.provider_id)


def order_scope(principal: Principal):
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
    if role == "officer":
        return OrderRow.district_code == principal.district if principal.district else sa.false()
    return sa.false()


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


def require_elder_access(principal: Principal, elder_id: uuid.UUID) -> None:
    """Before any lookup: elders and families only for their own linked elders (403 tells the
    caller nothing about whether the elder exists); officers are checked against the elder's
    district once it is known (`require_elder_district`)."""
    if principal.role in ELDER_ROLES:
        if elder_id not in own_elders(principal):
            raise Forbidden("您尚未绑定该老人，不能为其下单或查看；请先在「家属绑定」中申请绑定",
                            elder_id=str(elder_id))
        return
    if principal.role not in PLATFORM_ROLES:
        raise Forbidden("当前账号不能为老人下单；请由老人本人、已绑定的家属或民政工作人员操作")


def require_elder_district(principal: Principal, elder: ElderRow) -> None:
    if principal.role == "officer" and elder.district_code != principal.district:
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


# ---- the elder copy ---------------------------------------------------------------------------


def apply_elder_facts(row: ElderRow, data: dict) -> None:
    for name in ("name", "district_code", "street", "address", "lat", "lon"):
        if name in data:
            setattr(row, name, data[name])
    if "special_hardship" in data:
        row.special_hardship = bool(data["special_hardship"])
    if data.get("status"):
        row.status = str(data["status"])


async def ensure_elder(rt: Runtime, elder_id: uuid.UUID):
    """The elder from this service's copy (an ElderRow or its `queries.snapshot`); when an order
    comes before the elder's event, the record is fetched once from assessment and kept (later
    events overwrite it)."""
    async with fast_reads(rt.db) as r:  # read on every order placed
        row = snapshot(await r.row(ELDER, elder_id=elder_id))
    if row is not None:
        return row
    try:
        data = await rt.client("assessment").get(f"/elders/{elder_id}")
    except NotFound:
        raise NotFound("没有找到该老人的档案，请先在评估服务登记", elder_id=str(elder_id)) from None
    row = ElderRow(elder_id=elder_id, source="fetched", updated_at=rt.now(), special_hardship=False, status="active")
    apply_elder_facts(row, data or {})
    try:
        async with rt.db.transaction() as s:
            s.add(row)
    except IntegrityError:  # the elder's event arrived meanwhile: it wins
        async with rt.db.sessions() as s:
            row = await s.get(ElderRow, elder_id)
    return row


# ---- answers ----------------------------------------------------------------------------------


def order_answer(order: OrderRow, *, record: ServiceRecordRow | None = None, review: ReviewRow | None = None,
                 offers: list[OfferRow] | None = None, actor: Actor | None = None) -> dict:
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


def offer_answer(offer: OfferRow, now: datetime | None = None) -> dict:
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


async def order_details(session: AsyncSession, order: OrderRow, principal: Principal) -> dict:
    record = await session.get(ServiceRecordRow, order.id)
    review = await session.get(ReviewRow, order.id)
    offers = None
    if principal.role in PLATFORM_ROLES:  # the dispatch history is the platform's business
        offers = list((await session.execute(sa.select(OfferRow).where(OfferRow.order_id == order.id)
                                             .order_by(OfferRow.offered_at, OfferRow.rank))).scalars())
    return order_answer(order, record=record, review=review, offers=offers, actor=actor_of(principal))
