"""HTTP routes of the orders service."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["orders"])
