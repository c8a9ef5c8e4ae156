"""The vouchers service's own settings (prefix YOUFU_VOUCHERS_): when holds without an order are
released, and the anomaly rules' thresholds the city tunes.

The thresholds keep their names, one variable each (e.g.
YOUFU_VOUCHERS_ANOMALY_MAX_CHECKIN_DISTANCE_M=300): `anomaly` is a nested model, and the first
`_` after `ANOMALY` separates it from the threshold's own name (the rest of the name, underscores
and all)."""
from __future__ import annotations

from datetime import timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.vouchers.rules.audit import AnomalyThresholds


class VouchersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOUFU_VOUCHERS_", extra="ignore",
                                      env_nested_delimiter="_", env_nested_max_split=1)

    # A held hold whose order nobody has confirmed is checked with the orders service this long
    # after it was made (services/vouchers/orphans.py), on a sweep this often.
    orphan_hold_after_s: float = 600.0
    orphan_sweep_s: float = 60.0
    anomaly: AnomalyThresholds = AnomalyThresholds()
    # a complaint's optional photo (complaints.py): the "at most 2 MB", as for the door's
    complaint_photo_max_bytes: int = 2 * 1024 * 1024

    @property
    def orphan_after(self) -> timedelta:
        return timedelta(seconds=self.orphan_hold_after_s)
