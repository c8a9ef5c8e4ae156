"""The statements of the paths every order takes (place, dispatch, accept, the open-offers poll),
built once and run through `shared.fast_sql` (why: that module's doc; the figures are in
bench/ordering.py's output), and those of taking a meal at a counter (bench/meals.py). Everything
else in this service uses the ORM.

Rows come back as read-only mappings; `snapshot` turns one into an object with the row's column
names as attributes, so the answer builders (`order_answer`, `offer_answer`) and the pure rules
read fast rows and ORM rows alike.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import sqlalchemy as sa

from services.orders.models import (
    AlarmRow,
    ElderRow,
    MealCardRow,
    MealRedemptionRow,
    OfferRow,
    OrderRow,
    PlannedVisitRow,
    RecurringOccurrenceRow,
    StayRow,
)
from shared.fast_sql import Query, insert_query

orders, offers = OrderRow.__table__, OfferRow.__table__
_p = sa.bindparam
# the states dispatch works on (spelled out: fast_sql compiles no IN lists)
_DISPATCHING = sa.or_(orders.c.state == "placed", orders.c.state == "offered", orders.c.state == "unmatched")


def snapshot(row: Mapping | None) -> SimpleNamespace | None:
    return None if row is None else SimpleNamespace(**row)


# every column of the orders table with the value a new order has unless told otherwise: the
# column's own default, else None (INSERT_ORDER writes them all)
_NEW_ORDER = {c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
              for c in orders.columns}


def new_order(**values) -> SimpleNamespace:
    """A new order row as `INSERT_ORDER` writes it and `views.order_answer` reads it: `values`
    over the table's defaults."""
    unknown = values.keys() - _NEW_ORDER.keys()
    if unknown:
        raise TypeError(f"not columns of orders: {sorted(unknown)}")
    return SimpleNamespace(**(_NEW_ORDER | values))


# ---- reads ------------------------------------------------------------------------------------

ELDER = Query(sa.select(ElderRow.__table__).where(ElderRow.elder_id == _p("elder_id")))

# the elder's open stay, read by placement for community-paid orders only: one lookup on the
# partial unique index uq_stays_one_open_per_elder (its predicate is this WHERE's)
_stays = StayRow.__table__
OPEN_STAY = Query(sa.select(_stays.c.id, _stays.c.provider_name, _stays.c.status, _stays.c.admitted_on,
                            _stays.c.leave_from, _stays.c.leave_to)
                  .where(_stays.c.elder_id == _p("elder_id"), _stays.c.ended_on.is_(None)))

LOCK_ORDER = Query(sa.select(orders).where(orders.c.id == _p("order_id")).with_for_update())
OFFERS_OF = Query(sa.select(offers).where(offers.c.order_id == _p("order_id"))
                  .order_by(offers.c.offered_at, offers.c.rank))
# what the dispatcher looks at next, with what a first candidates call needs: the orders due now
# (oldest first, up to `limit`) and the one due soonest after now (when to look again). Not the
# next `limit` rows whatever their time: with orders booked days ahead that read dozens of future
# rows on every look (bench/meals.py, pg_stat_statements: the costliest statement of the run)
_DUE_COLUMNS = (orders.c.id, orders.c.next_dispatch_at, orders.c.state, orders.c.window_end, orders.c.service_code,
                orders.c.lat, orders.c.lon, orders.c.window_start, orders.c.street, orders.c.payment,
                (~sa.exists().where(offers.c.order_id == orders.c.id)).label("never_offered"))
_NOW = _p("now", type_=sa.DateTime(timezone=True))
_DUE_NOW = sa.select(*_DUE_COLUMNS).where(_DISPATCHING, orders.c.next_dispatch_at <= _NOW).order_by(
    orders.c.next_dispatch_at).limit(_p("limit", type_=sa.Integer)).subquery("due_now")
_DUE_NEXT = sa.select(*_DUE_COLUMNS).where(_DISPATCHING, orders.c.next_dispatch_at > _NOW).order_by(
    orders.c.next_dispatch_at).limit(1).subquery("due_next")
