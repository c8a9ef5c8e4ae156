"""HTTP routes of the orders service, by flow (the gateway serves them under /api/orders/...).

A route parses, opens the one transaction, calls one use case and shapes the answer; what must
happen only after the commit (voiding a hold, waking the dispatcher) follows the transaction.
Commands a client may retry take an optional Idempotency-Key.
"""
from __future__ import annotations

from services.orders.api import (
    alarms,
    care_plans,
    delivery,
    dispatch,
    door,
    meals,
    placement,
    recurrence,
    reports,
    stays,
    visits,
)
from shared.lanes import lane_route, route_lane

routers = [placement.router, dispatch.router, delivery.router, recurrence.router, visits.router, care_plans.router,
           stays.router, meals.router, door.router, alarms.router, reports.router]
# the hot writes, served around FastAPI's per-request machinery by the same endpoints (shared/lanes.py, D68)
lanes = [route_lane(lane_route(meals.router, meals.redeem), lane_route(placement.router, placement.post_order),
                   lane_route(dispatch.router, dispatch.accept))]
