"""The routes of the assessment service, one module per flow."""
from __future__ import annotations

from services.assessment.api import assessments, elders

routers = [elders.router, assessments.router]
