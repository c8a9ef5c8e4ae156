"""Geocoding end to end: `GET /geocode` on the offline gazetteer, the Baidu path (its BD-09
answer comes back as WGS-84) and its fallback to the gazetteer, and provider applications and
caregivers located from their address. Real HTTP, a real database.

The only stand-in is `FakeBaidu`: it takes the place of Baidu Maps, which is outside this
machine. It sits where geopy's BaiduV3 would (same call, a geopy `Location` answer), so the
service's own thread hand-off, timeout, datum conversion and fallback all run for real."""
from __future__ import annotations

import time

import httpx
import pytest
from geopy.distance import geodesic
from geopy.exc import GeocoderQuotaExceeded
from geopy.location import Location

from services.providers.geocoding import Geocoder, bd09_to_wgs84
from tests.integration.providers_harness import HAILING, application, approved_provider, clock_reset, new_spot, providers

__all__ = ["providers", "clock_reset"]  # module fixtures, imported for pytest
NOT_RECOGNISED = "无法识别这个地址，请在地图上选点或填写经纬度"
BD09_DOOR = (32.4966, 119.9480)  # a door in 海陵区 as Baidu's map gives it (BD-09)


class FakeBaidu:
    """Answers like geopy's BaiduV3.geocode: a Location whose point is BD-09, or None; or raises."""

    def __init__(self, point=BD09_DOOR, level: str = "门址", error: Exception | None = None, delay_s: float = 0):
        self.point, self.level, self.error, self.delay_s = point, level, error, delay_s
        self.calls: list[tuple[str, float]] = []

    def geocode(self, query, *, exactly_one=True, timeout=None):
        self.calls.append((query, timeout))
        time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        if self.point is None:
            return None
        lat, lng = self.point
        raw = {"location": {"lng": lng, "lat": lat}, "precise": 1, "confidence": 80, "comprehension": 100,
               "level": self.level}
        return Location(self.level, (lat, lng), raw)


@pytest.fixture
def map_provider(providers):
    """Put a fake Baidu in front of the service's gazetteer for one test; restore the offline one."""
    runtime = providers.app.state.ctx.runtime
    offline = runtime.geocoder

    def use(fake: FakeBaidu, timeout_s: float = 2.0) -> FakeBaidu:
        runtime.geocoder = Geocoder(offline.gazetteer, fake, timeout_s=timeout_s)
        return fake

    yield use
    runtime.geocoder = offline


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


async def test_geocode_answers_from_the_gazetteer_for_staff_who_record_addresses(providers):
    for role in ("elder", "family", "caregiver"):  # a map provider's quota is not for everyone
        async with providers.client(role) as other:
            assert problem(await other.get("/geocode", params={"address": "海陵区"}), 403)
    async with providers.client("assessor") as elder:
        r = await elder.get("/geocode", params={"address": "泰州市海陵区城东街道东进东路 18 号"})
        assert r.status_code == 200, r.text
        assert r.json() == {"lat": 32.49, "lon": 119.941, "precision": "street", "matched": "城东街道",
                            "source": "gazetteer"}
        r = await elder.get("/geocode", params={"address": "靖江市人民南路 1 号"})
        assert r.json() == {"lat": 32.02, "lon": 120.27, "precision": "district", "matched": "靖江市",
                            "source": "gazetteer"}
        missing = problem(await elder.get("/geocode", params={"address": "北京市朝阳区建国路"}), 404)
        assert missing["detail"] == NOT_RECOGNISED
        assert (await elder.get("/geocode", params={"address": "x" * 301})).status_code == 422
    async with httpx.AsyncClient(base_url=providers.url) as anonymous:
        assert (await anonymous.get("/geocode", params={"address": "海陵区"})).status_code == 401


