"""CloudEvents 1.0 envelope and the registry of event types.

Each service declares its events as pydantic models with `@event_type(...)`; the registry
knows each type's topic and partition key, and `asyncapi.py` documents them all.
Consumers read other services' events as plain dicts (tolerant reader): they never import
another service's code.

On the broker, events follow the CloudEvents Kafka protocol binding: the outbox sends each in
structured mode (the JSON envelope as the value, `content-type: application/cloudevents+json`),
and `event_from_record` reads both modes, so a producer built on a CloudEvents SDK that sends in
binary mode (`ce_*` headers, the data alone as the value) is understood too.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.observability import current_request_id


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    requestid: str | None = None  # extension attribute: the request that caused it

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate_json(raw)


# The binding's structured mode: a reader that follows it (the Java SDK's deserializer, Knative)
# tells the modes apart by this header, and without it takes the record for binary mode.
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
STRUCTURED_HEADER: Final = ("content-type", STRUCTURED_CONTENT_TYPE.encode())
PARTITION_KEY: Final = "partitionkey"  # the binding's extension attribute naming the record key


def event_from_record(value: bytes | None, headers: list[tuple[str, bytes]] | None) -> CloudEvent:
    """The envelope of a Kafka record in either content mode of the binding.

    Structured: a `content-type` header starting `application/cloudevents`, or (records sent before
    the outbox set it) no CloudEvents header at all; the value is the JSON envelope. Binary: `ce_*`
    headers carry the attributes, `content-type` the data's media type (`datacontenttype`), and the
    value is the data alone, which must be JSON here (every handler reads a JSON object).
    Raises ValueError on a record that is neither."""
    content_type = None
    attributes: dict[str, Any] = {}
    for name, raw in headers or ():
        if raw is None:  # a header of no value says nothing
            continue
        lower = name.lower()
        if lower == "content-type":
            content_type = raw.decode()
        elif lower.startswith("ce_"):
            attributes[lower[3:]] = raw.decode()
    if (content_type is not None and content_type.lower().startswith("application/cloudevents")) or not attributes:
        return CloudEvent.from_json(value)
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise ValueError(f"binary-mode data of type {content_type!r} is not JSON")
        attributes["datacontenttype"] = content_type
    if value is None:
        raise ValueError("binary-mode record without data")
    return CloudEvent.model_validate({**attributes, "data": json.loads(value)})


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: str
    key_field: str  # the field of data whose value keys the record (keeps one aggregate in order)
    model: type[BaseModel]
    summary: str


REGISTRY: dict[str, EventSpec] = {}


def event_type(type_name: str, *, topic: str, key: str, summary: str = ""):
    """Class decorator registering a pydantic model as the data of an event type."""

    def register(model: type[BaseModel]) -> type[BaseModel]:
        if type_name in REGISTRY and REGISTRY[type_name].model is not model:
            raise ValueError(f"event type {type_name} registered twice")
        if key not in model.model_fields:
            raise ValueError(f"{model.__name__} has no key field {key!r}")
        REGISTRY[type_name] = EventSpec(type_name, topic, key, model, summary or (model.__doc__ or "").strip())
        model.__event_type__ = type_name  # type: ignore[attr-defined]
        return model

    return register


def make_event(data: BaseModel, *, source: str) -> CloudEvent:
    spec = REGISTRY[data.__event_type__]  # type: ignore[attr-defined]
    payload = json.loads(data.model_dump_json())
    return CloudEvent(
        source=source, type=spec.type, subject=str(payload[spec.key_field]), data=payload,
        requestid=current_request_id(),
    )


def make_events(model: type[BaseModel], items: list[dict[str, Any]], *, source: str) -> list[CloudEvent]:
    """`make_event` for many events of one type (`items`: the fields of each): validated and turned
    into JSON data in one call for all of them, the envelopes built without validating again. For
    bulk changes (a status list of 165,000 rows), where one `make_event` each costs seconds."""
    spec = REGISTRY[model.__event_type__]  # type: ignore[attr-defined]
    adapter = _LIST_ADAPTERS.get(model)
    if adapter is None:
        adapter = _LIST_ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    payloads = adapter.dump_python(adapter.validate_python(items), mode="json")
    request_id, now = current_request_id(), datetime.now(timezone.utc)
    return [CloudEvent.model_construct(specversion="1.0", id=str(uuid.uuid4()), source=source, type=spec.type,
                                       subject=str(data[spec.key_field]), time=now,
                                       datacontenttype="application/json", data=data, requestid=request_id)
            for data in payloads]


_LIST_ADAPTERS: dict[type, TypeAdapter] = {}


def topic_and_key(event: CloudEvent) -> tuple[str, str]:
    """The event's topic and record key: its `partitionkey` attribute when it has one (the binding's
    key mapping), else the registered key field of its data."""
    spec = REGISTRY.get(event.type)
    if spec is None:
        raise KeyError(f"unregistered event type {event.type}")
    partition_key = (event.model_extra or {}).get(PARTITION_KEY)
    return spec.topic, str(partition_key if partition_key is not None else event.data[spec.key_field])
