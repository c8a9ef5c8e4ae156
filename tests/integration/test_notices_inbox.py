"""The notices consumer's fast handler (gateway/notices.py `deliver_event`, its statements in
gateway/queries.py) and the periodic inbox prune (`InboxPrune`), on PostgreSQL and on SQLite (the
fast_sql statements run different code on each): a notice is written once per (event, account)
however often it is delivered, a rolled-back try pushes nothing, and the prune keeps every
account's 50 newest while the reads never show more. The flows through the routes and two replicas
are in tests/integration/test_notices.py."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from gateway import notices
from gateway.consumers import subscriptions
from gateway.models import Base as GatewayBase
from gateway.models import FamilyLink, Notice, User
from gateway.notices import INBOX_SIZE, InboxPrune, NoticeHub
from shared.db import Database
from shared.events import CloudEvent
from shared.fast_sql import fast_transaction
from shared.inbox import handle_event
from shared.settings import Settings

ELDER, CAREGIVER = str(uuid.uuid4()), str(uuid.uuid4())
NOW = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
ACCEPTED = "youfu.order.accepted.v1"


@pytest.fixture
async def world(open_both_backends):
    """A gateway database with a household (the elder's account and a linked family), a caregiver
    and a provider desk."""
    db: Database = await open_both_backends("notices_inbox", GatewayBase)
    ids = {}
    async with db.transaction() as s:
        for i, (name, role, fields) in enumerate([("elder", "elder", {"elder_id": ELDER}), ("family", "family", {}),
                                                  ("caregiver", "caregiver", {"caregiver_id": CAREGIVER}),
                                                  ("desk", "provider_admin", {"provider_id": "p1"})]):
            user = User(phone_index=f"index-{i}", phone_enc="-", display_name={"caregiver": "李红"}.get(name, name),
                        password_hash="-", role=role, status="active", tokens_valid_after=NOW, created_at=NOW,
                        updated_at=NOW, **fields)
            s.add(user)
            await s.flush()
            ids[name] = user.id
        s.add(FamilyLink(user_id=ids["family"], elder_id=ELDER, relation="子女", consent_by="老人",
                         consent_method="in_person", consent_at=NOW, recorded_by=uuid.uuid4()))
    return SimpleNamespace(db=db, ids=ids)


def replica(name: str):
    hub = NoticeHub()
    ctx = SimpleNamespace(runtime=SimpleNamespace(hub=hub), now=lambda: NOW,
                          settings=Settings(instance_id=name, kafka_bootstrap="", log_json=False))
    return subscriptions(ctx)[0], hub


def accepted(at: datetime = NOW) -> CloudEvent:
    return CloudEvent(source="/youfu/orders", type=ACCEPTED, subject="o", time=at,
                      data={"order_id": str(uuid.uuid4()), "elder_id": ELDER, "caregiver_id": CAREGIVER,
                            "window_start": NOW.isoformat()})


async def inbox_rows(db: Database, user_id: uuid.UUID) -> list:
    async with db.sessions() as s:
        return list((await s.execute(sa.select(Notice).where(Notice.user_id == user_id)
                                     .order_by(Notice.at.desc(), Notice.seq.desc()))).scalars())


async def test_a_notice_is_written_once_per_event_and_account_however_often_it_is_delivered(world):
    sub, hub = replica("one")
    family = hub.subscribe(str(world.ids["family"]))
    event = accepted()
    assert await handle_event(world.db, sub, event) == "applied"
    # delivered again past the inbox (another replica's scope, then the handler itself once more)
    assert await handle_event(world.db, replica("two")[0], event) == "applied"
    async with fast_transaction(world.db) as tx:
        await sub.fast_handlers[ACCEPTED](tx, event)
    async with world.db.sessions() as s:
        written = (await s.execute(sa.select(Notice.user_id, Notice.title).where(Notice.event_id == event.id))).all()
    assert sorted(str(u) for u, _ in written) == sorted(str(world.ids[k]) for k in ("elder", "family"))
    assert {title for _, title in written} == {"护理员已接单：李红"}  # the caregiver's name, looked up once
    seen = family.get_nowait()
    assert seen["id"] == f"{event.id}:{world.ids['family']}" and seen["title"] == "护理员已接单：李红"


async def test_a_rolled_back_try_pushes_nothing_and_the_retry_pushes_once(world):
    sub, hub = replica("one")
    family = hub.subscribe(str(world.ids["family"]))
    deliver = sub.fast_handlers[ACCEPTED]
    tries = []

    async def fails_after_writing_once(tx, event):
        await deliver(tx, event)  # its rows written and its push queued for after the commit …
        tries.append(event.id)
        if len(tries) == 1:
            raise RuntimeError("the transaction fails after the handler")  # … which never comes

    sub.fast_handlers[ACCEPTED] = fails_after_writing_once
    sub.retry_backoff_s = 0.0
    event = accepted()
    assert await handle_event(world.db, sub, event) == "applied"
    assert len(tries) == 2
    assert family.get_nowait()["id"] == f"{event.id}:{world.ids['family']}"
    assert family.empty()  # once: the rolled-back try pushed nothing
    # a transaction that rolls back by itself: no row, no push
    other = accepted()
    with pytest.raises(RuntimeError):
        async with fast_transaction(world.db) as tx:
            await deliver(tx, other)
            raise RuntimeError("rolled back")
    assert family.empty()
    async with world.db.sessions() as s:
        assert (await s.execute(sa.select(Notice.seq).where(Notice.event_id == other.id))).first() is None


async def add_notices(db: Database, user_id: uuid.UUID, times: list[datetime]) -> list[str]:
    """Notices for the account in this order of arrival, at these event times; their event ids."""
    ids = [f"e-{uuid.uuid4().hex[:12]}" for _ in times]
    async with db.transaction() as s:
        for event_id, at in zip(ids, times):
            s.add(Notice(event_id=event_id, user_id=user_id, kind="order.accepted", title="t", body="", link=None,
                         at=at, created_at=NOW, read_at=None))
    return ids


async def test_the_periodic_prune_keeps_each_accounts_50_newest_and_the_reads_never_show_more(world):
    family, desk, elder = world.ids["family"], world.ids["desk"], world.ids["elder"]
    # 60 for the family, arriving out of order (the event's time decides), three at one instant
    # (the later arrival is the newer); 10 for the desk
    minutes = [*range(30, 60), *range(0, 27), 27, 27, 27]
    family_ids = await add_notices(world.db, family, [NOW + timedelta(minutes=m) for m in minutes])
    desk_ids = await add_notices(world.db, desk, [NOW + timedelta(minutes=m) for m in range(10)])
    by_place = sorted(zip(minutes, range(len(minutes)), family_ids), reverse=True)  # newest first, then arrival
    newest_50 = [event_id for _, _, event_id in by_place[:INBOX_SIZE]]
    # before any pass: all 60 are there, the reads show the newest 50
    assert len(await inbox_rows(world.db, family)) == 60
    async with world.db.sessions() as s:
        listed = await notices.list_notices(s, user_id=str(family), limit=INBOX_SIZE)
        after = await notices.notices_after(s, user_id=str(family), seq=0, limit=100)
    assert [n["id"].split(":")[0] for n in listed["items"]] == newest_50 and listed["unread"] == INBOX_SIZE
    assert sorted(n["id"].split(":")[0] for n in after) == sorted(newest_50)

    prune = InboxPrune()
    assert await prune.run(world.db) == 10
    assert [n.event_id for n in await inbox_rows(world.db, family)] == newest_50
    assert {n.event_id for n in await inbox_rows(world.db, desk)} == set(desk_ids)
    # later passes look at the accounts notified since the pass before last
    assert await prune.run(world.db) == 0
    newer = await add_notices(world.db, family, [NOW + timedelta(hours=2, minutes=m) for m in range(3)])
    older = await add_notices(world.db, elder, [NOW - timedelta(days=1, minutes=m) for m in range(INBOX_SIZE + 2)])
    assert await prune.run(world.db) == 3 + 2
    assert [n.event_id for n in await inbox_rows(world.db, family)] == [*reversed(newer), *newest_50[:-3]]
    assert [n.event_id for n in await inbox_rows(world.db, elder)] == older[:INBOX_SIZE]


async def test_an_event_older_than_a_full_inbox_is_not_written_again(world):
    """A new consumer group replays the topics from the start: a notice the prune took is older than
    the 50 kept; it is neither written again nor pushed."""
    family = world.ids["family"]
    kept = await add_notices(world.db, family, [NOW + timedelta(minutes=m) for m in range(INBOX_SIZE)])
    sub, hub = replica("late")
    queue = hub.subscribe(str(family))
    assert await handle_event(world.db, sub, accepted(at=NOW - timedelta(days=3))) == "applied"
    assert {n.event_id for n in await inbox_rows(world.db, family)} == set(kept)
    assert queue.empty()
    # the elder's inbox is not full: the same kind of event is written there
    assert len(await inbox_rows(world.db, world.ids["elder"])) == 1
