"""The providers service's routes, one module per flow; `routers` is what `main` mounts."""
from __future__ import annotations

from services.providers.api import beds, candidates, catalogue, geocoding, registry, reports, staff
from shared.lanes import lane_route, route_lane

routers = [catalogue.router, registry.router, staff.router, geocoding.router, candidates.router, beds.router, reports.router]
# dispatch's question, asked once or more per order: served around FastAPI's per-request
# machinery by the same endpoint (shared/lanes.py, D68)
lanes = [route_lane(lane_route(candidates.router, candidates.get_candidates))]
