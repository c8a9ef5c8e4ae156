"""HTTP routes of the providers service."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["providers"])
