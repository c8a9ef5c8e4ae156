"""schemathesis against the running gateway (all services up), signed in as every role:
no 5xx, every error is problem+json, every success matches its documented response schema."""
from __future__ import annotations

import httpx
import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.support.clients import access_tokens

pytestmark = pytest.mark.slow

# Examples per operation for each role: most for the roles whose requests get furthest (an admin
# passes every role check, a family member owns elders, a provider admin runs a provider), fewer
# for the roles most operations refuse at the door. 26 a operation, ~2,500 requests a run.
EXAMPLES = {"admin": 6, "family": 6, "provider_admin": 4, "city_officer": 2, "officer": 2, "assessor": 2,
            "caregiver": 2, "elder": 2, "operator": 2}
ROLES = tuple(EXAMPLES)


@pytest.fixture(scope="module")
def merged_schema(platform):
    import schemathesis

    doc = httpx.get(f"{platform.url}/openapi.json", timeout=30).json()
    assert not doc["info"].get("x-missing-services"), doc["info"]
    return schemathesis.openapi.from_dict(doc)


def test_no_server_errors_and_problem_json_for_every_operation(platform, merged_schema):
    from schemathesis.checks import response_schema_conformance

    auth = access_tokens(platform, ROLES)
    failures: list[str] = []
    operations = [op.ok() for op in merged_schema.get_all_operations()]
    assert len(operations) > 20
    with requests.Session() as session:  # one keep-alive connection, not one per request
        for op in operations:
            for role, token in auth.items():
                @settings(max_examples=EXAMPLES[role], deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy())
                def run(case):
                    headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                    r = case.call(base_url=platform.url, headers=headers, timeout=30, session=session)
                    if r.status_code < 400:
                        try:  # a success answer must match its documented schema
                            case.validate_response(r, checks=[response_schema_conformance])
                        except Exception as exc:  # noqa: BLE001 - collected, reported together
                            failures.append(f"{role} {case.method} {case.formatted_path} → schema: {str(exc)[:300]}")
                    if r.status_code >= 500:
                        failures.append(f"{role} {case.method} {case.formatted_path} → {r.status_code} {r.text[:200]}")
                    elif r.status_code >= 400 and not _content_type(r).startswith("application/problem+json"):
                        failures.append(f"{role} {case.method} {case.formatted_path} → {r.status_code} not problem+json")

                run()
    assert failures == [], "\n".join(failures[:30])


def _content_type(response) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value
