"""The one clock. Every use case reads the time from the clock it is given (keyword `now=` or the
service context's `clock`), never from `datetime.now()`, so tests can move time across a month
end or past an expiry without patching."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, UTC-aware."""
    return datetime.now(timezone.utc)
