"""Live notices: an event from the topics becomes a notice in each recipient's inbox, and goes live
to the recipients whose pages hold a stream open on this replica.

Each gateway replica reads the topics itself (its own consumer group and inbox scope,
gateway/consumers.py) and runs `deliver_event` for every event: the notices are inserted
ON CONFLICT DO NOTHING on (event, account), so whichever replica comes first writes them and the
others find them there; every replica then pushes, after the commit, the rows of the accounts that
are connected to it (`NoticeHub`). A replica replaying old events (a new consumer group starts at
the earliest offset) pushes nothing old: only rows written within `LIVE_WINDOW` go live.

Use cases run in the caller's transaction; the hub is the replica's memory (no cross-replica bus).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import FamilyLink, Notice, User
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
from shared.events import CloudEvent

INBOX_SIZE = 50  # notices kept per account (issue 24: "an inbox of the last 50 notices")
LIVE_WINDOW = timedelta(minutes=2)  # a row older than this is history, not news: never pushed live
QUEUE_SIZE = 100  # notices waiting for one slow stream; past it the stream is closed and resumes


def view(row: Notice) -> dict:
    """The notice as pages and the API see it."""
    return {"id": f"{row.event_id}:{row.user_id}", "seq": row.seq, "kind": row.kind, "title": row.title,
            "body": row.body, "link": row.link, "at": row.at.isoformat(), "read": row.read_at is not None}


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


async def recipients(s: AsyncSession, audience: Audience) -> set[uuid.UUID]:
    """The active accounts an audience names; the scope is written into the query."""
    active = User.status == "active"
    match audience:
        case Household(elder_id=elder):
            linked = sa.select(FamilyLink.user_id).where(FamilyLink.elder_id == elder, FamilyLink.revoked_at.is_(None))
            where = sa.or_(sa.and_(User.role == "elder", User.elder_id == elder),
                           sa.and_(User.role == "family", User.id.in_(linked)))
        case ProviderDesk(provider_id=provider):
            where = sa.and_(User.role == "provider_admin", User.provider_id == provider)
        case ProviderStaff(provider_id=provider):
            where = sa.and_(User.role.in_(("provider_admin", "caregiver")), User.provider_id == provider)
        case Caregivers(caregiver_ids=ids):
            where = sa.and_(User.role == "caregiver", User.caregiver_id.in_(ids))
        case DistrictDesk(district_code=district, roles=roles):
            parts = []
            if "officer" in roles:
                parts.append(sa.and_(User.role == "officer", User.district_code == district))
            if "operator" in roles:  # an operator of the district, or of the whole city
                parts.append(sa.and_(User.role == "operator",
                                     sa.or_(User.district_code == district, User.district_code.is_(None))))
            where = sa.or_(*parts) if parts else sa.false()
        case Account(user_id=user):
            try:
                where = User.id == uuid.UUID(user)
            except ValueError:
                return set()
        case _:
            return set()
    return set((await s.execute(sa.select(User.id).where(active, where))).scalars())


async def caregiver_name(s: AsyncSession, caregiver_id: str) -> str | None:
    return (await s.execute(sa.select(User.display_name).where(User.caregiver_id == caregiver_id)
                            .order_by(User.created_at).limit(1))).scalar()


def _insert(s: AsyncSession):
    return sqlite.insert if s.bind.dialect.name == "sqlite" else postgresql.insert


async def deliver_event(s: AsyncSession, *, event: CloudEvent, connected: set[str], now: datetime) -> list[tuple[str, dict]]:
    """Write the event's notices (each (event, account) once, whoever writes first), keep each
    recipient's last INBOX_SIZE, and answer the fresh rows of the `connected` accounts, to push
    once the transaction has committed."""
    names = {}
    if cid := wants_caregiver_name(event.type, event.data):
        if name := await caregiver_name(s, cid):
            names["caregiver"] = name
    rows: dict[uuid.UUID, dict] = {}
    for draft in notices_for(event.type, event.data, names=names):
        for user_id in await recipients(s, draft.audience):
            rows.setdefault(user_id, {"event_id": event.id, "user_id": user_id, "kind": draft.kind, "title": draft.title,
                                      "body": draft.body, "link": draft.link, "at": event.time, "created_at": now,
                                      "read_at": None})
    if not rows:
        return []
    insert = _insert(s)
    order = sorted(rows)  # every replica locks the same rows in the same order: no deadlock between them
    await s.execute(insert(Notice).values([rows[u] for u in order])
                    .on_conflict_do_nothing(index_elements=["event_id", "user_id"]))
    for user_id in order:
        await prune(s, user_id=user_id)
    local = [u for u in rows if str(u) in connected]
    if not local:
        return []
    fresh = (await s.execute(sa.select(Notice).where(
        Notice.event_id == event.id, Notice.user_id.in_(local), Notice.created_at >= now - LIVE_WINDOW))).scalars()
    return [(str(row.user_id), view(row)) for row in fresh]


async def prune(s: AsyncSession, *, user_id: uuid.UUID, keep: int = INBOX_SIZE) -> None:
    """Keep the account's `keep` newest notices (by the event's time, then arrival)."""
    beyond = (sa.select(Notice.seq).where(Notice.user_id == user_id)
              .order_by(Notice.at.desc(), Notice.seq.desc()).offset(keep))
    await s.execute(sa.delete(Notice).where(Notice.user_id == user_id, Notice.seq.in_(beyond)))


async def list_notices(s: AsyncSession, *, user_id: str, limit: int = INBOX_SIZE) -> dict:
    uid = uuid.UUID(user_id)
    rows = (await s.execute(sa.select(Notice).where(Notice.user_id == uid)
                            .order_by(Notice.at.desc(), Notice.seq.desc()).limit(limit))).scalars().all()
    unread = (await s.execute(sa.select(sa.func.count()).select_from(Notice)
                              .where(Notice.user_id == uid, Notice.read_at.is_(None)))).scalar_one()
    return {"items": [view(r) for r in rows], "unread": unread}


async def notices_after(s: AsyncSession, *, user_id: str, seq: int, limit: int = INBOX_SIZE) -> list[dict]:
    """What arrived for the account after `seq` (a reconnecting stream's Last-Event-ID), oldest first."""
    rows = (await s.execute(sa.select(Notice).where(Notice.user_id == uuid.UUID(user_id), Notice.seq > seq)
                            .order_by(Notice.seq).limit(limit))).scalars()
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
