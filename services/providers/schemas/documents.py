"""The providers service's schemas: documents."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    DocumentKind,
    Strict,
)
from services.providers.schemas.registry import (
    DocumentsState,
)


class DocumentIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "food_permit", "number": "JY33212020000001", "issued_on": "2025-06-01", "expires_on": "2030-05-31"}]})
    kind: DocumentKind
    number: str = Field(min_length=2, max_length=100)
    issued_on: date | None = None
    expires_on: date
    file_url: str | None = Field(None, max_length=500)


class DocumentOut(BaseModel):
    id: str
    provider_id: str
    provider_name: str
    district_code: str
    provider_status: str
    kind: str
    kind_name: str
    number: str
    issued_on: date | None
    expires_on: date
    days_left: int
    expired: bool
    required: bool
    file_url: str | None
    uploaded_by: str
    uploaded_at: datetime


class DocumentsOut(BaseModel):
    state: DocumentsState
    documents: list[DocumentOut]
