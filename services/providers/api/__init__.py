"""The providers service's routes, one module per flow; `routers` is what `main` mounts."""
from __future__ import annotations

from services.providers.api import beds, candidates, catalogue, geocoding, registry, reports, staff

routers = [catalogue.router, registry.router, staff.router, geocoding.router, candidates.router, beds.router, reports.router]
