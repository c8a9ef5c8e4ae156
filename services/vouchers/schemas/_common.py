"""What every schema module of the vouchers service shares: example ids and helpers."""
from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

MAX_PRICE_FEN = 10_000_000  # 100,000 yuan: far above any home service; a bigger number is a typo
ELDER = "6f1c2a0e-8d4b-4f57-9a51-0c3f7d2e9b10"
ORDER = "0b9e4c1d-2f3a-4e5b-8c6d-7e8f9a0b1c2d"
HOLD = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"
PROVIDER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})
