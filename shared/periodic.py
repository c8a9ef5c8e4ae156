"""The one way to run a periodic background task in a service process.

A pass runs, then the task sleeps its interval (or less: a pass may return the seconds until it
needs to run again, and a `wake` event cuts the sleep short).

A service declares `PeriodicTask`s in its `ServiceSpec`; the app's lifespan starts them after
start-up and cancels them before the database closes. A failing pass is logged and the next one
runs on schedule: a background task never dies of one bad pass, and never takes the process down.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("youfu.periodic")


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Callable[[Any], Awaitable[Any]]  # called with the ServiceContext
    every_s: float | Callable[[Any], float]  # seconds, or read from the context's settings
    first_delay_s: float = 0.0  # wait this long before the first pass
    enabled: Callable[[Any], bool] = lambda ctx: True
    # An event that cuts the wait short (the dispatcher is woken by a new order or a decline).
    wake: Callable[[Any], asyncio.Event] | None = None

    def interval(self, ctx: Any) -> float:
        return float(self.every_s(ctx) if callable(self.every_s) else self.every_s)


async def _loop(task: PeriodicTask, ctx: Any) -> None:
    every = task.interval(ctx)
    if task.first_delay_s:
        await asyncio.sleep(task.first_delay_s)
    wake = task.wake(ctx) if task.wake else None
    while True:
        delay = every
        try:
            # a pass may return how long until it needs to run again (the earliest stored
            # deadline); never longer than the task's interval
            soon = await task.run(ctx)
            if isinstance(soon, (int, float)) and not isinstance(soon, bool):
                delay = max(0.0, min(every, float(soon)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic task %s failed; next pass in %ss", task.name, every)
        if wake is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
            wake.clear()


class PeriodicRunner:
    """Starts and stops a service's periodic tasks."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task] = []

    def start(self, tasks: list[PeriodicTask], ctx: Any) -> None:
        for t in tasks:
            if t.enabled(ctx) and t.interval(ctx) > 0:
                self._tasks.append(asyncio.create_task(_loop(t, ctx), name=t.name))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