async def test_baidu_answer_is_converted_to_wgs84_and_failures_fall_back_to_the_gazetteer(providers, map_provider):
    address = "海陵区城东街道东进东路 18 号"
    fake = map_provider(FakeBaidu())
    async with providers.client("provider_admin") as caregiver:
        r = await caregiver.get("/geocode", params={"address": address})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert fake.calls == [("泰州市" + address, 2.0)]  # the city prefixed, the timeout passed on
        assert (answer["source"], answer["precision"], answer["matched"]) == ("baidu", "address", "泰州市" + address)
        wgs = bd09_to_wgs84(*BD09_DOOR)
        assert (answer["lat"], answer["lon"]) == pytest.approx(wgs, abs=1e-6)
        assert 900 < geodesic(BD09_DOOR, wgs).m < 1_300  # the conversion really moved it (~1 km here)

        for failing in (FakeBaidu(error=GeocoderQuotaExceeded("Quota validate failure.")),
                        FakeBaidu(point=None),  # Baidu knows nothing
                        FakeBaidu(level="城市"),  # only the city: too coarse to place anyone
                        FakeBaidu(point=(39.92, 116.41)),  # another city
                        FakeBaidu(delay_s=1.0)):  # too slow
            map_provider(failing, timeout_s=0.2)
            r = await caregiver.get("/geocode", params={"address": address})
            assert r.status_code == 200, r.text
            assert r.json() == {"lat": 32.49, "lon": 119.941, "precision": "street", "matched": "城东街道",
                                "source": "gazetteer"}
            assert len(failing.calls) == 1
        map_provider(FakeBaidu(error=GeocoderQuotaExceeded("Quota validate failure.")))
        assert problem(await caregiver.get("/geocode", params={"address": "北京市朝阳区"}), 404)["detail"] == NOT_RECOGNISED


async def test_application_and_caregiver_without_coordinates_are_located_from_the_address(providers, map_provider):
    body = application(at=new_spot(), address="泰州市海陵区城北街道鼓楼北路 9 号")
    del body["lat"], body["lon"]
    async with providers.client("officer", district=HAILING) as officer:
        r = await officer.post("/providers", json=body, headers={"Idempotency-Key": "geo-1"})
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["lat"], made["lon"]) == (32.508, 119.92)
        assert made["geocoded"] == {"lat": 32.508, "lon": 119.92, "precision": "street", "matched": "城北街道",
                                    "source": "gazetteer"}
        replay = await officer.post("/providers", json=body, headers={"Idempotency-Key": "geo-1"})
        assert replay.status_code == 201 and replay.json()["id"] == made["id"]
        stored = (await officer.get(f"/providers/{made['id']}")).json()
        assert (stored["lat"], stored["lon"]) == (32.508, 119.92) and stored["geocoded"] is None

        spot = new_spot()
        given = (await officer.post("/providers", json=application(at=spot))).json()  # an address 城中街道 too
        assert (given["lat"], given["lon"], given["geocoded"]) == (*spot, None)  # coordinates given: kept as they are

        unknown = application(at=new_spot(), address="某省某市某路 1 号", credit_code="bad")
        del unknown["lat"], unknown["lon"]
        refused = problem(await officer.post("/providers", json=unknown), 422)
        fields = {e["field"]: e["reason"] for e in refused["errors"]}
        assert fields["address"] == NOT_RECOGNISED and "credit_code" in fields  # every problem at once

    provider_id = await approved_provider(providers, at=new_spot())
    fake = map_provider(FakeBaidu())
    async with providers.client("provider_admin", provider_id=provider_id) as own:
        r = await own.post(f"/providers/{provider_id}/caregivers", json={
            "name": "刘秀英", "gender": "female", "skills": ["meal"], "base_address": "海陵区城东街道某小区"})
        assert r.status_code == 201, r.text
        carer = r.json()
        wgs = bd09_to_wgs84(*BD09_DOOR)
        assert (carer["base_lat"], carer["base_lon"]) == pytest.approx(wgs, abs=1e-6)
        assert carer["geocoded"]["source"] == "baidu" and len(fake.calls) == 1
        assert (await own.get(f"/caregivers/{carer['id']}")).json()["base_lat"] == carer["base_lat"]

        map_provider(FakeBaidu(point=None))
        bad = problem(await own.post(f"/providers/{provider_id}/caregivers", json={
            "name": "王芳", "gender": "female", "skills": ["meal"], "base_address": "不知道哪里"}), 422)
        assert {e["field"]: e["reason"] for e in bad["errors"]} == {"base_address": NOT_RECOGNISED}
        none = problem(await own.post(f"/providers/{provider_id}/caregivers", json={
            "name": "王芳", "gender": "female", "skills": ["meal"]}), 422)
        assert none["errors"] == [{"field": "base_lat", "reason": "请填写经纬度，或填写能识别的地址"}]
