"""Pure rules of a caregiver's daily load: which day an order takes. No I/O; `workload` applies them."""
from __future__ import annotations

from datetime import date, datetime

from shared.city import local_day


def service_day(window_start: object) -> date | None:
    """The city's day of an ISO instant with an offset; None if absent or unreadable."""
    if not isinstance(window_start, str):
        return None
    try:
        instant = datetime.fromisoformat(window_start)
    except ValueError:
        return None
    return local_day(instant) if instant.tzinfo is not None else None
