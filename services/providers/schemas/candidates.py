"""The providers service's schemas: candidates."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CandidateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "provider_id": "4b1c3a52-8f7e-4d4e-9a53-0d6c7e1f2a10", "provider_name": "泰州市海陵区城中居家养老服务中心",
        "caregiver_id": "9e0f0c8e-2d55-4a9b-8a83-7c9f4c1d2e33", "caregiver_name": "刘秀英", "distance_m": 812.4,
        "score": 0.6931, "score_parts": {"distance": 0.3555, "rating": 0.1522, "load": 0.1125, "continuity": 0.0},
        "rating": 4.8, "rating_count": 12, "price_fen": 1200, "item_id": "0d5b8a44-1f3e-4c11-9d0e-6a1b2c3d4e5f",
        "voucher_kinds": ["community"], "load_today": 2, "daily_limit": 8, "volunteer": False}]})
    provider_id: str
    provider_name: str
    caregiver_id: str
    caregiver_name: str
    distance_m: float
    score: float
    score_parts: dict[str, float] = Field(description="各项得分（权重 × 分项），相加即总分")
    rating: float | None
    rating_count: int
    price_fen: int
    item_id: str
    voucher_kinds: list[str]
    load_today: int
    daily_limit: int
    volunteer: bool


class CandidatesOut(BaseModel):
    candidates: list[CandidateOut]
