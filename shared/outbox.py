"""Transactional outbox and its relay.

`add_event` writes the event row in the caller's transaction. The relay (one task per
service process) sends pending rows in `seq` order through one shared KafkaProducer
(idempotent, acks=all) off the event loop, and marks each row sent on acknowledgement. Each
record is a CloudEvent in the Kafka binding's structured mode: the JSON envelope as the value,
the `content-type: application/cloudevents+json` header, the partition key as the record key.

The bundled broker keeps nothing across a restart. The relay notices a reset by the
cluster id the broker reports (the launcher gives every broker start a fresh id), and then
marks the rows sent within the retention period as pending again: consumers dedupe by event
id, so sending twice is safe; losing an event is not.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, insert_rows, is_sqlite, utcnow
from shared.events import STRUCTURED_HEADER, CloudEvent, topic_and_key
from shared.fast_sql import Query, fast_reads, fast_transaction
from shared.kernel_models import OutboxRow

log = logging.getLogger("youfu.outbox")


def _claim(skip_locked: bool) -> sa.Update:
    """Mark the oldest pending rows sent and return them, in one statement (see `relay_once`)."""
    oldest = (sa.select(OutboxRow.seq).where(OutboxRow.sent_at.is_(None)).order_by(OutboxRow.seq)
              .limit(sa.bindparam("batch", type_=sa.Integer)))
    if skip_locked:
        oldest = oldest.with_for_update(skip_locked=True)  # several replicas share one outbox
    return (sa.update(OutboxRow).where(OutboxRow.seq.in_(oldest.scalar_subquery()))
            .values(sent_at=sa.bindparam("now"))
            .returning(OutboxRow.seq, OutboxRow.topic, OutboxRow.key, OutboxRow.payload))


_CLAIM = Query(_claim(skip_locked=True), sqlite=_claim(skip_locked=False))
_UNCLAIM = Query(sa.update(OutboxRow).where(OutboxRow.seq == sa.bindparam("outbox_seq"))
                 .values(sent_at=sa.null(), attempts=OutboxRow.attempts + 1))


def add_event(session: AsyncSession, event: CloudEvent) -> None:
    """Queue `event` in the current transaction; it is sent only if the transaction commits."""
    topic, key = topic_and_key(event)
    session.add(OutboxRow(event_id=event.id, topic=topic, key=key, type=event.type,
                          payload=event.to_json(), created_at=utcnow()))
    session.info["outbox_dirty"] = True


async def add_events(session: AsyncSession, events: list[CloudEvent]) -> None:
    """`add_event` for many events at once: the rows go in with one COPY (`shared.db.insert_rows`)
    instead of an ORM object each, for bulk changes such as applying a status list of 165,000 rows."""
    if not events:
        return
    created_at = utcnow()
    rows = []
    for event in events:
        topic, key = topic_and_key(event)
        rows.append({"event_id": event.id, "topic": topic, "key": key, "type": event.type,
                     "payload": event.to_json(), "created_at": created_at, "attempts": 0})
    await insert_rows(session, OutboxRow.__table__, rows)
    session.info["outbox_dirty"] = True


class KafkaLink:
    """The process's one KafkaProducer, created lazily so a broker that is down at start
    delays events instead of failing the service."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._producer = None
        self._lock = threading.Lock()

    def producer(self):
        from kafka import KafkaProducer

        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap, client_id=self.client_id,
                    enable_idempotence=True, acks="all", linger_ms=2,
                    max_block_ms=3000, request_timeout_ms=5000, delivery_timeout_ms=10000,
                    retry_backoff_ms=100, reconnect_backoff_max_ms=1000,
                )
            return self._producer

    def cluster_id(self) -> str | None:
        p = self._producer
        return None if p is None else p._metadata.cluster_id  # noqa: SLF001 - no public accessor

    def probe_cluster_id(self, timeout_s: float = 2.0) -> str | None:
        """Blocking: ask the broker for fresh metadata and return its cluster id (None if down).
        kafka-python refreshes metadata only every few minutes when idle; a reset broker
        must be noticed within seconds."""
        try:
            producer = self.producer()
            fut = producer._metadata.request_update()  # noqa: SLF001
            producer._sender.wakeup()  # noqa: SLF001
            deadline = time.monotonic() + timeout_s
            while not fut.is_done and time.monotonic() < deadline:
                time.sleep(0.02)
        except Exception:
            pass
        return self.cluster_id()

    def send_batch(self, rows: list[tuple[str, str, str]]) -> list[bool]:
        """Blocking: send (topic, key, payload) rows, wait for acks, report success per row."""
        producer = self.producer()
        futures = []
        for topic, key, payload in rows:
            try:
                # a fresh one-item list each time (kafka-python takes a list only), of a constant header
                futures.append(producer.send(topic, key=key.encode(), value=payload.encode(),
                                             headers=[STRUCTURED_HEADER]))
            except Exception as exc:  # metadata timeout: broker unreachable
                log.warning("send failed: %s", exc)
                futures.append(None)
        producer.flush(timeout=10)
        results = []
        for fut in futures:
            try:
                results.append(fut is not None and fut.get(timeout=0) is not None)
            except Exception:
                results.append(False)
        return results

    def reset(self) -> None:
        with self._lock:
            if self._producer is not None:
                try:
                    self._producer.close(timeout=1)
                except Exception:
                    pass
                self._producer = None

    def close(self) -> None:
        self.reset()


