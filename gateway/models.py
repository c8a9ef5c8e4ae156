"""Tables of the gateway database (the kernel's outbox, inbox, dead letters and idempotency
keys are created by its migrations too)."""
from __future__ import annotations

from shared.db import make_base

Base = make_base("gateway")
