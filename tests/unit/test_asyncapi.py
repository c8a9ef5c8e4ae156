from shared.asyncapi import asyncapi_document
from shared.events import REGISTRY, CloudEvent
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


def test_cloudevent_envelope_round_trips():
    e = CloudEvent(source="/youfu/test", type="youfu.x.v1", subject="s", data={"a": 1}, requestid="r1")
    back = CloudEvent.from_json(e.to_json())
    assert back == e and back.specversion == "1.0" and back.datacontenttype == "application/json"
