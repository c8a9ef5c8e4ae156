"""Failpoints: make a process die at a named point, so the fault tests (tests/faults/) can crash it
exactly where a real crash would hurt most.

`YOUFU_FAILPOINTS` lists the armed points, comma-separated, each `point=scope` or
`point=scope/event-type`. When an armed point is reached with a matching scope (and, if given,
a record of that CloudEvents type), the process writes one line to stderr and ends at once with
`os._exit(137)`: no `finally`, no commit, no flush, like SIGKILL. It can only happen once per
process; the test restarts the process without the variable.

Points:
- `consumer.after_effect` (shared/consumer.py): the handler's effect and inbox row are committed,
  the offset is not. Scope: the subscription name. E.g.
  `YOUFU_FAILPOINTS=consumer.after_effect=vouchers.orders/youfu.order.completed.v1`.
- `vouchers.hold.after_commit` (services/vouchers/api/spending.py, `POST /holds`): the hold is committed,
  the answer is not sent. Scope: `vouchers`.

Unset (production), `hit` costs one check of an empty tuple.
"""
from __future__ import annotations

import json
import os
import sys


def _parse(spec: str) -> tuple[tuple[str, str, str | None], ...]:
    armed = []
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        point, _, target = entry.partition("=")
        scope, _, event_type = target.partition("/")
        armed.append((point.strip(), scope.strip(), event_type.strip() or None))
    return tuple(armed)


ARMED = _parse(os.environ.get("YOUFU_FAILPOINTS", ""))


def _type_of(payload: object) -> str | None:
    try:
        return json.loads(payload).get("type")
    except Exception:
        return None


def hit(point: str, scope: str, payload: bytes | str | None = None) -> None:
    """Die here if `point` is armed for `scope` (and the payload's event type, when one is named)."""
    if not ARMED:
        return
    for armed_point, armed_scope, event_type in ARMED:
        if armed_point == point and armed_scope in (scope, "*") and (event_type is None or _type_of(payload) == event_type):
            sys.stderr.write(f"failpoint {point}={scope}{'/' + event_type if event_type else ''} fired: exiting\n")
            sys.stderr.flush()
            os._exit(137)
