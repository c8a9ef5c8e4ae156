"""The oversight policy data (`oversight_policy.json`: return-visit sampling rate and minimum,
the complaint deadline in working days, holidays and make-up working days), read once per
process; the version in force on a day is chosen by `shared.policy_data.in_force`."""
from __future__ import annotations

import functools
import json
from datetime import date
from pathlib import Path

from services.vouchers.rules.return_visits import OversightPolicy, policy_from
from shared.policy_data import in_force

POLICY_FILE = Path(__file__).with_name("oversight_policy.json")


@functools.cache
def oversight_policies() -> tuple[OversightPolicy, ...]:
    return tuple(policy_from(json.loads(POLICY_FILE.read_text(encoding="utf-8"))))


def oversight_policy(day: date) -> OversightPolicy:
    return in_force(list(oversight_policies()), day)
