from shared.asyncapi import asyncapi_document
from shared.events import REGISTRY, STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.settings import TOPICS


def test_asyncapi_documents_every_topic_and_event():
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == {"youfu.assessment", "youfu.providers", "youfu.orders", "youfu.vouchers", "youfu.meals"}
    # the counters' meals on their own topic (D67), published by orders
    assert set(doc["channels"]["youfu.meals"]["messages"]) == {"youfu_meal_redeemed_v1", "youfu_meal_undone_v1"}
    assert "orders service" in doc["operations"]["publish_youfu_meals"]["summary"]
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {t for t, spec in REGISTRY.items() if spec.topic in TOPICS.values()}
    for needed in ("youfu.order.completed.v1", "youfu.voucher.redeemed.v1", "youfu.assessment.completed.v1",
                   "youfu.elder.updated.v1", "youfu.provider.approved.v1", "youfu.order.reviewed.v1"):
        assert needed in names
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].split("/")[-1] in doc["components"]["messages"]


def test_asyncapi_messages_document_the_kafka_binding():
    doc = asyncapi_document()
    headers = doc["components"]["schemas"]["KafkaHeaders"]
    assert headers["properties"]["content-type"]["const"] == STRUCTURED_CONTENT_TYPE
    assert headers["required"] == ["content-type"]
    assert "binary mode" in headers["description"] and "ce_id" in headers["description"]
    for message in doc["components"]["messages"].values():
        assert message["contentType"] == "application/cloudevents+json"
        assert message["headers"] == {"$ref": "#/components/schemas/KafkaHeaders"}
        kafka = message["bindings"]["kafka"]
        assert kafka["bindingVersion"] == "0.5.0" and kafka["key"]["type"] == "string"
        assert "partitionkey" in kafka["key"]["description"]
    completed = doc["components"]["messages"]["youfu_order_completed_v1"]
    assert completed["bindings"]["kafka"]["key"]["description"].endswith(
        "data." + REGISTRY["youfu.order.completed.v1"].key_field)


def test_cloudevent_envelope_round_trips():
    e = CloudEvent(source="/youfu/test", type="youfu.x.v1", subject="s", data={"a": 1}, requestid="r1")
    back = CloudEvent.from_json(e.to_json())
    assert back == e and back.specversion == "1.0" and back.datacontenttype == "application/json"


def test_asyncapi_document_validates_against_the_official_asyncapi_3_schema():
    """Checked the way an outside client's tooling reads it: against the AsyncAPI Initiative's own
    JSON Schema for 3.0.0 (npm `@asyncapi/specs`, installed from the lock by `make test`)."""
    import json
    from pathlib import Path

    from jsonschema import Draft7Validator

    import services.assessment.events  # noqa: F401 - each registers its event types
    import services.orders.events  # noqa: F401
    import services.providers.events  # noqa: F401
    import services.vouchers.events  # noqa: F401

    path = Path(__file__).resolve().parents[2] / "node_modules/@asyncapi/specs/schemas/3.0.0-without-$id.json"
    assert path.exists(), f"{path} is missing: `make test` installs it (scripts/prerequisites.sh), or `npm ci`"
    validator = Draft7Validator(json.loads(path.read_text()))
    doc = json.loads(json.dumps(asyncapi_document(), default=str))
    errors = [f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    doc["channels"]["youfu.orders"]["address"] = 5  # and the validator does catch a broken document
    assert list(validator.iter_errors(doc))
