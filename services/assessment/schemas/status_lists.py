"""The assessment service's schemas: status lists from other bureaus (docs/decisions.md)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.schemas.elders import (
    _In,
)

ListKind = Literal["deaths", "moves", "assistance"]
ListOutcome = Literal["apply", "unchanged", "name_mismatch", "unknown", "conflicting", "invalid"]


class StatusListIn(_In):
    """The JSON form of an upload, for another system with its service token. Keys of a row:
    deaths `id_card`, `name`, `date`; moves `id_card`, `date` (`name` optional); assistance
    `id_card`, `status` (特困, 低保, 低保边缘 or 无), `valid_from` (`name` optional)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "deaths", "source": "市殡葬管理所 2026-11",
        "rows": [{"id_card": "321202194805061239", "name": "王大爷", "date": "2026-11-20"}],
    }, {
        "kind": "assistance", "source": "民政救助系统",
        "rows": [{"id_card": "321202194805061239", "status": "低保边缘", "valid_from": "2026-12-01"}],
    }]})
    kind: ListKind
    source: str = Field(min_length=1, max_length=200, description="file name or the sending system's name")
    rows: list[dict[str, str | int | None]] = Field(max_length=200_000)


class ListChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    field: Literal["status", "economic_status"]
    from_: str | None = Field(alias="from", examples=["dibao"])
    to: str = Field(examples=["dibao_edge"])
    effective_date: date


class ListCounts(BaseModel):
    rows: int
    matched: int
    apply: int
    unchanged: int
    name_mismatch: int
    unknown: int
    conflicting: int
    invalid: int


class ListLine(BaseModel):
    line: int = Field(description="the file's line (the header is line 1), or the 1-based position of a JSON row")
    outcome: ListOutcome
    reason: str | None = Field(None, description="why, in Chinese; null for apply")
    id_card: str | None = Field(None, examples=["3212**********1239"], description="masked")
    elder_id: UUID | None = None
    elder_name: str | None = Field(None, examples=["王**"], description="masked")
    change: ListChange | None = None
    amount_fen: int | None = Field(None, description="voucher money captured since the date (deaths, moves); "
                                                     "null when vouchers could not be asked")


class StatusListOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "list_id": "5d1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "kind": "deaths", "source": "deaths-2026-11.csv",
        "state": "dry_run", "uploaded_by": "city-officer-1", "uploaded_at": "2026-12-01T02:00:00Z",
        "applied_by": None, "applied_at": None,
        "counts": {"rows": 2, "matched": 1, "apply": 1, "unchanged": 0, "name_mismatch": 0, "unknown": 1,
                   "conflicting": 0, "invalid": 0},
        "money_at_stake_fen": 12000, "offset": 0, "limit": 200,
        "rows": [{"line": 2, "outcome": "apply", "reason": None, "id_card": "3212**********1239",
                  "elder_id": "0b6f3c1e-5a8d-4a57-9c1e-2f4d6b8a9e10", "elder_name": "王**",
                  "change": {"field": "status", "from": "active", "to": "deceased", "effective_date": "2026-11-20"},
                  "amount_fen": 12000},
                 {"line": 3, "outcome": "unknown", "reason": "未找到该身份证号对应的老人档案",
                  "id_card": "3212**********0021", "elder_id": None, "elder_name": None, "change": None,
                  "amount_fen": None}],
    }]})
    list_id: UUID
    kind: ListKind
    source: str
    state: Literal["dry_run", "applied"]
    uploaded_by: str
    uploaded_at: datetime
    applied_by: str | None = None
    applied_at: datetime | None = None
    counts: ListCounts
    money_at_stake_fen: int | None = Field(None, description="null for assistance lists or when vouchers could not be asked")
    offset: int = 0
    limit: int = 200
    rows: list[ListLine]


class StatusListApplied(StatusListOut):
    applied: int = Field(description="rows applied by this request (0 when the list was applied before)")
    unchanged: int = Field(description="rows whose change already held")


class StatusListSummary(BaseModel):
    list_id: UUID
    kind: ListKind
    source: str
    state: Literal["dry_run", "applied"]
    uploaded_by: str
    uploaded_at: datetime
    applied_by: str | None = None
    applied_at: datetime | None = None
    counts: ListCounts
    money_at_stake_fen: int | None = None


class StatusListPage(BaseModel):
    items: list[StatusListSummary]
    total: int
    page: int
    page_size: int


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7a1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "elder_id": "0b6f3c1e-5a8d-4a57-9c1e-2f4d6b8a9e10",
        "list_id": "5d1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "kind": "assistance", "file": "救助名单-2026-11.xlsx",
        "line": 17, "field": "economic_status", "from": "dibao", "to": "dibao_edge",
        "effective_date": "2026-12-01", "applied_by": "city-officer-1", "applied_at": "2026-11-28T03:00:00Z",
        "explanation": "根据民政救助名单（2026-12-01 生效），您的救助类别由 低保 调整为 低保边缘；下月起代金券按新类别发放。",
    }]})
    id: UUID
    elder_id: UUID
    list_id: UUID
    kind: ListKind
    file: str
    line: int
    field: str
    from_: str | None = Field(alias="from")
    to: str
    effective_date: date
    applied_by: str
    applied_at: datetime
    explanation: str
