"""AsyncAPI 3.0 document of every topic and event type, generated from the registry.

Each message is a CloudEvent in the Kafka protocol binding's structured mode: the header and the
record key are documented on the message (`headers`, `bindings.kafka`); binary mode, which the
consumers accept too, is described in words (`_MODES`)."""
from __future__ import annotations

import importlib
from typing import Any

from shared.events import PARTITION_KEY, REGISTRY, STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.settings import SERVICES, TOPIC_PRODUCER, TOPICS


def load_all_event_modules() -> None:
    for service in SERVICES:
        importlib.import_module(f"services.{service}.events")


_MODES = (
    "Sent in the CloudEvents Kafka protocol binding's structured mode: the record value is the JSON "
    f"envelope and the `content-type` header is `{STRUCTURED_CONTENT_TYPE}`. Consumers also accept "
    "binary mode (attributes in `ce_*` headers such as `ce_specversion`, `ce_id`, `ce_type`, `ce_source`, "
    "`ce_subject`, `ce_time`; the data alone as the value, JSON, its media type in `content-type`) "
    "and records without the header whose value is the envelope."
)
_HEADERS = {
    "type": "object",
    "description": _MODES,
    "properties": {
        "content-type": {"type": "string", "const": STRUCTURED_CONTENT_TYPE,
                         "description": "The event format of a structured-mode record."},
    },
    "required": ["content-type"],
}


def asyncapi_document() -> dict[str, Any]:
    load_all_event_modules()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEvent": _envelope_schema(), "KafkaHeaders": _HEADERS}
    published = [s for s in REGISTRY.values() if s.topic in TOPICS.values()]
    for spec in sorted(published, key=lambda s: s.type):
        msg_name = spec.type.replace(".", "_")
        schema = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[spec.model.__name__] = schema
        messages[msg_name] = {
            "name": spec.type,
            "title": spec.type,
            "summary": spec.summary,
            "description": _MODES,
            "contentType": "application/cloudevents+json",
            "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"type": "object", "properties": {
                        "type": {"const": spec.type},
                        "data": {"$ref": f"#/components/schemas/{spec.model.__name__}"},
                    }},
                ]
            },
            "bindings": {"kafka": {"key": {
                "type": "string",
                "description": f"The event's `{PARTITION_KEY}` attribute when it has one, else data.{spec.key_field}",
            }, "bindingVersion": "0.5.0"}},
        }
        channel = channels.setdefault(spec.topic, {"address": spec.topic, "messages": {}})
        channel["messages"][msg_name] = {"$ref": f"#/components/messages/{msg_name}"}
    for topic in channels:
        operations[f"publish_{topic.replace('.', '_')}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"Published through the transactional outbox of the {TOPIC_PRODUCER[topic]} service",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Youfu events", "version": "1.0.0",
                 "description": "CloudEvents 1.0 JSON on Kafka (the CloudEvents Kafka protocol binding, "
                                "structured mode); one topic per producing service, and youfu.meals for the counters' meals."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _envelope_schema() -> dict[str, Any]:
    schema = CloudEvent.model_json_schema()
    schema.pop("title", None)
    return schema
