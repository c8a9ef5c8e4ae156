"""Live notices: an event from the topics becomes a notice in each recipient's inbox, and goes live
to the recipients whose pages hold a stream open on this replica.

Each gateway replica reads the topics itself (its own consumer group and inbox scope,
gateway/consumers.py) and runs `deliver_event` for every event, a fast handler on the consumer's
`FastTx` (shared/fast_sql.py; its statements are in gateway/queries.py): the notices are inserted
ON CONFLICT DO NOTHING on (event, account), so whichever replica comes first writes them and the
others find them there; every replica then pushes, after the commit, the rows of the accounts that
are connected to it (`NoticeHub`). A replica replaying old events (a new consumer group starts at
the earliest offset) pushes nothing old: only rows written within `LIVE_WINDOW` go live, and a
notice older than an account's INBOX_SIZE newest is not written again.

Each inbox is cut to its INBOX_SIZE newest by a periodic pass (`InboxPrune`), not per event; the
reads show the newest INBOX_SIZE whether or not the pass has run since.

Use cases run in the caller's transaction; the hub is the replica's memory (no cross-replica bus).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Container, Iterable, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import queries
from gateway.models import Notice
from gateway.rules.notices import (
    Account,
    Audience,
    Caregivers,
    DistrictDesk,
    Household,
    ProviderDesk,
    ProviderStaff,
    notices_for,
    wants_caregiver_name,
)
from shared.db import Database
from shared.events import CloudEvent
from shared.fast_sql import FastTx, Query, fast_transaction

INBOX_SIZE = 50  # notices kept per account (issue 24: "an inbox of the last 50 notices")
LIVE_WINDOW = timedelta(minutes=2)  # a row older than this is history, not news: never pushed live
QUEUE_SIZE = 100  # notices waiting for one slow stream; past it the stream is closed and resumes


_notices = Notice.__table__


def view(row: Mapping) -> dict:
    """The notice as pages and the API see it, from a row of `notices` (fast_sql's or the ORM's mapping)."""
    return {"id": f"{row['event_id']}:{row['user_id']}", "seq": row["seq"], "kind": row["kind"], "title": row["title"],
            "body": row["body"], "link": row["link"], "at": row["at"].isoformat(), "read": row["read_at"] is not None}


class NoticeHub:
    """The streams open on this replica: account id → its streams' queues. Everything runs on the
    replica's event loop (the consumer's handlers do too), so no lock is needed."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue]] = {}
        self.closing = asyncio.Event()

    def connected(self) -> set[str]:
        return set(self._queues)

    def subscribe(self, user_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(user_id, set()).add(queue)
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue) -> None:
        queues = self._queues.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[user_id]

    def close(self) -> None:
        """The replica is stopping: every stream ends (its page reconnects, maybe to another replica)."""
        self.closing.set()
        for queues in self._queues.values():
            for queue in queues:
                while queue.full():
                    queue.get_nowait()
                queue.put_nowait(None)

    def push(self, notices: Iterable[tuple[str, dict]]) -> int:
        """Hand each (account id, notice) to that account's streams here; a stream too far behind
        gets None (it closes; the page reconnects and resumes from the inbox)."""
        sent = 0
        for user_id, notice in notices:
            for queue in list(self._queues.get(user_id, ())):
                try:
                    queue.put_nowait(notice)
                    sent += 1
                except asyncio.QueueFull:
                    self.unsubscribe(user_id, queue)
                    queue.get_nowait()
                    queue.put_nowait(None)
        return sent


def _deliveries(audience: Audience) -> list[tuple[Query, dict]]:
    """The statements that write a draft's notice for its audience, with the audience's parameters;
    the scope is written into each (gateway/queries.py)."""
    match audience:
        case Household(elder_id=elder):
            return [(queries.DELIVER_HOUSEHOLD, {"elder": elder})]
        case ProviderDesk(provider_id=provider):
            return [(queries.DELIVER_PROVIDER_DESK, {"provider": provider})]
        case ProviderStaff(provider_id=provider):
            return [(queries.DELIVER_PROVIDER_STAFF, {"provider": provider})]
        case Caregivers(caregiver_ids=ids):  # sorted: every replica writes in the same order
            return [(queries.DELIVER_CAREGIVER, {"caregiver": cid}) for cid in sorted(set(ids))]
        case DistrictDesk(district_code=district, roles=roles):
            return [(queries.DELIVER_DISTRICT_DESK[role], {"district": district})
                    for role in ("officer", "operator") if role in roles]
        case Account(user_id=user):
            try:
                return [(queries.DELIVER_ACCOUNT, {"account": uuid.UUID(user)})]
            except ValueError:
                return []
    return []


