"""The routes of the assessment service, one module per flow."""
from __future__ import annotations

from services.assessment.api import assessments, care_plans, elders, home_beds, reports, status_lists

routers = [elders.router, assessments.router, status_lists.router, care_plans.router, home_beds.router, reports.router]
