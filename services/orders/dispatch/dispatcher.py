"""Dispatch (派单) with stored deadlines: offers, expiry, the next candidate, retries. What
providers do with an offer (accept, decline) is in `dispatch.offers`.

The rules are `rules.dispatch.decide` (pure); this module feeds it the stored offers and the ranked
candidates from providers and writes back what it decided. What makes it restart-proof: every
offer row keeps its deadline, and `orders.next_dispatch_at` says when to look at an order again.
The dispatcher is a periodic task (`main.py`): its pass returns the time until the earliest such
instant (at most `dispatch_tick_s`), and a decline or a new order wakes it at once, so a restarted
process simply carries on. The dispatcher is the caller of the dispatch steps: it opens their
transactions, one per step.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from services.orders.access import parse_uuid
from services.orders.events import OrderCancelled, OrderOffered, OrderUnmatched, publish_fast
from services.orders.queries import (
    DUE_ORDERS,
    INSERT_OFFER,
    LOCK_ORDER,
    OFFERS_OF,
    POSTPONE_DISPATCH,
    SET_DISPATCH,
    SET_OFFER_OUTCOME,
    snapshot,
)
from services.orders.rules.dispatch import (
    EXCLUDING_OUTCOMES,
    Candidate,
    DecisionKind,
    DispatchMode,
    DispatchPolicy,
    Offer,
    OfferOutcome,
    decide,
    prefer_provider,
)
from services.orders.rules.lifecycle import Actor, Command, OrderState, transition
from services.orders.runtime import OrdersRuntime, runtime_of
from services.orders.views import OfferFacts
from shared.app import ServiceContext
from shared.errors import DomainError
from shared.fast_sql import FastTx, fast_reads, fast_transaction

log = logging.getLogger("youfu.orders.dispatch")
DISPATCHING = (OrderState.PLACED.value, OrderState.OFFERED.value, OrderState.UNMATCHED.value)
EXPIRED_UNMATCHED_REASON = "服务时间已过，仍未匹配到服务商，订单已自动取消"


def domain_offer(row: OfferFacts) -> Offer:
    """An offer row (ORM or `queries.snapshot`) as the pure rules see it."""
    return Offer(str(row.provider_id), str(row.caregiver_id) if row.caregiver_id else None,
                 row.offered_at, row.deadline, OfferOutcome(row.outcome))


def policy_for(rt: OrdersRuntime, order: SimpleNamespace) -> DispatchPolicy:
    return DispatchPolicy(mode=DispatchMode(order.dispatch_mode), offer_timeout_s=rt.settings.offer_timeout_s,
                          grab_size=order.grab_size, max_offers=rt.settings.max_offers)


# ---- the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedCandidates:
    """No offer is open: ask providers for ranked candidates, without these providers."""

    params: dict


def candidate_params(rt: OrdersRuntime, order: SimpleNamespace, excluded: set[str]) -> dict:
    """What to ask providers for; `order` is a snapshot of an order row or of a row of `Dispatcher.due`."""
    # `at`: only caregivers on duty when the service starts; `street`: providers that cover the
    # elder's street by name, not only by radius
    params = {"service_code": order.service_code, "lat": order.lat, "lon": order.lon,
              "k": rt.settings.candidates_k, "at": order.window_start.isoformat()}
    if order.street:
        params["street"] = order.street
    if excluded:
        params["exclude_providers"] = ",".join(sorted(excluded))
    if order.payment != "self_pay":
        params["voucher_kind"] = order.payment
    return params


async def advance_order(rt: OrdersRuntime, *, order_id: uuid.UUID, first_ask: NeedCandidates | None = None) -> None:
    """Advance one order (the dispatcher's side: it opens each step's transaction): expire lapsed
    offers, offer to the next candidate(s), or mark it unmatched. Candidates are fetched outside
    any transaction, only when needed.
    `first_ask`: the dispatcher already knows the order has never been offered (`Dispatcher.due`),
    so candidates are asked for at once, saving a locked read; the step that writes the offers
    reads and checks everything again under the lock."""
    candidates: list[dict] | None = None
    for _ in range(3):
        step, hold_to_void = first_ask, None
        if step is None:
            async with fast_transaction(rt.db) as tx:
                step, hold_to_void = await dispatch_step(tx, rt=rt, order_id=order_id, candidates=candidates,
                                                         now=rt.now())
            await rt.void_hold(hold_to_void)
        first_ask = None
        if step is None:
            return
        try:
            found = await rt.client("providers").get("/candidates", params=step.params)
            candidates = list((found or {}).get("candidates") or [])
        except DomainError as exc:
            log.warning("candidates for order %s unavailable: %s", order_id, exc.detail)
            async with fast_transaction(rt.db) as tx:
                await tx.run(POSTPONE_DISPATCH, order_id=order_id,
                             next_dispatch_at=rt.now() + _seconds(rt.settings.dispatch_backoff_s))
            return


async def dispatch_step(tx: FastTx, *, rt: OrdersRuntime, order_id: uuid.UUID, candidates: list[dict] | None,
                        now: datetime) -> tuple[NeedCandidates | None, uuid.UUID | None]:
    """One dispatch step in the caller's transaction: (what to ask providers for, if that is what
    the order needs next; the hold to give back once committed, if the order was cancelled)."""
    order = snapshot(await tx.row(LOCK_ORDER, order_id=order_id))
    if order is None or order.state not in DISPATCHING:
        if order is not None and order.next_dispatch_at is not None:
            await write_dispatch(tx, order, next_dispatch_at=None)
        return None, None
    # read after the lock, not joined to it: a joined read that waited for the lock would see
    # the order as committed meanwhile but the offers as they were before the wait
    rows = [snapshot(r) for r in await tx.rows(OFFERS_OF, order_id=order_id)]
    offers = [domain_offer(r) for r in rows]
    if any(o.is_open(now) for o in offers):
        await _apply(rt, tx, order, rows, offers, [], now)  # only expiries: the open offers run on
        return None, None
    if order.window_end <= now:  # too late to serve: stop dispatching, give the hold back
        for row in rows:
            if row.outcome == OfferOutcome.PENDING.value:
                tx.later(SET_OFFER_OUTCOME, offer_id=row.id, outcome=OfferOutcome.EXPIRED.value,
                             answered_at=row.answered_at)
        if order.provider_id is None:  # nobody ever took it (a given-back order has none either)
            await publish_fast(tx, OrderUnmatched(order_id=order.id, elder_id=order.elder_id,
                                                  district_code=order.district_code, service_code=order.service_code,
                                                  window_start=order.window_start.isoformat()))
        await _cancel_by_platform(tx, order, now, EXPIRED_UNMATCHED_REASON)
        return None, order.hold_id
    if candidates is None:
        excluded = {o.provider_id for o in offers if o.outcome in EXCLUDING_OUTCOMES or o.has_lapsed(now)}
        return NeedCandidates(candidate_params(rt, order, excluded)), None
    await _apply(rt, tx, order, rows, offers, candidates, now)
    return None, None


async def _apply(rt: OrdersRuntime, tx: FastTx, order: SimpleNamespace, rows: list[SimpleNamespace], offers: list[Offer],
                 candidates: list[dict], now: datetime) -> None:
    ranked = [Candidate(str(c["provider_id"]), str(c["caregiver_id"]) if c.get("caregiver_id") else None)
              for c in candidates if parse_uuid(c.get("provider_id"))]
    if order.preferred_provider_id is not None:  # a care plan's provider, if it has someone qualified
        ranked = prefer_provider(ranked, str(order.preferred_provider_id))
    info = {(str(c["provider_id"]), str(c.get("caregiver_id")) if c.get("caregiver_id") else None): (i, c)
            for i, c in reversed(list(enumerate(candidates)))}
    state = OrderState(order.state)
    decision = decide(ranked, offers, policy=policy_for(rt, order), now=now)
    by_key = {(str(r.provider_id), r.offered_at): r for r in rows}
    for lapsed in decision.expired:
        row = by_key[(lapsed.provider_id, lapsed.offered_at)]
        tx.later(SET_OFFER_OUTCOME, offer_id=row.id, outcome=OfferOutcome.EXPIRED.value, answered_at=row.answered_at)
        if state is OrderState.OFFERED:
            state = transition(state, Command.OFFER_EXPIRED)
    for revoked in decision.revoked:
        row = by_key[(revoked.provider_id, revoked.offered_at)]
        tx.later(SET_OFFER_OUTCOME, offer_id=row.id, outcome=OfferOutcome.REVOKED.value, answered_at=now)
    unmatched_count = order.unmatched_count
    if decision.kind is DecisionKind.OFFER:
        if state is OrderState.UNMATCHED:
            state = transition(state, Command.RETRY_DISPATCH)
        state = transition(state, Command.OFFER)
        for offer in decision.new_offers:
            rank, c = info[(offer.provider_id, offer.caregiver_id)]
            tx.later(INSERT_OFFER, id=uuid.uuid4(), order_id=order.id, provider_id=uuid.UUID(offer.provider_id),
                         provider_name=c.get("provider_name"), caregiver_id=parse_uuid(offer.caregiver_id),
                         caregiver_name=c.get("caregiver_name"), distance_m=c.get("distance_m"),
                         score=c.get("score"), rank=rank + 1, offered_at=offer.offered_at, deadline=offer.deadline,
                         outcome=OfferOutcome.PENDING.value, answered_at=None, reason=None)
            await publish_fast(tx, OrderOffered(order_id=order.id, elder_id=order.elder_id,
                                                provider_id=uuid.UUID(offer.provider_id),
                                                district_code=order.district_code, service_code=order.service_code,
                                                window_start=order.window_start.isoformat(),
                                                offer_deadline=offer.deadline.isoformat()))
        wake_at = decision.wake_at
        log.info("order %s offered to %s", order.id, ", ".join(o.provider_id for o in decision.new_offers))
    elif decision.kind is DecisionKind.WAIT:
        wake_at = decision.wake_at
    elif decision.kind is DecisionKind.UNMATCHED:
        if state is not OrderState.UNMATCHED:
            state = transition(state, Command.MARK_UNMATCHED)
        unmatched_count += 1
        wake_at = now + _seconds(rt.settings.unmatched_retry_s)
        log.info("order %s unmatched; retry at %s", order.id, wake_at)
    else:  # ACCEPTED: `accept` already moved the order on
        wake_at = None
    await write_dispatch(tx, order, state=state.value, next_dispatch_at=wake_at, unmatched_count=unmatched_count,
                          updated_at=now)


async def write_dispatch(tx: FastTx, order: SimpleNamespace, **changes: object) -> None:
    """The order's dispatch columns as `order` holds them, with `changes` applied (to both). A
    deferred write (shared/fast_sql.py): the last write of the order's row in every transaction
    that calls it, sent with the offers' rows and the events at the commit."""
    for name, value in changes.items():
        setattr(order, name, value)
    tx.later(SET_DISPATCH, order_id=order.id, state=order.state, next_dispatch_at=order.next_dispatch_at,
                 unmatched_count=order.unmatched_count, cancel_reason=order.cancel_reason,
                 cancelled_by=order.cancelled_by, cancelled_at=order.cancelled_at, updated_at=order.updated_at)


