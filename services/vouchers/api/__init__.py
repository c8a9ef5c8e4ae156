"""The vouchers service's HTTP routes, one module per flow. Each write route opens exactly one
transaction and hands it to one use case.

Scope (see `access.py`): an officer works on their own district (naming another is 403, and
lists and reports are filtered to it); city officers and admins see the whole city; a
provider admin sees only their own settlements and bed-day claims.
"""
from __future__ import annotations

from services.vouchers.api import (
    audit,
    complaints,
    issuance,
    meal_subsidies,
    month_end,
    oversight_figures,
    plan_budget,
    policy,
    recovery,
    return_visits,
    spending,
    stay_claims,
    uptake,
    wallets,
)
from shared.lanes import lane_route, route_lane

routers = [spending.router, wallets.router, policy.router, issuance.router, month_end.router, audit.router,
           recovery.router, plan_budget.router, stay_claims.router, meal_subsidies.router,
           return_visits.router, complaints.router, oversight_figures.router, uptake.router]
# the calls behind the hot writes (a meal's subsidy, an order's hold), served around FastAPI's
# per-request machinery by the same endpoints (shared/lanes.py, D68)
lanes = [route_lane(lane_route(meal_subsidies.router, meal_subsidies.post_meal_subsidy),
                    lane_route(spending.router, spending.post_hold))]
