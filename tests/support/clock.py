"""A clock for tests: a service given one (`create_app(settings, clock=clock)`) reads the time from
it, so a test moves time across a month end or past an expiry by setting `clock.now`."""
from __future__ import annotations

from datetime import datetime


class Clock:
    """Callable like `shared.clock.system_clock`; answers `now` until a test sets another."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
