"""Who may call what: one row per operation of the merged OpenAPI document.

Each row names the roles that may call the operation at all ("allowed"); everyone else must be
refused with 403, or 404 where answering 403 would reveal that an object exists. Ownership (own
vs someone else's object) is tested by the scenarios in test_authorization.py. A route that is
added without a row here fails the test: decide who may call it, then add the row.
"""
from __future__ import annotations

ALL = frozenset({"elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin",
                 "operator"})
ADMIN = frozenset({"admin"})
CITY = frozenset({"city_officer", "admin"})
OFFICERS = frozenset({"officer", "city_officer", "admin"})
PROVIDER_STAFF = frozenset({"provider_admin", "caregiver"})
ELDER_SIDE = frozenset({"elder", "family"})
# the 12349 hotline desk (坐席, issue 25): reads elders, plans, orders and wallets in its scope and
# places, cancels and disputes orders for them; nothing of the bureau's own work
DESK = frozenset({"operator"})

PUBLIC = None  # no token needed

TABLE: dict[str, frozenset | None] = {
    # gateway
    "POST /api/auth/login": PUBLIC,
    "POST /api/auth/refresh": PUBLIC,
    "POST /api/auth/logout": PUBLIC,
    "GET /api/auth/me": ALL,
    "GET /api/admin/actions": ADMIN,
    "POST /api/admin/users": ADMIN,
    "GET /api/admin/users": ADMIN,
    "PATCH /api/admin/users/{user_id}": ADMIN,
    "DELETE /api/admin/users/{user_id}": ADMIN,
    "POST /api/admin/users/{user_id}/reset-password": ADMIN,
    "GET /api/family-links": ALL - {"caregiver", "provider_admin", "assessor", "operator"},
    "POST /api/family-links": OFFICERS,
    "DELETE /api/family-links/{link_id}": OFFICERS | {"elder"},
    # each signed-in account's own notices (issue 24): nobody reads another's, by construction
    "GET /api/notices": ALL,
    "POST /api/notices/read": ALL,
    "GET /api/notices/stream": ALL,
    "POST /api/notices/ticket": ALL,
    # the bureau's dashboard (gateway/api/dashboard.py)
    "GET /api/dashboard/indicators": OFFICERS,
    "GET /api/dashboard/spend": OFFICERS,
    "GET /api/dashboard/activity": OFFICERS,
    "GET /api/dashboard/unmet": OFFICERS,
    "GET /api/dashboard/unmet/{cell}": OFFICERS,
    "GET /api/dashboard/export": OFFICERS,
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /ops/dead-letters": ADMIN,
    "POST /ops/dead-letters/{letter_id}/replay": ADMIN,
    "GET /ops/outbox": ADMIN,
    # the 12349 hotline desk (issue 25): operators look callers up and record calls; the bureau reads the log
    "POST /api/hotline/lookups": DESK | ADMIN,
    "POST /api/hotline/calls": DESK | ADMIN,
    "GET /api/hotline/calls": DESK | OFFICERS,
    # assessment
    "GET /api/assessment/access-log": ADMIN,
    "GET /api/assessment/reports/indicators": OFFICERS,
    "GET /api/assessment/assessments/{assessment_id}": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "PUT /api/assessment/assessments/{assessment_id}": {"assessor", "admin"},
    "POST /api/assessment/assessments/{assessment_id}/sign": {"assessor"},
    "POST /api/assessment/elders": OFFICERS | {"assessor"},
    "GET /api/assessment/elders": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "GET /api/assessment/elders/{elder_id}": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "PATCH /api/assessment/elders/{elder_id}": OFFICERS | {"assessor"},
    "POST /api/assessment/elders/{elder_id}/assessments": {"assessor", "admin"},
    "GET /api/assessment/elders/{elder_id}/assessments": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "POST /api/assessment/elders/{elder_id}/assessors": OFFICERS,
    "GET /api/assessment/elders/{elder_id}/assessors": OFFICERS | {"assessor"},
    "GET /api/assessment/instruments": ALL,
    "GET /api/assessment/instruments/{code}": ALL,
    "POST /api/assessment/instruments/{code}/score": ALL,
    "GET /api/assessment/reassessments-due": OFFICERS | {"assessor"},
    # status lists are city-wide (docs/decisions.md D37); a service token may post them too
    "POST /api/assessment/status-lists": CITY,
    "GET /api/assessment/status-lists": CITY,
    "GET /api/assessment/status-lists/{list_id}": CITY,
    "POST /api/assessment/status-lists/{list_id}/apply": CITY,
    "GET /api/assessment/elders/{elder_id}/status-changes": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    # the contacts' phones in full: the orders service's token (emergency alarms' SMS), and admin
    "GET /api/assessment/elders/{elder_id}/emergency-contacts": ADMIN,
    # care plans and home beds (issue 21): drafted by the elder's assessor, the district officer or
    # the city; consented by the elder or linked family (app) or the district officer (in person, phone)
    "POST /api/assessment/elders/{elder_id}/care-plans": OFFICERS | {"assessor"},
    "GET /api/assessment/elders/{elder_id}/care-plans": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "GET /api/assessment/elders/{elder_id}/care-plans/provider-options": OFFICERS | {"assessor"},
    "GET /api/assessment/care-plans": OFFICERS,
    "GET /api/assessment/care-plans/{plan_id}": ELDER_SIDE | OFFICERS | {"assessor"} | DESK,
    "PUT /api/assessment/care-plans/{plan_id}": OFFICERS | {"assessor"},
    "POST /api/assessment/care-plans/{plan_id}/submit": OFFICERS | {"assessor"},
    "POST /api/assessment/care-plans/{plan_id}/consent": ELDER_SIDE | OFFICERS,
    "POST /api/assessment/care-plans/{plan_id}/end": OFFICERS,
    "POST /api/assessment/elders/{elder_id}/home-beds": OFFICERS | {"assessor"},
    "GET /api/assessment/home-beds": OFFICERS,
    "GET /api/assessment/home-beds/{bed_id}": ELDER_SIDE | OFFICERS | {"assessor", "provider_admin"} | DESK,
    "POST /api/assessment/home-beds/{bed_id}/devices": OFFICERS | {"provider_admin"},
    "POST /api/assessment/home-beds/{bed_id}/waiver": OFFICERS,
    "POST /api/assessment/home-beds/{bed_id}/open": OFFICERS,
    "POST /api/assessment/home-beds/{bed_id}/close": OFFICERS,
    # orders
    # one-key emergency alarms (issue 25); "operator" (the 12349 desk) is allowed wherever officers are
    "POST /api/orders/elders/{elder_id}/alarms": ELDER_SIDE | OFFICERS | DESK,
    "POST /api/orders/device/alarms": PUBLIC,  # a home device's own token (X-Device-Token), no user token
    "GET /api/orders/alarms": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "GET /api/orders/alarms/report": OFFICERS | DESK,
    "GET /api/orders/alarms/{alarm_id}": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "POST /api/orders/alarms/{alarm_id}/acknowledge": {"caregiver", "admin"},
    "POST /api/orders/alarms/{alarm_id}/arrive": {"caregiver", "admin"},
    "POST /api/orders/alarms/{alarm_id}/close": {"caregiver"} | OFFICERS | DESK,
    "POST /api/orders/alarms/{alarm_id}/orders": {"caregiver"} | OFFICERS | DESK,
    "POST /api/orders/elders/{elder_id}/alarm-devices": OFFICERS,
    "GET /api/orders/elders/{elder_id}/alarm-devices": OFFICERS,
    "POST /api/orders/alarm-devices/{device_id}/revoke": OFFICERS,
    "GET /api/orders/offers": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders": ELDER_SIDE | OFFICERS | DESK,
    "GET /api/orders/orders": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "GET /api/orders/orders/{order_id}": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "POST /api/orders/orders/{order_id}/accept": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders/{order_id}/decline": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders/{order_id}/cancel": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "POST /api/orders/orders/{order_id}/check-in": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders/{order_id}/check-out": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders/{order_id}/dispute": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "POST /api/orders/orders/{order_id}/resolve": OFFICERS,
    "POST /api/orders/orders/{order_id}/review": ELDER_SIDE | {"admin"},
    # supervision at the door (issue 24): the code is the household's alone; the caregiver is told it
    "POST /api/orders/orders/{order_id}/en-route": PROVIDER_STAFF | {"admin"},
    "GET /api/orders/orders/{order_id}/door-code": ELDER_SIDE,
    "POST /api/orders/orders/{order_id}/family-confirm": {"family"},
    "POST /api/orders/orders/{order_id}/no-show": PROVIDER_STAFF | {"admin"},
    "POST /api/orders/orders/{order_id}/photos": PROVIDER_STAFF | {"admin"},
    "GET /api/orders/orders/{order_id}/photos/{photo_id}": ELDER_SIDE | PROVIDER_STAFF | OFFICERS,
    "GET /api/orders/no-show-elders": OFFICERS,
    "POST /api/orders/recurring-orders": ELDER_SIDE | OFFICERS,
    "GET /api/orders/recurring-orders": ELDER_SIDE | OFFICERS | DESK,
    "POST /api/orders/recurring-orders/spawn": ADMIN,
    "DELETE /api/orders/recurring-orders/{rule_id}": ELDER_SIDE | OFFICERS,
    "POST /api/orders/recurring-orders/{rule_id}/pause": ELDER_SIDE | OFFICERS,
    "POST /api/orders/recurring-orders/{rule_id}/resume": ELDER_SIDE | OFFICERS,
    "GET /api/orders/unmatched": OFFICERS,
    "GET /api/orders/visit-coverage": OFFICERS,
    "POST /api/orders/visit-plans": OFFICERS,
    # care plans (issue 21): an elder outside the caller's scope reads as one without a plan
    "GET /api/orders/plan-delivery": ELDER_SIDE | PROVIDER_STAFF | OFFICERS | DESK,
    "GET /api/orders/plan-delivery/summary": OFFICERS,
    "GET /api/orders/plan-schedule": PROVIDER_STAFF | CITY,

    # stays (issue 22): the elder's side and officers apply; the institution's desk manages
    "POST /api/orders/stay-applications": ELDER_SIDE | OFFICERS,
    "GET /api/orders/stay-applications": ELDER_SIDE | OFFICERS | {"provider_admin"},
    "GET /api/orders/stay-applications/{application_id}": ELDER_SIDE | OFFICERS | {"provider_admin"},
    "POST /api/orders/stay-applications/{application_id}/accept": {"provider_admin", "admin"},
    "POST /api/orders/stay-applications/{application_id}/decline": {"provider_admin", "admin"},
    "POST /api/orders/stays": {"provider_admin", "admin"},
    "GET /api/orders/stays": ELDER_SIDE | OFFICERS | {"provider_admin"},
    "GET /api/orders/stays/{stay_id}": ELDER_SIDE | OFFICERS | {"provider_admin"},
    "POST /api/orders/stays/{stay_id}/leave": {"provider_admin", "admin"},
    "POST /api/orders/stays/{stay_id}/return": {"provider_admin", "admin"},
    "POST /api/orders/stays/{stay_id}/transfer": {"provider_admin", "admin"},
    "POST /api/orders/stays/{stay_id}/discharge": {"provider_admin", "admin"},
    # meals at the counter (issue 23): the elder's side shows the code, officers print cards, the
    # meal point's own staff take and undo meals (another provider's staff: 404), the bureau reports
    "GET /api/orders/elders/{elder_id}/meal-code": ELDER_SIDE,
    "POST /api/orders/elders/{elder_id}/meal-cards": OFFICERS,
    "POST /api/orders/meal-points/{provider_id}/lookups": PROVIDER_STAFF,
    "POST /api/orders/meal-points/{provider_id}/redemptions": PROVIDER_STAFF,
    "GET /api/orders/meal-points/{provider_id}/redemptions": PROVIDER_STAFF,
    "POST /api/orders/meal-points/{provider_id}/redemptions/{redemption_id}/undo": PROVIDER_STAFF,
    "GET /api/orders/meals/report": OFFICERS,
    "GET /api/orders/reports/indicators": OFFICERS,
    "GET /api/orders/reports/activity": OFFICERS,
    "GET /api/orders/reports/unmet": OFFICERS,
    "GET /api/orders/reports/door": OFFICERS,
    # providers
    "GET /api/providers/candidates": OFFICERS,
    "GET /api/providers/caregivers/{caregiver_id}": PROVIDER_STAFF | OFFICERS,
    "PATCH /api/providers/caregivers/{caregiver_id}": {"provider_admin", "admin"},
    "GET /api/providers/documents/expiring": OFFICERS,
    "POST /api/providers/providers": {"provider_admin"} | OFFICERS,
    "GET /api/providers/providers": ALL,
    "GET /api/providers/providers/{provider_id}": ALL,
    "POST /api/providers/providers/{provider_id}/approve": OFFICERS,
    "POST /api/providers/providers/{provider_id}/reject": OFFICERS,
    "POST /api/providers/providers/{provider_id}/suspend": OFFICERS,
    "POST /api/providers/providers/{provider_id}/reinstate": OFFICERS,
    "PUT /api/providers/providers/{provider_id}/star-rating": OFFICERS,
    "GET /api/providers/providers/{provider_id}/history": OFFICERS | PROVIDER_STAFF,
    "GET /api/providers/providers/{provider_id}/caregivers": PROVIDER_STAFF | OFFICERS,
    "POST /api/providers/providers/{provider_id}/caregivers": {"provider_admin", "admin"},
    "GET /api/providers/providers/{provider_id}/catalogue": ALL,
    "POST /api/providers/providers/{provider_id}/catalogue": {"provider_admin", "admin"},
    "PATCH /api/providers/providers/{provider_id}/catalogue/{item_id}": {"provider_admin", "admin"},
    "POST /api/providers/providers/{provider_id}/documents": {"provider_admin"} | OFFICERS,
    "GET /api/providers/providers/{provider_id}/documents": PROVIDER_STAFF | OFFICERS,
    "PUT /api/providers/providers/{provider_id}/service-area": {"provider_admin", "admin"},
    "GET /api/providers/geocode": frozenset({"provider_admin", "assessor"}) | OFFICERS,
    "GET /api/providers/service-items": ALL,
    "GET /api/providers/service-items/{code}": ALL,
    "PUT /api/providers/service-items/{code}": ADMIN,
    # beds (issue 22): the desk manages its own, officers and the city read, anyone signed in searches;
    # reserve / occupy / release are the orders service's own token's (admin passes every role check)
    "POST /api/providers/providers/{provider_id}/beds": {"provider_admin", "admin"},
    "GET /api/providers/providers/{provider_id}/beds": PROVIDER_STAFF | OFFICERS,
    "PATCH /api/providers/beds/{bed_id}": {"provider_admin", "admin"},
    "PUT /api/providers/providers/{provider_id}/bed-rates": {"provider_admin", "admin"},
    "GET /api/providers/providers/{provider_id}/bed-rates": ALL,
    "POST /api/providers/beds/{bed_id}/reserve": ADMIN,
    "POST /api/providers/beds/{bed_id}/occupy": ADMIN,
    "POST /api/providers/beds/{bed_id}/release": ADMIN,
    "GET /api/providers/bed-search": ALL,
    "GET /api/providers/bed-capacity": OFFICERS,
    "GET /api/providers/reports/coverage": OFFICERS,
    # vouchers
    "GET /api/vouchers/anomalies": OFFICERS,
    "POST /api/vouchers/anomalies/{finding_id}/actions": OFFICERS,
    "POST /api/vouchers/holds": ADMIN,  # and the orders service's own token
    "GET /api/vouchers/holds/{hold_id}": ADMIN,
    "POST /api/vouchers/holds/{hold_id}/void": ADMIN,
    "POST /api/vouchers/issuance-runs": OFFICERS,
    "GET /api/vouchers/issuance-runs": OFFICERS,
    "GET /api/vouchers/ledger/check": CITY,
    "POST /api/vouchers/meal-subsidies": ADMIN,  # and the orders service's own token
    "POST /api/vouchers/meal-subsidies/{redemption_id}/reverse": ADMIN,  # and the orders service's own token
    "PUT /api/vouchers/meal-points/{provider_id}/capacity": OFFICERS,
    "POST /api/vouchers/month-end-runs": OFFICERS,
    "GET /api/vouchers/policies": ALL,
    "POST /api/vouchers/policies": ADMIN,
    "GET /api/vouchers/policies/current": ALL,
    "POST /api/vouchers/plan-budgets": OFFICERS,  # and the assessment service's own token
    "POST /api/vouchers/recovery-estimates": CITY,  # and other services' own tokens
    "POST /api/vouchers/quotes": ELDER_SIDE | {"admin"},
    "GET /api/vouchers/reports/spend": OFFICERS,
    "GET /api/vouchers/reports/spend/monthly": OFFICERS,
    "GET /api/vouchers/reports/issued": OFFICERS,
    "GET /api/vouchers/settlements": {"provider_admin"} | OFFICERS,
    "POST /api/vouchers/stay-claims/draft": OFFICERS,
    "GET /api/vouchers/stay-claims": {"provider_admin"} | OFFICERS | ELDER_SIDE,  # the family reads its bill
    "GET /api/vouchers/stay-claims/{claim_id}": {"provider_admin"} | OFFICERS | ELDER_SIDE,
    "POST /api/vouchers/stay-claims/{claim_id}/confirm": {"provider_admin"},
    "POST /api/vouchers/stay-claims/{claim_id}/approve": OFFICERS,
    "POST /api/vouchers/settlements/{settlement_id}/confirm": OFFICERS,
    "POST /api/vouchers/settlements/{settlement_id}/pay": OFFICERS,
    # return visits and complaints (issue 24); "operator" is the 12349 hotline's role
    "POST /api/vouchers/return-visit-samples": OFFICERS,
    "GET /api/vouchers/return-visit-samples": OFFICERS | {"operator"},
    "POST /api/vouchers/return-visits/{visit_id}/result": OFFICERS | {"operator"},
    "GET /api/vouchers/service-findings": OFFICERS | {"provider_admin"},
    "POST /api/vouchers/service-findings/{finding_id}/resolve": OFFICERS,
    "POST /api/vouchers/complaints": ELDER_SIDE | {"operator"},
    "GET /api/vouchers/complaints": ELDER_SIDE | OFFICERS | {"provider_admin", "operator"},
    "GET /api/vouchers/complaints/{complaint_id}": ELDER_SIDE | OFFICERS | {"provider_admin", "operator"},
    "POST /api/vouchers/complaints/{complaint_id}/status": OFFICERS,
    "POST /api/vouchers/complaints/{complaint_id}/photo": ELDER_SIDE | {"operator"},  # the complainant only
    "GET /api/vouchers/complaints/{complaint_id}/photo": ELDER_SIDE | OFFICERS | {"provider_admin", "operator"},
    "GET /api/vouchers/oversight-figures": OFFICERS,
    "GET /api/vouchers/wallets/{elder_id}": ELDER_SIDE | OFFICERS | DESK,
    "GET /api/vouchers/wallets/{elder_id}/history": ELDER_SIDE | OFFICERS | DESK,
}
