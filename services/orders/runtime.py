"""The orders service's parts, kept on `ctx.runtime`: its settings, clients of the other services,
the service-item and meal-point caches, the meal-code key and the dispatcher with its hand-over of
new orders."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from services.orders.rules.door import derive_key
from services.orders.settings import OrdersSettings
from shared.app import ServiceContext
from shared.db import Database
from shared.errors import NotFound, ServiceUnavailable, invalid_field
from shared.http import ServiceClient
from shared.sms import SmsSender, sms_sender_from
from shared.storage import BlobStorage, storage_from_settings

if TYPE_CHECKING:
    from services.orders.dispatch.dispatcher import Dispatcher

log = logging.getLogger("youfu.orders")


@dataclass
class OrdersRuntime:
    ctx: ServiceContext
    settings: OrdersSettings
    clients: dict[str, ServiceClient] = field(default_factory=dict)
    dispatch_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    item_cache: dict[str, tuple[float, dict]] = field(default_factory=dict)  # code -> (monotonic expiry, item)
    # new orders handed straight to the dispatcher (order id -> its first candidates request), and
    # whether something else changed that only a look at the table finds (`wake_dispatcher`)
    handed_over: dict[uuid.UUID, object] = field(default_factory=dict)
    dispatch_look_needed: bool = False
    dispatch_due_at: datetime | None = None  # the soonest dispatch time of orders placed for later
    dispatcher: Dispatcher | None = None  # set by main's start-up
    background: set[asyncio.Task] = field(default_factory=set)  # fire-and-forget calls, kept until done
    meal_point_cache: dict[uuid.UUID, tuple[float, dict]] = field(default_factory=dict)  # id -> (expiry, provider)
    _meal_code_key: bytes | None = None
    _door_code_key: bytes | None = None
    _storage: BlobStorage | None = None
    _sms: SmsSender | None = None

    @property
    def sms(self) -> SmsSender:
        """The SMS sender the settings name (tests set `_sms` to a recording fake)."""
        if self._sms is None:
            self._sms = sms_sender_from(self.settings.sms_sender)
        return self._sms

    def run_soon(self, coroutine) -> None:
        """Fire-and-forget work after a commit (kept until done, so it is not collected)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    @property
    def db(self) -> Database:
        return self.ctx.db

    def now(self) -> datetime:
        return self.ctx.now()

    def client(self, service: str) -> ServiceClient:
        if service not in self.clients:
            self.clients[service] = ServiceClient(self.ctx.settings, service)
        return self.clients[service]

    def wake_dispatcher(self) -> None:
        """Something due changed in the table (a decline, a provider's cancel): look at once."""
        self.dispatch_look_needed = True
        self.dispatch_wakeup.set()

    def dispatch_later(self, at: datetime) -> None:
        """A committed new order due at `at`, later than now: the dispatcher looks then if that is
        sooner than it would anyway (no look at the table now: orders booked days ahead are many)."""
        if self.dispatch_due_at is None or at < self.dispatch_due_at:
            self.dispatch_due_at = at
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

    def void_holds_soon(self, hold_ids: list[uuid.UUID]) -> None:
        """`void_hold` for each, in the background: for callers (event handlers) that must not wait
        on vouchers, once their transaction has committed."""
        for hold_id in hold_ids:
            task = asyncio.get_running_loop().create_task(self.void_hold(hold_id))
            self.background.add(task)
            task.add_done_callback(self.background.discard)

    async def release_bed(self, bed_id: uuid.UUID, **holder: uuid.UUID) -> None:
        """Give a bed back at providers (`holder`: the application_id or stay_id holding it). Best
        effort, for releases after a committed end and for compensations: a failure is logged
        with what to release by hand."""
        body = {name: str(value) for name, value in holder.items()}
        try:
            await self.client("providers").post(f"/beds/{bed_id}/release", json=body,
                                                idempotency_key=f"release:{bed_id}:" + ",".join(sorted(body.values())))
        except Exception as exc:  # never turn a committed change (or the error being raised) into another error
            log.warning("releasing bed %s held by %s failed: %s", bed_id, body, getattr(exc, "detail", exc))

    def release_beds_soon(self, beds: list[tuple[uuid.UUID, dict[str, uuid.UUID]]]) -> None:
        """`release_bed` for each, in the background (event handlers, once committed)."""
        for bed_id, holder in beds:
            task = asyncio.get_running_loop().create_task(self.release_bed(bed_id, **holder))
            self.background.add(task)
            task.add_done_callback(self.background.discard)

    async def service_item(self, code: str) -> dict:
        """The catalogue item from providers, kept for `item_cache_s` (the spawner and the visit
        planner place many orders of one item in a row)."""
        cached = self.item_cache.get(code)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            item = await self.client("providers").get(f"/service-items/{code}")
        except NotFound:
            raise invalid_field("service_code", "没有这个服务项目", f"服务目录中没有「{code}」，请从目录中选择服务") from None
        self.item_cache[code] = (time.monotonic() + self.settings.item_cache_s, item)
        return item

    async def meal_point(self, provider_id: uuid.UUID) -> dict:
        """The provider as providers answers `GET /providers/{id}` (kind, status, name, district),
        kept for `meal_point_cache_s`: every meal taken asks, and a suspension need only reach
        the counters within that."""
        cached = self.meal_point_cache.get(provider_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            point = await self.client("providers").get(f"/providers/{provider_id}")
        except NotFound:
            raise NotFound("没有这个助餐点", provider_id=str(provider_id)) from None
        self.meal_point_cache[provider_id] = (time.monotonic() + self.settings.meal_point_cache_s, point)
        return point

    @property
    def meal_code_key(self) -> bytes:
        """The meal codes' HMAC key: YOUFU_ORDERS_MEAL_CODE_KEY, else var/keys/meal_code.key
        (`youfu up` makes one for development); without one no code is signed or checked."""
        if self._meal_code_key is None:
            value = self.settings.meal_code_key
            if not value:
                path = self.ctx.settings.var_dir / "keys" / "meal_code.key"
                value = path.read_text().strip() if path.exists() else ""
            if not value:
                raise ServiceUnavailable("助餐码密钥未配置，请联系系统管理员")
            self._meal_code_key = value.encode()
        return self._meal_code_key

    @property
    def door_code_key(self) -> bytes:
        """The door confirmation codes' HMAC key: YOUFU_ORDERS_DOOR_CODE_KEY, else derived from
        the meal-code secret (domain-separated, `rules/door.derive_key`), so no second secret
        has to be provisioned."""
        if self._door_code_key is None:
            own = self.settings.door_code_key
            self._door_code_key = own.encode() if own else derive_key(self.meal_code_key)
        return self._door_code_key

    @property
    def storage(self) -> BlobStorage:
        """Where photos go (`shared/storage.py`: var/blobs by default, S3 when configured)."""
        if self._storage is None:
            self._storage = storage_from_settings(self.ctx.settings)
        return self._storage


def runtime_of(ctx: ServiceContext) -> OrdersRuntime:
    return ctx.runtime


async def _runtime(request: Request) -> OrdersRuntime:  # async: no worker-thread hop (shared/app.py)
    return request.app.state.ctx.runtime


Runtime = Annotated[OrdersRuntime, Depends(_runtime)]
