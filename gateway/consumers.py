"""The gateway's one consumer: the topics' events become notices (gateway/notices.py).

Every replica reads every partition: its consumer group and its inbox scope carry the replica's
instance id (`notices_scope`), so each replica sees each event once and can push it to the pages
connected to it. The notices themselves are written once across replicas (unique (event, account)).

Every replica handles every mapped event, so this is the gateway's busiest write: the handler is a
fast one (a `FastTx`, shared/inbox.py), its statements compiled once (gateway/queries.py). The
live push happens after the handler's transaction commits (`tx.after_commit`: a rolled-back try
pushes nothing; the retry does).
"""
from __future__ import annotations

import os
import re
import socket

from gateway import notices
from gateway.rules.notices import RULES, TOPICS
from shared.app import ServiceContext
from shared.events import CloudEvent
from shared.fast_sql import FastTx
from shared.inbox import Subscription


def instance_id(ctx: ServiceContext) -> str:
    """This replica's name: YOUFU_INSTANCE_ID, else host and port (stable across restarts of one
    replica, so a restart resumes its consumer group instead of starting a new one)."""
    raw = ctx.settings.instance_id or f"{socket.gethostname()}-{ctx.settings.port('gateway')}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)[:60] or str(os.getpid())


def notices_scope(ctx: ServiceContext) -> str:
    """The inbox scope and consumer group of this replica's notices consumer."""
    return f"gateway.notices.{instance_id(ctx)}"


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    hub: notices.NoticeHub = ctx.runtime.hub

    async def on_event(tx: FastTx, event: CloudEvent) -> None:
        ready = await notices.deliver_event(tx, event=event, connected=hub.connected(), now=ctx.now())
        if ready:
            tx.after_commit.append(lambda: hub.push(ready))

    return [Subscription(notices_scope(ctx), list(TOPICS), handlers={},
                         fast_handlers={event_type: on_event for event_type in RULES})]