async def deliver_event(tx: FastTx, *, event: CloudEvent, connected: Container[str], now: datetime
                        ) -> list[tuple[str, dict]]:
    """Write the event's notices (each (event, account) once, whoever writes first; none for an
    account holding INBOX_SIZE newer ones), and answer the fresh rows of the `connected` accounts,
    to push once the transaction has committed (`tx.after_commit`). The inbox is kept at its
    INBOX_SIZE newest by `InboxPrune`, not here: that was a DELETE per recipient per event."""
    names = {}
    if cid := wants_caregiver_name(event.type, event.data):
        found = await tx.row(queries.CAREGIVER_NAME, caregiver=cid)
        if found is not None and found["display_name"]:
            names["caregiver"] = found["display_name"]
    drafts = notices_for(event.type, event.data, names=names)
    # a recipient of two drafts keeps the first one's notice (the second finds its row there)
    for draft in drafts:
        for query, audience in _deliveries(draft.audience):
            await tx.run(query, **audience, notice_event=event.id, notice_kind=draft.kind, notice_title=draft.title,
                         notice_body=draft.body, notice_link=draft.link, notice_at=event.time, notice_created_at=now,
                         keep=INBOX_SIZE)
    if not drafts or not connected:
        return []
    fresh = await tx.rows(queries.FRESH_NOTICES, notice_event=event.id, since=now - LIVE_WINDOW)
    return [(str(row["user_id"]), view(row)) for row in fresh if str(row["user_id"]) in connected]


class InboxPrune:
    """Keeps each account's inbox at its INBOX_SIZE newest notices, off the event path: a pass
    (the periodic task `gateway-inbox-prune`, gateway/main.py) deletes in one statement what lies
    beyond the newest INBOX_SIZE of every account that got a notice since the pass before last.
    The pass before last, not the last: a notice whose number was taken before the last pass but
    committed after it is still looked at. The first two passes of a replica look at every account.
    Until a pass has run an inbox may hold a few more rows; the reads show the newest INBOX_SIZE."""

    def __init__(self) -> None:
        self._newest_seen = [0, 0]  # the highest notice number at the start of the last two passes

    async def run(self, db: Database) -> int:
        """One pass; the number of notices deleted."""
        async with fast_transaction(db) as tx:
            newest = (await tx.row(queries.NEWEST_SEQ))["seq"]
            deleted = await tx.run(queries.PRUNE_INBOXES, after_seq=self._newest_seen[0], keep=INBOX_SIZE)
        self._newest_seen = [self._newest_seen[1], newest]
        return deleted


def _inbox(user_id: uuid.UUID) -> sa.Subquery:
    """The account's inbox as it is shown: its INBOX_SIZE newest notices, whether or not the
    periodic prune has yet deleted the ones beyond."""
    return (sa.select(_notices).where(_notices.c.user_id == user_id)
            .order_by(_notices.c.at.desc(), _notices.c.seq.desc()).limit(INBOX_SIZE).subquery("inbox"))


async def list_notices(s: AsyncSession, *, user_id: str, limit: int = INBOX_SIZE) -> dict:
    inbox = _inbox(uuid.UUID(user_id))
    rows = (await s.execute(sa.select(inbox).order_by(inbox.c.at.desc(), inbox.c.seq.desc())
                            .limit(min(limit, INBOX_SIZE)))).mappings()
    items = [view(r) for r in rows]
    unread = (await s.execute(sa.select(sa.func.count()).select_from(inbox).where(inbox.c.read_at.is_(None)))).scalar_one()
    return {"items": items, "unread": unread}


async def notices_after(s: AsyncSession, *, user_id: str, seq: int, limit: int = INBOX_SIZE) -> list[dict]:
    """What arrived for the account after `seq` (a reconnecting stream's Last-Event-ID), oldest first."""
    inbox = _inbox(uuid.UUID(user_id))
    rows = (await s.execute(sa.select(inbox).where(inbox.c.seq > seq).order_by(inbox.c.seq).limit(limit))).mappings()
    return [view(r) for r in rows]


async def mark_read(s: AsyncSession, *, user_id: str, ids: list[str] | None, now: datetime) -> int:
    """Mark the account's notices read: those named (notice ids), or all. Others' ids match nothing."""
    uid = uuid.UUID(user_id)
    where = [Notice.user_id == uid, Notice.read_at.is_(None)]
    if ids is not None:
        events = [i.rsplit(":", 1)[0] for i in ids if i.endswith(f":{uid}")]
        if not events:
            return 0
        where.append(Notice.event_id.in_(events))
    result = await s.execute(sa.update(Notice).where(*where).values(read_at=now))
    return result.rowcount or 0
