"""Dispatch (派单) with stored deadlines: offers, expiry, the next candidate, retries, accept, decline.

The rules are `dispatch.decide` (pure); this module feeds it the stored offers and the ranked
candidates from providers and writes back what it decided. What makes it restart-proof: every
offer row keeps its deadline, and `orders.next_dispatch_at` says when to look at an order again.
The dispatcher task wakes at the earliest such instant (or every `dispatch_tick_s`, or at once
when a decline or a new order wakes it), so a restarted process simply carries on.

Exactly one winner in grab mode: `accept` takes the order's row lock (SELECT … FOR UPDATE) before
it reads the offers, so concurrent accepts queue and every one after the first sees the order
accepted. Two guards hold even if that lock were lost: the state change is a conditional UPDATE
(… WHERE state = 'offered', exactly one row or 409), and a partial unique index allows one
accepted offer per order. (The grab test fails when both the lock and the conditional UPDATE are
removed, so it does exercise the race.)
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.dispatch import (EXCLUDING_OUTCOMES, Candidate, DecisionKind, DispatchMode, DispatchPolicy, Offer,
                                      OfferOutcome, accept_offer, decide, decline_offer)
from services.orders.events import OrderAccepted, OrderCancelled
from services.orders.lifecycle import Actor, Command, OrderState, transition
from services.orders.models import OfferRow, OrderRow
from services.orders.service import (PROVIDER_ROLES, Runtime, district_scope, load_order, lock_order, offer_answer,
                                     order_answer, parse_uuid, provider_of, publish)
from shared.auth import Principal, require_role
from shared.errors import Conflict, DomainError, Forbidden, NotFound, invalid_field

log = logging.getLogger("youfu.orders.dispatch")
DISPATCHING = (OrderState.PLACED.value, OrderState.OFFERED.value, OrderState.UNMATCHED.value)
EXPIRED_UNMATCHED_REASON = "服务时间已过，仍未匹配到服务商，订单已自动取消"


def domain_offer(row: OfferRow) -> Offer:
    return Offer(str(row.provider_id), str(row.caregiver_id) if row.caregiver_id else None,
                 row.offered_at, row.deadline, OfferOutcome(row.outcome))


async def offers_of(session: AsyncSession, order_id: uuid.UUID) -> list[OfferRow]:
    query = sa.select(OfferRow).where(OfferRow.order_id == order_id).order_by(OfferRow.offered_at, OfferRow.rank)
    return list((await session.execute(query)).scalars())


def policy_for(rt: Runtime, order: OrderRow) -> DispatchPolicy:
    return DispatchPolicy(mode=DispatchMode(order.dispatch_mode), offer_timeout_s=rt.config.offer_timeout_s,
                          grab_size=order.grab_size, max_offers=rt.config.max_offers)


# ---- the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedCandidates:
    """No offer is open: ask providers for ranked candidates, without these providers."""

    params: dict


async def advance_order(rt: Runtime, order_id: uuid.UUID) -> None:
    """One dispatch step for one order: expire lapsed offers, offer to the next candidate(s),
    or mark it unmatched. Candidates are fetched outside any transaction, only when needed."""
    candidates: list[dict] | None = None
    for _ in range(3):
        step = await _step(rt, order_id, candidates)
        if not isinstance(step, NeedCandidates):
            return
        try:
            found = await rt.client("providers").get("/candidates", params=step.params)
            candidates = list((found or {}).get("candidates") or [])
        except DomainError as exc:
            log.warning("candidates for order %s unavailable: %s", order_id, exc.detail)
            async with rt.db.transaction() as s:
                order = await lock_order(s, order_id)
                if order is not None and order.state in DISPATCHING:
                    order.next_dispatch_at = rt.now() + _seconds(rt.config.dispatch_backoff_s)
            return


async def _step(rt: Runtime, order_id: uuid.UUID, candidates: list[dict] | None) -> NeedCandidates | None:
    async with rt.db.transaction() as s:
        order = await lock_order(s, order_id)
        if order is None or order.state not in DISPATCHING:
            if order is not None:
                order.next_dispatch_at = None
            return None
        now = rt.now()
        rows = await offers_of(s, order.id)
        offers = [domain_offer(r) for r in rows]
        if any(o.is_open(now) for o in offers):
            _apply(rt, s, order, rows, offers, [], now)  # only expiries: the open offers run on
            return None
        if order.window_end <= now:  # too late to serve: stop dispatching, give the hold back
            for row in rows:
                if row.outcome == OfferOutcome.PENDING.value:
                    row.outcome = OfferOutcome.EXPIRED.value
            _cancel_by_platform(s, order, now, EXPIRED_UNMATCHED_REASON)
            hold_id = order.hold_id
        elif candidates is None:
            excluded = {o.provider_id for o in offers if o.outcome in EXCLUDING_OUTCOMES or o.has_lapsed(now)}
            # `at`: only caregivers on duty when the service starts; `street`: providers that
            # cover the elder's street by name, not only by radius
            params = {"service_code": order.service_code, "lat": order.lat, "lon": order.lon,
                      "k": rt.config.candidates_k, "at": order.window_start.isoformat()}
            if order.street:
                params["street"] = order.street
            if excluded:
                params["exclude_providers"] = ",".join(sorted(excluded))
            if order.payment != "self_pay":
                params["voucher_kind"] = order.payment
            return NeedCandidates(params)
        else:
            _apply(rt, s, order, rows, offers, candidates, now)
            return None
    await rt.void_hold(hold_id)
    return None


def _apply(rt: Runtime, s: AsyncSession, order: OrderRow, rows: list[OfferRow], offers: list[Offer],
           candidates: list[dict], now) -> None:
    ranked = [Candidate(str(c["provider_id"]), str(c["caregiver_id"]) if c.get("caregiver_id") else None)
              for c in candidates if parse_uuid(c.get("provider_id"))]
    info = {(str(c["provider_id"]), str(c.get("caregiver_id")) if c.get("caregiver_id") else None): (i, c)
            for i, c in reversed(list(enumerate(candidates)))}
    state = OrderState(order.state)
    decision = decide(ranked, offers, policy=policy_for(rt, order), now=now)
    by_key = {(str(r.provider_id), r.offered_at): r for r in rows}
    for lapsed in decision.expired:
        by_key[(lapsed.provider_id, lapsed.offered_at)].outcome = OfferOutcome.EXPIRED.value
        if state is OrderState.OFFERED:
            state = transition(state, Command.OFFER_EXPIRED)
    for revoked in decision.revoked:
        row = by_key[(revoked.provider_id, revoked.offered_at)]
        row.outcome, row.answered_at = OfferOutcome.REVOKED.value, now
    if decision.kind is DecisionKind.OFFER:
        if state is OrderState.UNMATCHED:
            state = transition(state, Command.RETRY_DISPATCH)
        state = transition(state, Command.OFFER)
        for offer in decision.new_offers:
            rank, c = info[(offer.provider_id, offer.caregiver_id)]
            s.add(OfferRow(id=uuid.uuid4(), order_id=order.id, provider_id=uuid.UUID(offer.provider_id),
                           provider_name=c.get("provider_name"), caregiver_id=parse_uuid(offer.caregiver_id),
                           caregiver_name=c.get("caregiver_name"), distance_m=c.get("distance_m"),
                           score=c.get("score"), rank=rank + 1, offered_at=offer.offered_at,
                           deadline=offer.deadline, outcome=OfferOutcome.PENDING.value))
        order.next_dispatch_at = decision.wake_at
        log.info("order %s offered to %s", order.id, ", ".join(o.provider_id for o in decision.new_offers))
    elif decision.kind is DecisionKind.WAIT:
        order.next_dispatch_at = decision.wake_at
    elif decision.kind is DecisionKind.UNMATCHED:
        if state is not OrderState.UNMATCHED:
            state = transition(state, Command.MARK_UNMATCHED)
        order.unmatched_count += 1
        order.next_dispatch_at = now + _seconds(rt.config.unmatched_retry_s)
        log.info("order %s unmatched; retry at %s", order.id, order.next_dispatch_at)
    else:  # ACCEPTED: `accept` already moved the order on
        order.next_dispatch_at = None
    order.state, order.updated_at = state.value, now


def _cancel_by_platform(s: AsyncSession, order: OrderRow, now, reason: str) -> None:
    order.state = transition(order.state, Command.CANCEL, actor=Actor.PLATFORM).value
    order.cancel_reason, order.cancelled_by, order.cancelled_at = reason, Actor.PLATFORM.value, now
    order.next_dispatch_at, order.updated_at = None, now
    publish(s, OrderCancelled(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                              district_code=order.district_code, hold_id=order.hold_id, reason=reason,
                              cancelled_by=Actor.PLATFORM.value))


class Dispatcher:
    """Advances due orders as a pipeline: up to `dispatch_concurrency` steps run at once, and a
    new order starts as soon as it is due instead of waiting for a whole batch to finish (the
    batch version topped out near 30 dispatches/s: every batch waited for its slowest order).
    An order being advanced is never picked twice (`inflight`)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.inflight: set[uuid.UUID] = set()
        self.gate = asyncio.Semaphore(rt.config.dispatch_concurrency)
        self.tasks: set[asyncio.Task] = set()

    async def due(self, *, limit: int = 200) -> tuple[list[uuid.UUID], object]:
        """Orders due now (not in flight), and the earliest later instant, in one query."""
        now = self.rt.now()
        query = (sa.select(OrderRow.id, OrderRow.next_dispatch_at)
                 .where(OrderRow.state.in_(DISPATCHING), OrderRow.next_dispatch_at.is_not(None))
                 .order_by(OrderRow.next_dispatch_at).limit(limit + len(self.inflight)))
        if self.inflight:
            query = query.where(OrderRow.id.not_in(self.inflight))
        async with self.rt.db.sessions() as s:
            rows = (await s.execute(query)).all()
        due = [oid for oid, at in rows if at <= now][:limit]
        later = next((at for _, at in rows if at > now), None)
        return due, later

    async def pass_once(self) -> float:
        """Start every due order; returns how long to sleep at most before looking again."""
        room = 4 * self.rt.config.dispatch_concurrency - len(self.inflight)
        if room <= 0:
            return self.rt.config.dispatch_tick_s  # a finishing step wakes the loop
        due, later = await self.due(limit=room)
        for order_id in due:
            self.inflight.add(order_id)
            task = asyncio.create_task(self._advance(order_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        timeout = self.rt.config.dispatch_tick_s
        if later is not None:
            timeout = min(timeout, max(0.0, (later - self.rt.now()).total_seconds()))
        return timeout

    async def _advance(self, order_id: uuid.UUID) -> None:
        rt = self.rt
        try:
            async with self.gate:
                await advance_order(rt, order_id)
        except Exception:
            log.exception("dispatching order %s failed; trying again in %ss", order_id, rt.config.dispatch_backoff_s)
            try:
                async with rt.db.transaction() as s:  # not every tick: a broken order must not spin
                    await s.execute(sa.update(OrderRow).where(OrderRow.id == order_id).values(
                        next_dispatch_at=rt.now() + _seconds(rt.config.dispatch_backoff_s)))
            except Exception:
                log.exception("could not postpone order %s", order_id)
        finally:
            self.inflight.discard(order_id)
            if len(self.inflight) == 4 * rt.config.dispatch_concurrency - 1:
                rt.wake_dispatcher()  # the pipeline was full: there may be more waiting


async def dispatcher_loop(rt: Runtime) -> None:
    """Wake at the earliest stored deadline, at least every tick, or when woken."""
    dispatcher = Dispatcher(rt)
    try:
        while True:
            rt.dispatch_wakeup.clear()
            timeout = rt.config.dispatch_tick_s
            try:
                timeout = await dispatcher.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher pass failed")
            try:
                await asyncio.wait_for(rt.dispatch_wakeup.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass
    finally:
        for task in list(dispatcher.tasks):
            task.cancel()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


# ---- what providers do ------------------------------------------------------------------------


def _provider(principal: Principal) -> uuid.UUID:
    require_role(principal, "provider_admin", "caregiver")
    provider = provider_of(principal)
    if provider is None:
        raise Forbidden("当前账号未关联服务商，不能接单或拒单")
    return provider


async def _offered_order(s: AsyncSession, order_id: uuid.UUID, provider: uuid.UUID) -> tuple[OrderRow, list[OfferRow]]:
    order = await lock_order(s, order_id)
    rows = await offers_of(s, order_id) if order is not None else []
    if order is None or not any(r.provider_id == provider for r in rows):
        raise NotFound("没有找到派给您机构的该订单", order_id=str(order_id))
    return order, rows


async def accept(rt: Runtime, principal: Principal, order_id: uuid.UUID, caregiver_id: uuid.UUID | None) -> dict:
    provider = _provider(principal)
    if principal.role == "caregiver":
        own = parse_uuid(principal.caregiver_id)
        if own is None or (caregiver_id is not None and caregiver_id != own):
            raise Forbidden("护理员只能为自己接单")
        caregiver_id = own
    async with rt.db.transaction() as s:
        order, rows = await _offered_order(s, order_id, provider)
        now = rt.now()
        winner = next((r for r in rows if r.outcome == OfferOutcome.ACCEPTED.value), None)
        if order.state != OrderState.OFFERED.value:
            if winner is not None and winner.provider_id != provider:
                raise Conflict("该订单已被其他服务商接单。", reason="taken", current_state=order.state)
            if winner is not None:
                raise Conflict("您已接过该订单，无需重复接单。", reason="already_accepted", current_state=order.state)
            transition(order.state, Command.ACCEPT)  # raises, naming the current state
        taken = accept_offer([domain_offer(r) for r in rows], str(provider), now=now)
        new_state = transition(order.state, Command.ACCEPT)
        mine = next(r for r in rows if r.provider_id == provider and r.offered_at == taken.offered_at)
        chosen = caregiver_id or mine.caregiver_id
        if chosen is None:
            raise invalid_field("caregiver_id", "请指定上门的护理员")
        if chosen != mine.caregiver_id:
            # not the caregiver matching chose: providers must vouch for this one (rare path, so
            # the HTTP call under the order's row lock is acceptable)
            await check_caregiver(rt, caregiver_id=chosen, provider=provider, service_code=order.service_code,
                                  service_name=order.service_name)
        # the conditional UPDATE is the guard that holds even without the row lock: of concurrent
        # accepts, only one finds the order still "offered"
        won = await s.execute(sa.update(OrderRow).where(OrderRow.id == order.id,
                                                        OrderRow.state == OrderState.OFFERED.value)
                              .values(state=new_state.value).execution_options(synchronize_session=False))
        if won.rowcount != 1:
            raise Conflict("该订单已被其他服务商接单。", reason="taken")
        mine.outcome, mine.answered_at = OfferOutcome.ACCEPTED.value, now
        for other in rows:
            if other is not mine and other.outcome == OfferOutcome.PENDING.value:
                other.outcome = (OfferOutcome.REVOKED if now < other.deadline else OfferOutcome.EXPIRED).value
                other.answered_at = now
        order.state, order.updated_at, order.accepted_at = new_state.value, now, now
        order.provider_id, order.provider_name = provider, mine.provider_name
        order.caregiver_id = chosen
        order.caregiver_name = mine.caregiver_name if chosen == mine.caregiver_id else None
        order.next_dispatch_at = None
        publish(s, OrderAccepted(order_id=order.id, elder_id=order.elder_id, provider_id=provider,
                                 district_code=order.district_code, caregiver_id=chosen))
        try:
            await s.flush()  # the one-accepted-offer index: the database's own last word
        except IntegrityError:
            raise Conflict("该订单已被其他服务商接单。", reason="taken") from None
        return order_answer(order)


async def check_caregiver(rt: Runtime, *, caregiver_id: uuid.UUID, provider: uuid.UUID, service_code: str,
                          service_name: str) -> None:
    """A caregiver named at accept time: of this provider, on duty, able to do this service, and
    under today's limit (providers counts today's load from order events)."""
    try:
        cg = await rt.client("providers").get(f"/caregivers/{caregiver_id}")
    except NotFound:
        raise invalid_field("caregiver_id", "没有这位护理员") from None
    if str(cg.get("provider_id")) != str(provider):
        raise invalid_field("caregiver_id", "该护理员不属于您的机构")
    if cg.get("status") != "active":
        raise invalid_field("caregiver_id", f"该护理员当前{cg.get('status_name') or '不在岗'}，不能派他上门")
    if service_code not in (cg.get("skills") or []):
        raise invalid_field("caregiver_id", f"该护理员没有登记「{service_name}」技能")
    if int(cg.get("today_load") or 0) >= int(cg.get("daily_limit") or 0):
        raise Conflict(f"该护理员今天已接 {cg.get('today_load')} 单，达到每日上限 {cg.get('daily_limit')} 单；"
                       "请换一位护理员", reason="caregiver_full", caregiver_id=str(caregiver_id))


async def decline(rt: Runtime, principal: Principal, order_id: uuid.UUID, reason: str) -> dict:
    provider = _provider(principal)
    async with rt.db.transaction() as s:
        order, rows = await _offered_order(s, order_id, provider)
        now = rt.now()
        if order.state != OrderState.OFFERED.value:
            transition(order.state, Command.DECLINE)
        declined = decline_offer([domain_offer(r) for r in rows], str(provider), now=now)
        mine = next(r for r in rows if r.provider_id == provider and r.offered_at == declined.offered_at)
        mine.outcome, mine.answered_at, mine.reason = OfferOutcome.DECLINED.value, now, reason
        order.state = transition(order.state, Command.DECLINE).value
        order.next_dispatch_at, order.updated_at = now, now  # the dispatcher picks the next one at once
        answer = offer_answer(mine, now)
    rt.wake_dispatcher()
    return answer


async def open_offers(rt: Runtime, principal: Principal, provider_id: uuid.UUID | None = None) -> list[dict]:
    """A provider's open offers with their deadlines and time left (admins may name a provider)."""
    if principal.role in PROVIDER_ROLES:
        provider = _provider(principal)
    else:
        require_role(principal, "admin")
        provider = provider_id
        if provider is None:
            raise invalid_field("provider_id", "请指定服务商")
    now = rt.now()
    async with rt.db.sessions() as s:
        rows = (await s.execute(
            sa.select(OfferRow, OrderRow).join(OrderRow, OrderRow.id == OfferRow.order_id)
            .where(OfferRow.provider_id == provider, OfferRow.outcome == OfferOutcome.PENDING.value,
                   OfferRow.deadline > now, OrderRow.state == OrderState.OFFERED.value)
            .order_by(OfferRow.deadline))).all()
    return [offer_answer(offer, now) | {"order": _offer_order_view(order)} for offer, order in rows]


def _offer_order_view(order: OrderRow) -> dict:
    """What a provider needs to decide: service, time, place, money (no elder's personal data)."""
    full = order_answer(order)
    keep = ("order_id", "service_code", "service_name", "window_start", "window_end", "address", "lat", "lon",
            "district_code", "street", "price_fen", "voucher_fen", "elder_fen", "payment", "notes", "dispatch_mode")
    return {k: full[k] for k in keep}


async def list_unmatched(rt: Runtime, principal: Principal, district_code: str | None) -> list[dict]:
    district = district_scope(principal, district_code)
    query = sa.select(OrderRow).where(OrderRow.state == OrderState.UNMATCHED.value)
    if district:
        query = query.where(OrderRow.district_code == district)
    async with rt.db.sessions() as s:
        rows = (await s.execute(query.order_by(OrderRow.window_start))).scalars()
        return [order_answer(o) | {"unmatched_rounds": o.unmatched_count} for o in rows]


async def reload_order(rt: Runtime, principal: Principal, order_id: uuid.UUID) -> dict:
    async with rt.db.sessions() as s:
        return order_answer(await load_order(s, principal, order_id))
