"""Waiting for an effect that happens in the background (an event consumed, an offer expired)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(predicate: Callable[[], Awaitable[T]], timeout_s: float = 30.0, what: str = "condition",
                   every_s: float = 0.05) -> T:
    """Await `predicate()` every `every_s` until it gives something truthy, and return that; fail
    the test with AssertionError naming `what` after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)
