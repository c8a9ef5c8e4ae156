"""What every schema module of the orders service shares: example ids, the Shanghai-time type, the
example helper."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field

from shared.city import CITY_TZ

ELDER = "6f1c2a0e-8d4b-4f57-9a51-0c3f7d2e9b10"
ORDER = "0b9e4c1d-2f3a-4e5b-8c6d-7e8f9a0b1c2d"
PROVIDER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CAREGIVER = "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a"
HOLD = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"

Payment = Literal["community", "mutual_aid", "institutional", "self_pay"]


def _shanghai_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=CITY_TZ) if value.tzinfo is None or value.utcoffset() is None else value


LocalDateTime = Annotated[datetime, AfterValidator(_shanghai_if_naive)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]}, extra="forbid")
