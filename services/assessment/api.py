"""HTTP routes of the assessment service."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["assessment"])
