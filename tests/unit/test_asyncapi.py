from shared.asyncapi import asyncapi_document
from shared.events import REGISTRY, STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.settings import TOPICS


def test_asyncapi_documents_every_topic_and_event():
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == {"youfu.assessment", "youfu.providers", "youfu.orders", "youfu.vouchers"}
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
