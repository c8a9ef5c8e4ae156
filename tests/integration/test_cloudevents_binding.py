"""The CloudEvents Kafka protocol binding, checked with the CloudEvents Python SDK as an outside party.

Outbound: the real relay sends to the real broker, a plain kafka-python consumer reads the records,
and the SDK's structured-mode reader (`from_structured`) makes the same event of them. Inbound: a
record the SDK wrote in binary mode (`to_binary`) is handled once by our ConsumerRunner, and a
redelivery of it is a duplicate.
"""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from shared.events import STRUCTURED_CONTENT_TYPE, make_event
from shared.kernel_models import OutboxRow
from shared.outbox import add_event
from tests.integration.conftest import Effect, Pinged

pytestmark = pytest.mark.slow
both_handler_kinds = pytest.mark.parametrize("pair", ["orm", "fast"], indirect=True)


def read_records(bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list:
    """Blocking: the first `count` records of `topic`, read by a plain consumer of no group."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                             enable_auto_commit=False, client_id="outside-reader")
    records: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def test_relay_sends_structured_mode_that_the_sdk_reads(pair):
    plain = await pair.publish("plain")
    keyed = make_event(Pinged(thing_id="thing-9", value="keyed"), source="/youfu/kerneltest")
    keyed = keyed.model_copy(update={"partitionkey": "elder-7"})  # the binding's key extension
    async with pair.producer_db.transaction() as s:
        add_event(s, keyed)
        for obj in s.new:
            if isinstance(obj, OutboxRow):
                obj.topic = pair.topic
    records = await asyncio.to_thread(read_records, pair.bootstrap, pair.topic, 2)
    assert len(records) == 2
    by_id = {}
    for record in records:
        # what the Java SDK and Knative look at to pick the mode: the `content-type` header
        assert record.headers == [("content-type", STRUCTURED_CONTENT_TYPE.encode())]
        assert dict(record.headers)["content-type"].decode().lower().startswith("application/cloudevents")
        message = ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
        event = ce_kafka.from_structured(message, JSONFormat())
        by_id[event.get_id()] = (record, event)
    assert set(by_id) == {plain.id, keyed.id}

    record, event = by_id[plain.id]
    assert record.key == b"plain"  # the registered key field of the data
    assert (event.get_type(), event.get_source(), event.get_subject()) == (
        "youfu.kerneltest.pinged.v1", "/youfu/kerneltest", "plain")
    assert event.get_data() == {"thing_id": "plain", "value": "plain"}
    assert event.get_datacontenttype() == "application/json"
    assert event.get_time() == plain.time
    assert event.get_extension("partitionkey") == "plain"  # the SDK's reader adds the record key

    record, event = by_id[keyed.id]
    assert record.key == b"elder-7"  # the partitionkey attribute, not data.thing_id
    assert event.get_extension("partitionkey") == "elder-7"
    assert event.get_data() == {"thing_id": "thing-9", "value": "keyed"}

    # and our own consumer handled both, as before
    assert await pair.wait_for(lambda: _has_all(pair, ["plain", "keyed"]))


@both_handler_kinds
async def test_binary_mode_record_from_the_sdk_is_handled_once(pair):
    from kafka import KafkaProducer

    outside = SdkEvent({"type": "youfu.kerneltest.pinged.v1", "source": "/outside/sdk", "subject": "b-1",
                        "datacontenttype": "application/json", "requestid": "req-outside",
                        "partitionkey": "b-1"},
                       {"thing_id": "b-1", "value": "binary"})
    message = ce_kafka.to_binary(outside, JSONFormat())
    assert "ce_id" in message.headers and message.headers["content-type"] == b"application/json"
    key = message.key.encode() if isinstance(message.key, str) else message.key

    def send_twice() -> None:
        producer = KafkaProducer(bootstrap_servers=pair.bootstrap, client_id="outside-writer")
        try:
            for _ in range(2):  # the second one is a redelivery of the same event
                producer.send(pair.topic, key=key, value=message.value,
                              headers=list(message.headers.items())).get(10)
        finally:
            producer.close(timeout=5)

    await asyncio.to_thread(send_twice)
    await pair.publish("after")  # same broker, same consumer: once it is handled, the binary pair was too
    assert await pair.wait_for(lambda: _has_all(pair, ["binary", "after"]))
    await asyncio.sleep(0.5)
    async with pair.consumer_db.sessions() as s:
        rows = (await s.execute(sa.select(Effect.event_id, Effect.value).order_by(Effect.id))).all()
    binary_rows = [tuple(r) for r in rows if r.value == "binary"]
    assert binary_rows == [(outside.get_id(), "binary")]  # once, under the SDK's event id
    if pair.sub.fast_handlers:
        assert pair.committed.count("binary") == 1


async def _has_all(pair, values: list[str]) -> bool:
    return set(values) <= set(await pair.effects())


def test_every_record_shape_becomes_the_same_envelope():
    """Structured with the header, structured without it (records sent before the header), binary
    with and without `content-type`: one envelope each; a binary record of non-JSON data is refused."""
    from shared.events import STRUCTURED_HEADER, CloudEvent, event_from_record, topic_and_key

    ours = make_event(Pinged(thing_id=f"t-{uuid.uuid4().hex[:6]}", value="v"), source="/youfu/kerneltest")
    raw = ours.to_json().encode()
    assert event_from_record(raw, [STRUCTURED_HEADER]) == ours
    assert event_from_record(raw, []) == ours
    assert event_from_record(raw, None) == ours

    sdk = SdkEvent({"type": ours.type, "source": ours.source, "subject": ours.subject, "id": ours.id,
                    "time": ours.time, "datacontenttype": "application/json"}, ours.data)
    binary = ce_kafka.to_binary(sdk, JSONFormat())
    back = event_from_record(binary.value, list(binary.headers.items()))
    assert back.model_dump() == ours.model_dump()
    # `datacontenttype` absent: JSON by default
    headers = [(k, v) for k, v in binary.headers.items() if k != "content-type"]
    assert event_from_record(binary.value, headers).data == ours.data
    # header names are matched without regard to case
    assert event_from_record(binary.value, [(k.upper(), v) for k, v in binary.headers.items()]).id == ours.id
    with pytest.raises(ValueError):
        event_from_record(b"<xml/>", [(k, v) for k, v in headers] + [("content-type", b"application/xml")])
    # the binding's key mapping: partitionkey, when the event has it, keys the record
    assert topic_and_key(ours)[1] == ours.data["thing_id"]
    assert topic_and_key(ours.model_copy(update={"partitionkey": "p-1"}))[1] == "p-1"
    assert isinstance(back, CloudEvent)