class OutboxRelay:
    def __init__(self, db: Database, link: KafkaLink | None, *, poll_s: float = 1.0, linger_s: float = 0.0,
                 retention_s: int = 86400, batch: int = 500, on_sent=None, topic_prefix: str = "",
                 tidy_after_rows: int = 5000) -> None:
        self.db = db
        self.link = link
        self.poll_s = poll_s
        self.linger_s = linger_s
        self.retention = timedelta(seconds=retention_s)
        self.batch = batch
        self.on_sent = on_sent
        self.topic_prefix = topic_prefix
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._known_cluster: str | None = None
        self.backoff_s = 0.0
        self.probe_interval_s = 2.0
        # the outbox is a queue: every row sent leaves a dead version behind. The relay vacuums it
        # after this many rows (D74), so neither the claim nor the planner's estimate depends on
        # autovacuum having come by (it may be late under load, or off, as on the CI machine)
        self.tidy_after_rows = tidy_after_rows
        self._sent_since_tidy = 0

    def start(self) -> None:
        if self.link is not None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self.db.outbox_wakeup.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self.link:
            await asyncio.to_thread(self.link.close)

    async def _run(self) -> None:
        last_cleanup = last_probe = utcnow()
        while not self._stopping:
            try:
                await asyncio.wait_for(self.db.outbox_wakeup.wait(), timeout=self.poll_s + self.backoff_s)
            except asyncio.TimeoutError:
                pass
            self.db.outbox_wakeup.clear()
            if self._stopping:
                break
            try:
                # again at once only after a full batch: a partial one took every row committed
                # before its SELECT, and a commit after it has set the wake-up again. (Looping
                # until a pass found nothing cost an empty transaction per wake-up, and under a
                # trickle of orders there is a wake-up per event.)
                sent = await self.relay_once()
                self._sent_since_tidy += sent
                while sent >= self.batch and not self._stopping:
                    sent = await self.relay_once()
                    self._sent_since_tidy += sent
                self.backoff_s = 0.0
                if self._sent_since_tidy >= self.tidy_after_rows:
                    self._sent_since_tidy = 0
                    await self.tidy()
                if sent > 1 and self.linger_s and not self._stopping:
                    # busy (commits came faster than passes): let the next ones gather (measured,
                    # bench/meals.py: a pass per meal was a claim, a commit and a produce request
                    # each). A pass of one row is a trickle: the next event goes at once
                    # (bench/settle_latency.py: lingering after every pass doubled its median)
                    await asyncio.sleep(self.linger_s)
            except Exception as exc:
                self.backoff_s = min(5.0, self.backoff_s * 2 or 0.5)
                log.warning("outbox relay: %s (retrying in %.1fs)", exc, self.backoff_s)
                await asyncio.to_thread(self.link.reset)
            if utcnow() - last_probe > timedelta(seconds=self.probe_interval_s):
                last_probe = utcnow()
                try:
                    await asyncio.to_thread(self.link.probe_cluster_id)
                    await self._check_broker_reset()
                except Exception as exc:
                    log.debug("broker probe: %s", exc)
            if utcnow() - last_cleanup > timedelta(minutes=5):
                await self.delete_expired()
                last_cleanup = utcnow()
        # a last pass so a clean shutdown leaves nothing that could have gone
        try:
            await asyncio.wait_for(self.relay_once(), timeout=5)
        except Exception:
            pass

    async def relay_once(self) -> int:
        """Send one batch of pending rows; returns how many were sent (0: nothing to do).

        The rows are claimed and marked sent in one statement (UPDATE … WHERE seq IN (the oldest
        pending, skipping rows another replica holds) RETURNING), the batch is sent, and only then
        does the transaction commit: if the broker does not take them, the rows a failure touched
        are marked pending again (or an exception rolls the mark back). One round trip fewer than
        SELECT … FOR UPDATE and then UPDATE, on every pass, in every service."""
        await self._check_broker_reset()
        async with fast_transaction(self.db) as tx:
            claimed = await tx.rows(_CLAIM, batch=self.batch, now=utcnow())
            if not claimed:
                return 0
            rows = sorted(claimed, key=lambda r: r["seq"])  # RETURNING promises no order
            ok = await asyncio.to_thread(self.link.send_batch,
                                         [(self.topic_prefix + r["topic"], r["key"], r["payload"]) for r in rows])
            # within one key, stop at the first failure so that key's order is kept
            failed_keys: set[str] = set()
            sent: list[int] = []
            for row, good in zip(rows, ok):
                if good and row["key"] not in failed_keys:
                    sent.append(row["seq"])
                else:
                    failed_keys.add(row["key"])
            for row in rows:
                if row["seq"] not in set(sent):  # rare (a broker that failed some): one by one
                    await tx.run(_UNCLAIM, outbox_seq=row["seq"])
        await self._check_broker_reset()
        if self.on_sent and sent:
            self.on_sent(len(sent))
        if failed_keys:
            raise ConnectionError(f"{len(rows) - len(sent)} of {len(rows)} events not acknowledged")
        return len(sent)

    async def _check_broker_reset(self) -> None:
        cluster = self.link.cluster_id() if self.link else None
        if cluster is None:
            return
        if self._known_cluster is None:
            self._known_cluster = cluster
        elif cluster != self._known_cluster:
            log.warning("broker reset detected (cluster %s -> %s): re-sending retained events",
                        self._known_cluster, cluster)
            self._known_cluster = cluster
            await self.resend_retained()

    async def resend_retained(self) -> int:
        async with self.db.transaction() as s:
            res = await s.execute(sa.update(OutboxRow).where(
                OutboxRow.sent_at.is_not(None), OutboxRow.sent_at > utcnow() - self.retention).values(sent_at=None))
            s.info["outbox_dirty"] = True
            return res.rowcount or 0

    async def tidy(self) -> None:
        """Vacuum and analyze the outbox (PostgreSQL; outside a transaction, as VACUUM must be).
        The claim then reads its partial index of unsent rows without stepping over the entries of
        rows sent since, and the planner keeps choosing that index. Best effort: a failure is logged."""
        if is_sqlite(self.db.url):
            return
        try:
            async with fast_reads(self.db) as outside:  # autocommit: VACUUM refuses a transaction
                await outside.driver.execute("VACUUM (ANALYZE, SKIP_LOCKED) outbox")
        except Exception as exc:  # noqa: BLE001 - the queue works without it, only slower
            log.warning("outbox vacuum: %s", exc)

    async def delete_expired(self) -> None:
        async with self.db.transaction() as s:
            await s.execute(sa.delete(OutboxRow).where(OutboxRow.sent_at < utcnow() - self.retention))

    async def pending_count(self) -> int:
        async with self.db.sessions() as s:
            return (await s.execute(sa.select(sa.func.count()).select_from(OutboxRow)
                                    .where(OutboxRow.sent_at.is_(None)))).scalar_one()
