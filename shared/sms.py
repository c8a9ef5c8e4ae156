"""Text messages to people outside the platform (an elder's emergency contacts), behind one
interface so a real SMS gateway can be plugged in without touching the flows.

`SmsSender` is the protocol; `LogSmsSender`, the default, writes each message to the log (the
phone masked) and sends nothing. A deployment names another implementation by its import path
in a setting (orders: `YOUFU_ORDERS_SMS_SENDER=package.module:ClassName`, a class taking no
arguments and reading its own credentials); `sms_sender_from(name)` builds it. Tests use a
recording fake: the only mock the suite allows, since the gateway is outside the machine.
"""
from __future__ import annotations

import importlib
import logging
from typing import Protocol, runtime_checkable

from shared.pii import mask_phone

log = logging.getLogger("youfu.sms")


@runtime_checkable
class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None:
        """Send one message; raise on a definite failure (the caller logs it and carries on)."""


class LogSmsSender:
    """The default: the message goes to the log, not to a phone."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, phone: str, text: str) -> None:
        self.sent += 1
        log.info("sms to %s: %s", mask_phone(phone), text)


def sms_sender_from(name: str) -> SmsSender:
    """"log" (or empty): `LogSmsSender`; "package.module:ClassName": that class, built with no arguments."""
    if not name or name == "log":
        return LogSmsSender()
    module_name, _, class_name = name.partition(":")
    if not class_name:
        raise ValueError(f"SMS sender {name!r}: expected 'log' or 'package.module:ClassName'")
    sender = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(sender, SmsSender):
        raise TypeError(f"SMS sender {name!r} has no async send(phone, text)")
    return sender
