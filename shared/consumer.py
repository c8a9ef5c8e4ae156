"""Consumer runner: kafka-python on a worker thread, async handlers on the service's loop.

For each record (a CloudEvent in either content mode of the Kafka binding, `event_from_record` in
shared/events.py), every subscription of its topic that handles its type applies it through its
inbox (shared/inbox.py: the effect and the inbox row in one transaction); only then is the offset
committed. A partition's records from one poll go to the event loop in one hop, and consecutive
ones a subscription handles with fast handlers share one transaction (D78).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time

from shared import failpoints
from shared.db import Database
from shared.events import CloudEvent, event_from_record
from shared.inbox import Subscription, handle_events

log = logging.getLogger("youfu.consumer")

# How long the broker may hold a fetch that finds nothing. The bundled broker (Tansu) holds it the
# whole time even when records arrive meanwhile, so a busy consumer asks for 25 ms: each hop of a
# saga paid up to ~250 ms with kafka-python's default 500 (bench/settle_latency.py). Idle, the same
# 40 fetches a second cost ≈0.13 of a core per service and more in the broker (an idle platform
# took 0.56 of a core, 0.14 with this: bench/idle_platform.py): after IDLE_AFTER_S quiet a consumer
# asks for 250 ms instead, and the first record it handles puts it back at 25 ms. What that costs:
# an event after a quiet spell waits up to 250 ms longer.
#
# "Quiet" means no record this consumer handles, not no record at all (D76): the consumers of a busy
# topic that need one event type in ten (assessment reads every order event for order.completed)
# fetched as often as records arrived, each fetch a few records to decode and skip. Quiet, the
# broker also holds a fetch until QUIET_FETCH_MIN_BYTES have arrived (or the 250 ms are up): four
# fetches a second however busy the topic, and the same wait as above for the first handled one.
BUSY_FETCH_WAIT_MS = 25
IDLE_FETCH_WAIT_MS = 250
IDLE_AFTER_S = 5.0
QUIET_FETCH_MIN_BYTES = 1 << 20
COMMIT_EVERY_S = 0.5


class ConsumerRunner:
    """One KafkaConsumer for a service's subscriptions, on its own thread (kafka-python consumers
    are not thread-safe); a partition's records from one poll are handed to the service's event
    loop together, and the offset is committed only after the handlers' transactions committed.

    One consumer per service rather than per subscription: against a broker that holds every
    fetch for `fetch_max_wait_ms`, each idle consumer costs a steady share of a core just polling.
    The consumer group is the service (`group`); the inbox scope stays each subscription's name."""

    def __init__(self, db: Database, bootstrap: str, subs: Subscription | list[Subscription], *, client_id: str,
                 group: str | None = None, on_outcome=None, topic_prefix: str = "",
                 idle_after_s: float = IDLE_AFTER_S) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.subs = [subs] if isinstance(subs, Subscription) else list(subs)
        self.group = group or self.subs[0].name
        self.by_topic: dict[str, list[Subscription]] = {}
        for sub in self.subs:
            for topic in sub.topics:
                self.by_topic.setdefault(topic, []).append(sub)
        self.client_id = client_id
        self.on_outcome = on_outcome
        self.topic_prefix = topic_prefix
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.assigned = threading.Event()
        self.idle_after_s = idle_after_s
        self.fetch_wait_ms = BUSY_FETCH_WAIT_MS  # what the consumer asks the broker for now
        self.fetch_min_bytes = 1

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.group}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread:
            await asyncio.to_thread(self._thread.join, 10)

    def _consumer(self):
        from kafka import KafkaConsumer

        return KafkaConsumer(
            *(self.topic_prefix + t for t in self.by_topic), bootstrap_servers=self.bootstrap,
            group_id=self.topic_prefix + self.group,  # namespaced with the topics: no group shared across namespaces
            client_id=self.client_id, enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_records=200,
            fetch_max_wait_ms=BUSY_FETCH_WAIT_MS,  # not kafka-python's 500: see BUSY_FETCH_WAIT_MS
            request_timeout_ms=7000, reconnect_backoff_max_ms=1000,
        )

    def _run(self) -> None:
        consumer = None
        last_handled = last_commit = time.monotonic()
        handled: dict = {}  # partition -> next offset, handled but not yet committed
        while not self._stop.is_set():
            try:
                if consumer is None:
                    handled.clear()  # a new consumer starts from the committed offsets anyway
                    consumer = self._consumer()
                    self.fetch_wait_ms, self.fetch_min_bytes = BUSY_FETCH_WAIT_MS, 1
                batch = consumer.poll(timeout_ms=300)
                if consumer.assignment():
                    self.assigned.set()
                now = time.monotonic()
                for tp, records in batch.items():
                    if self._stop.is_set():
                        break
                    if not records:
                        continue
                    for record, names in zip(records, self._handle_records(records)):
                        for name in names:
                            failpoints.hit("consumer.after_effect", name, record.value)
                        if names:
                            last_handled = now
                    handled[tp] = records[-1].offset + 1
                # busy while it handles something; quiet after IDLE_AFTER_S of nothing to handle
                self._pace(consumer, busy=now - last_handled <= self.idle_after_s)
                # Offsets are committed when a poll comes back empty, else every COMMIT_EVERY_S:
                # each commit is a synchronous broker round trip, and under a trickle of events
                # committing after every poll cost a commit per event. A crash before the commit
                # only redelivers effects the inbox already holds.
                if handled and (not batch or now - last_commit >= COMMIT_EVERY_S or self._stop.is_set()):
                    _commit(consumer, handled)
                    last_commit = now
            except Exception as exc:
                log.warning("consumer %s: %s; reconnecting", self.group, exc)
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception:
                        pass
                consumer = None
                self._stop.wait(1.0)
        if consumer is not None:
            try:
                if handled:
                    _commit(consumer, handled)
                consumer.close(autocommit=False)
            except Exception:
                pass

    def _pace(self, consumer, *, busy: bool) -> None:
        """Busy: the broker holds an empty fetch BUSY_FETCH_WAIT_MS. Quiet: IDLE_FETCH_WAIT_MS, or
        until QUIET_FETCH_MIN_BYTES have arrived. kafka-python reads both settings from its
        fetcher's config at every fetch; it has no public setter, so a version without them keeps
        the busy pace (correct, only dearer when quiet)."""
        wait_ms, min_bytes = (BUSY_FETCH_WAIT_MS, 1) if busy else (IDLE_FETCH_WAIT_MS, QUIET_FETCH_MIN_BYTES)
        if (wait_ms, min_bytes) == (self.fetch_wait_ms, self.fetch_min_bytes):
            return
        config = getattr(getattr(consumer, "_fetcher", None), "config", None)
        if isinstance(config, dict) and "fetch_max_wait_ms" in config and "fetch_min_bytes" in config:
            config["fetch_max_wait_ms"], config["fetch_min_bytes"] = wait_ms, min_bytes
            self.fetch_wait_ms, self.fetch_min_bytes = wait_ms, min_bytes

    def _handle_records(self, records) -> list[list[str]]:
        """Hand one partition's records to every subscription of their topic, in one hop to the
        event loop; returns, for each record, the names of the subscriptions that handled it."""
        events: list[CloudEvent | None] = []
        for record in records:
            try:
                events.append(event_from_record(record.value, record.headers))  # either content mode of the binding
            except Exception as exc:
                # not a CloudEvent: nothing could ever handle it; keep it visible, don't block the partition
                log.error("undecodable record on %s@%s: %s", record.topic, record.offset, exc)
                events.append(None)
        topic = records[0].topic.removeprefix(self.topic_prefix)  # a partition's records share a topic
        work = []  # (subscription, positions of the records it handles)
        for sub in self.by_topic.get(topic, ()):
            mine = []
            for i, event in enumerate(events):
                if event is None:
                    continue
                if sub.handles(event.type):
                    mine.append(i)
                elif self.on_outcome:  # no hop to the event loop for events nobody handles
                    self.on_outcome(event.type, "ignored")
            if mine:
                work.append((sub, mine))
        names: list[list[str]] = [[] for _ in records]
        if not work:
            return names

        async def handle_all() -> list[list[str]]:
            return [await handle_events(self.db, sub, [events[i] for i in mine], topic=topic) for sub, mine in work]

        fut = asyncio.run_coroutine_threadsafe(handle_all(), self._loop)
        while True:
            try:
                outcomes = fut.result(timeout=1.0)
                break
            except TimeoutError:
                if self._stop.is_set() and self._loop.is_closed():
                    raise
        for (sub, mine), results in zip(work, outcomes):
            for i, result in zip(mine, results):
                names[i].append(sub.name)
                if self.on_outcome:
                    self.on_outcome(events[i].type, result)
        return names


def _commit(consumer, handled: dict) -> None:
    """Commit the next offset of every partition handled since the last commit, and forget them.

    A commit refused because the group is rebalancing (another replica joined or left) is given
    up, not retried and not a reason to close the consumer: closing sends LeaveGroup, and a member
    leaving while a rebalance is pending wedges the bundled broker's group for good
    (tests/faults/repro_tansu_group_wedge.py). The next poll takes part in the rebalance; the
    records are redelivered to whichever replica owns their partition, and the inbox drops the
    repeats."""
    from kafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError
    from kafka.structs import OffsetAndMetadata

    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in handled.items()})
    except (CommitFailedError, RebalanceInProgressError, IllegalGenerationError, UnknownMemberIdError) as exc:
        log.info("offsets not committed during a rebalance (%s); redelivered records are dropped by the inbox",
                 type(exc).__name__)
    handled.clear()
