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

routers = [spending.router, wallets.router, policy.router, issuance.router, month_end.router, audit.router,
           recovery.router, plan_budget.router, stay_claims.router, meal_subsidies.router,
           return_visits.router, complaints.router, oversight_figures.router, uptake.router]
