"""Versioned policy data: every *policy default* (a limit, a rate, a target) is a version with the
day it takes effect, kept in a data file or table, never a constant in code. Pure, no I/O."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar


class Versioned(Protocol):
    valid_from: date


V = TypeVar("V", bound=Versioned)


def in_force(versions: Sequence[V], day: date) -> V:
    """The version in force on `day`: the latest that has begun; the oldest before any has.
    `versions` is sorted by `valid_from`."""
    current = versions[0]
    for version in versions:
        if version.valid_from <= day:
            current = version
    return current