async def _cancel_by_platform(tx: FastTx, order: SimpleNamespace, now: datetime, reason: str) -> None:
    await write_dispatch(tx, order, state=transition(order.state, Command.CANCEL, actor=Actor.PLATFORM).value,
                          cancel_reason=reason, cancelled_by=Actor.PLATFORM.value, cancelled_at=now,
                          next_dispatch_at=None, updated_at=now)
    await publish_fast(tx, OrderCancelled(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                                          district_code=order.district_code, hold_id=order.hold_id, reason=reason,
                                          cancelled_by=Actor.PLATFORM.value))


class Dispatcher:
    """Advances due orders as a pipeline: up to `dispatch_concurrency` steps run at once, and a
    new order starts as soon as it is due instead of waiting for a whole batch to finish (the
    batch version topped out near 30 dispatches/s: every batch waited for its slowest order).
    An order being advanced is never picked twice (`inflight`)."""

    def __init__(self, rt: OrdersRuntime) -> None:
        self.rt = rt
        self.inflight: set[uuid.UUID] = set()
        self.gate = asyncio.Semaphore(rt.settings.dispatch_concurrency)
        self.tasks: set[asyncio.Task] = set()
        self.look_at = 0.0  # monotonic instant of the next look at the table

    async def due(self, *, limit: int = 200) -> tuple[list[tuple[uuid.UUID, NeedCandidates | None]], object]:
        """Orders due now (not in flight), each with what to ask providers for if it has never
        been offered (the usual case: a new order), and the earliest later instant; one query."""
        now = self.rt.now()
        async with fast_reads(self.rt.db) as r:
            found = await r.rows(DUE_ORDERS, limit=limit + len(self.inflight), now=now)
        rows = sorted((snapshot(row) for row in found if row["id"] not in self.inflight),
                      key=lambda row: row.next_dispatch_at)
        due = [(row.id, NeedCandidates(candidate_params(self.rt, row, set()))
                if row.never_offered and row.state == OrderState.PLACED.value and row.window_end > now else None)
               for row in rows if row.next_dispatch_at <= now][:limit]
        later = next((row.next_dispatch_at for row in rows if row.next_dispatch_at > now), None)
        return due, later

    async def pass_once(self) -> float:
        """Start every due order; returns how long to sleep at most before looking again.

        New orders handed over by `place_order` start without a query; the table is read when
        something else may be due: on the tick, at the earliest stored deadline, or when woken by
        a decline or a full pipeline (`OrdersRuntime.wake_dispatcher`). At 100 orders a second that query
        ran once per order."""
        rt = self.rt
        room = 4 * rt.settings.dispatch_concurrency - len(self.inflight)
        if room <= 0:
            return rt.settings.dispatch_tick_s  # a finishing step wakes the loop
        for order_id in list(rt.handed_over)[:room]:
            first_ask = rt.handed_over.pop(order_id)
            if order_id not in self.inflight:
                self._start(order_id, first_ask)
                room -= 1
        now = time.monotonic()
        if rt.dispatch_due_at is not None:  # a new order due later: look then, if that is sooner
            self.look_at = min(self.look_at, now + max(0.0, (rt.dispatch_due_at - rt.now()).total_seconds()))
            rt.dispatch_due_at = None
        if rt.dispatch_look_needed or now >= self.look_at:
            rt.dispatch_look_needed = False
            due, later = await self.due(limit=max(room, 1))
            for order_id, first_ask in due[:max(room, 0)]:
                rt.handed_over.pop(order_id, None)
                self._start(order_id, first_ask)
            wait = rt.settings.dispatch_tick_s
            if later is not None:
                wait = min(wait, max(0.0, (later - rt.now()).total_seconds()))
            self.look_at = now + wait
        return max(0.0, self.look_at - now)

    async def stop(self) -> None:
        """Cancel the steps in flight (shutdown: before the database closes)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _start(self, order_id: uuid.UUID, first_ask: NeedCandidates | None) -> None:
        self.inflight.add(order_id)
        task = asyncio.create_task(self._advance(order_id, first_ask))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _advance(self, order_id: uuid.UUID, first_ask: NeedCandidates | None) -> None:
        rt = self.rt
        try:
            async with self.gate:
                await advance_order(rt, order_id=order_id, first_ask=first_ask)
        except Exception:
            log.exception("dispatching order %s failed; trying again in %ss", order_id, rt.settings.dispatch_backoff_s)
            try:
                async with fast_transaction(rt.db) as tx:  # not every tick: a broken order must not spin
                    await tx.run(POSTPONE_DISPATCH, order_id=order_id,
                                 next_dispatch_at=rt.now() + _seconds(rt.settings.dispatch_backoff_s))
            except Exception:
                log.exception("could not postpone order %s", order_id)
        finally:
            self.inflight.discard(order_id)
            if len(self.inflight) == 4 * rt.settings.dispatch_concurrency - 1:
                rt.wake_dispatcher()  # the pipeline was full: there may be more waiting


async def dispatch_pass(ctx: ServiceContext) -> float:
    """The dispatcher's periodic pass (`main.py`): seconds until it needs to look again."""
    return await runtime_of(ctx).dispatcher.pass_once()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
