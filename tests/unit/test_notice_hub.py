"""The replica's in-memory fan-out of notices (gateway/notices.py NoticeHub): each account's streams
get its notices only; a stream too far behind is dropped (its page resumes from the inbox); stopping
the replica ends every stream."""
from __future__ import annotations

from gateway.notices import QUEUE_SIZE, NoticeHub


async def test_push_reaches_only_the_accounts_own_streams():
    hub = NoticeHub()
    a1, a2, b = hub.subscribe("a"), hub.subscribe("a"), hub.subscribe("b")
    assert hub.push([("a", {"id": "e1:a"}), ("c", {"id": "e1:c"})]) == 2  # nobody holds c's stream here
    assert a1.get_nowait() == a2.get_nowait() == {"id": "e1:a"} and b.empty()
    hub.unsubscribe("a", a1)
    hub.unsubscribe("a", a2)
    assert hub.connected() == {"b"}


async def test_a_stream_too_far_behind_is_dropped_with_a_closing_mark():
    hub = NoticeHub()
    slow = hub.subscribe("a")
    hub.push([("a", {"seq": i}) for i in range(QUEUE_SIZE + 1)])
    assert "a" not in hub.connected()
    items = [slow.get_nowait() for _ in range(slow.qsize())]
    assert items[-1] is None and len(items) == QUEUE_SIZE  # the stream ends; the page resumes from its last seq


async def test_stopping_ends_every_stream():
    hub = NoticeHub()
    queues = [hub.subscribe("a"), hub.subscribe("b")]
    hub.push([("a", {"seq": i}) for i in range(QUEUE_SIZE)])  # a full one too
    hub.close()
    assert hub.closing.is_set()
    for q in queues:
        assert [q.get_nowait() for _ in range(q.qsize())][-1] is None
