"""CloudEvents 1.0 envelope and the registry of event types.

Each service declares its events as pydantic models with `@event_type(...)`; the registry
knows each type's topic and partition key, and `asyncapi.py` documents them all.
Consumers read other services' events as plain dicts (tolerant reader): they never import
another service's code.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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


def topic_and_key(event: CloudEvent) -> tuple[str, str]:
    spec = REGISTRY.get(event.type)
    if spec is None:
        raise KeyError(f"unregistered event type {event.type}")
    return spec.topic, str(event.data[spec.key_field])
