"""The vouchers settings keep the environment names the city already uses."""
from __future__ import annotations

from datetime import timedelta

from services.vouchers.rules.audit import AnomalyThresholds
from services.vouchers.settings import VouchersSettings


def test_defaults(monkeypatch):
    for name in ("ORPHAN_HOLD_AFTER_S", "ORPHAN_SWEEP_S", "ANOMALY_MAX_CHECKIN_DISTANCE_M"):
        monkeypatch.delenv(f"YOUFU_VOUCHERS_{name}", raising=False)
    own = VouchersSettings()
    assert own.orphan_after == timedelta(minutes=10)
    assert own.orphan_sweep_s == 60
    assert own.anomaly == AnomalyThresholds()


def test_environment_names(monkeypatch):
    monkeypatch.setenv("YOUFU_VOUCHERS_ORPHAN_HOLD_AFTER_S", "10")
    monkeypatch.setenv("YOUFU_VOUCHERS_ORPHAN_SWEEP_S", "1")
    monkeypatch.setenv("YOUFU_VOUCHERS_ANOMALY_MAX_CHECKIN_DISTANCE_M", "300")
    monkeypatch.setenv("YOUFU_VOUCHERS_ANOMALY_MAX_SERVICES_PER_ELDER_PROVIDER_DAY", "5")
    monkeypatch.setenv("YOUFU_VOUCHERS_DATABASE_URL", "sqlite+aiosqlite:///x.db")  # the kernel's, not ours
    own = VouchersSettings()
    assert own.orphan_after == timedelta(seconds=10)
    assert own.orphan_sweep_s == 1
    assert own.anomaly.max_checkin_distance_m == 300
    assert own.anomaly.max_services_per_elder_provider_day == 5
    assert own.anomaly.spike_sigmas == AnomalyThresholds().spike_sigmas