DUE_ORDERS = Query(sa.union_all(sa.select(_DUE_NOW), sa.select(_DUE_NEXT)))
# a provider's open offers and what it needs to decide (the poll of every provider's screen)
OPEN_OFFERS = Query(
    sa.select(offers, *(orders.c[name].label(f"order_{name}") for name in (
        "service_code", "service_name", "window_start", "window_end", "address", "lat", "lon", "district_code",
        "street", "price_fen", "voucher_fen", "elder_fen", "payment", "notes", "dispatch_mode", "kind", "state")))
    .join(orders, orders.c.id == offers.c.order_id)
    .where(offers.c.provider_id == _p("provider_id"), offers.c.outcome == "pending",
           offers.c.deadline > _p("now"), orders.c.state == "offered")
    .order_by(offers.c.deadline))

# ---- writes -----------------------------------------------------------------------------------

INSERT_ORDER = insert_query(orders)
INSERT_OFFER = insert_query(offers)
SET_OFFER_OUTCOME = Query(sa.update(offers).where(offers.c.id == _p("offer_id"))
                          .values(outcome=_p("outcome"), answered_at=_p("answered_at")))
DECLINE_OFFER = Query(sa.update(offers).where(offers.c.id == _p("offer_id"))
                      .values(outcome="declined", answered_at=_p("answered_at"), reason=_p("reason")))
# what a dispatch step may change on the order (the platform's cancellation included)
SET_DISPATCH = Query(sa.update(orders).where(orders.c.id == _p("order_id")).values(
    state=_p("state"), next_dispatch_at=_p("next_dispatch_at"), unmatched_count=_p("unmatched_count"),
    cancel_reason=_p("cancel_reason"), cancelled_by=_p("cancelled_by"), cancelled_at=_p("cancelled_at"),
    updated_at=_p("updated_at")))
POSTPONE_DISPATCH = Query(sa.update(orders).where(orders.c.id == _p("order_id"), _DISPATCHING)
                          .values(next_dispatch_at=_p("next_dispatch_at")))
# the guard that holds even without the row lock: of concurrent accepts only one finds "offered"
ACCEPT_ORDER = Query(sa.update(orders).where(orders.c.id == _p("order_id"), orders.c.state == "offered").values(
    state=_p("state"), updated_at=_p("now"), accepted_at=_p("now"), provider_id=_p("provider_id"),
    provider_name=_p("provider_name"), caregiver_id=_p("caregiver_id"), caregiver_name=_p("caregiver_name"),
    next_dispatch_at=sa.null()))
# what the recurring spawner and the visit planner write with the order they place
INSERT_OCCURRENCE = insert_query(RecurringOccurrenceRow.__table__)
LINK_VISIT = Query(sa.update(PlannedVisitRow.__table__).where(PlannedVisitRow.id == _p("visit_id"))
                   .values(order_id=_p("order_id"), error=sa.null()))
# an order made from an emergency alarm (issue 25): linked in the order's transaction, once
LINK_ALARM = Query(sa.update(AlarmRow.__table__).where(AlarmRow.id == _p("alarm_key"), AlarmRow.order_id.is_(None))
                   .values(order_id=_p("order_id")))

# ---- meals at the counter (issue 23): the redemption path (bench/meals.py) --------------------

_meals = MealRedemptionRow.__table__
# one concurrent redemption of a code (or of a card meal of one elder and day) at a time: the
# loser waits for the winner's commit, then finds its row, before anyone calls vouchers (PostgreSQL
# only: SQLite runs one writer at a time anyway). The elder's copy is read in the same round trip
# (the lock guards the code, not the elder's row); no row: no copy yet, and no lock taken
# the elder's copy and whether the code was used, read under the code's lock (taken with BEGIN:
# shared/fast_sql.py, so this snapshot sees the lock's last holder's meal)
ELDER_AND_CODE_USED = Query(sa.select(
    ElderRow.__table__, sa.exists().where(_meals.c.code_id == _p("code_id")).label("code_used"))
    .where(ElderRow.elder_id == _p("elder_id")))
# the elder's card meals that day, not undone (the static daily limit)
STATIC_MEALS_TODAY = Query(sa.select(sa.func.count().label("n")).select_from(_meals).where(
    _meals.c.elder_id == _p("elder_id"), _meals.c.meal_date == _p("meal_date"), _meals.c.static.is_(True),
    _meals.c.undone_at.is_(None)))
INSERT_MEAL = insert_query(_meals)
_cards = MealCardRow.__table__
MEAL_CARD = Query(sa.select(_cards.c.id, _cards.c.elder_id, _cards.c.revoked_at).where(_cards.c.serial == _p("serial")))
