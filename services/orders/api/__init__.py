"""HTTP routes of the orders service, by flow (the gateway serves them under /api/orders/...).

A route parses, opens the one transaction, calls one use case and shapes the answer; what must
happen only after the commit (voiding a hold, waking the dispatcher) follows the transaction.
Commands a client may retry take an optional Idempotency-Key.
"""
from __future__ import annotations

from services.orders.api import care_plans, delivery, dispatch, door, meals, placement, recurrence, reports, stays, visits

routers = [placement.router, dispatch.router, delivery.router, recurrence.router, visits.router, care_plans.router,
           stays.router, meals.router, door.router, reports.router]
