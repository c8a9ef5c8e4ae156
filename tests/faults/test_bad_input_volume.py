"""Issue 11, item 5: bad input at volume. schemathesis generates invalid requests (negative
generation: each case breaks the documented schema somewhere — a wrong type, a missing required
field, a string too long, a malformed path id, a missing or malformed bearer token) for every
operation of the gateway's merged OpenAPI document, signed in as an admin (past every role check,
so the input checks are what answers) and as a family member. Through the gateway, against a
platform of this module's own. The run happens once (module fixture); each test checks one
property of it:

- zero 5xx;
- every refusal is problem+json;
- no invalid write is accepted;
- no row is created by a rejected request: the row count of every table of every database is the
  same afterwards, except the tables that record attempts on purpose (ATTEMPT_TABLES, with the
  reason), and the platform still reconciles.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from urllib.parse import unquote

import httpx
import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.faults.harness import NAMES, delivery_report, eventually, ledger_check, login, reconcile, record_figures

pytestmark = pytest.mark.slow
EXAMPLES = {"admin": int(os.environ.get("YOUFU_FUZZ_EXAMPLES", "8")), "family": 3}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Tables whose rows record attempts or reads by design, so a refused or odd request may add to them:
ATTEMPT_TABLES: dict[str, str] = {
    # "admin: everything, every access logged" (docs/architecture.md): listing users is logged as an access, and the
    # log row is committed before the list is read, so a list that then fails still leaves its row
    "gateway.admin_actions": "the administrators' access log",
    # "every read of an unmasked value is written to an access log": a read with a malformed but
    # ignored query string still reads, and is logged
    "assessment.pii_access_log": "the access log of unmasked personal-data reads",
}


async def row_counts(p) -> dict[str, int]:
    import asyncpg

    out = {}
    for name in NAMES:
        conn = await asyncpg.connect(p.dsn(name))
        try:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                      "AND tablename NOT LIKE 'alembic%' ORDER BY tablename")
            for t in tables:
                out[f"{name}.{t['tablename']}"] = await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')
        finally:
            await conn.close()
    return out


def _content_type(r) -> str:
    value = r.headers.get("content-type") or r.headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value


def known_gateway_bug(method: str, path: str, query: dict | None) -> str | None:
    """The two 5xx causes reported from this test (gateway/), so a new kind of 5xx stands out."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in unquote(path)):
        return "gateway/proxy.py forward(): a decoded path with a control character → httpx.InvalidURL → 500"
    if method == "GET" and path in ("/api/admin/users", "/api/admin/actions"):
        return "gateway/api/auth.py: limit/offset without bounds → PostgreSQL refuses a negative LIMIT/OFFSET → 500"
    return None


@pytest.fixture(scope="module")
async def fuzz(fault_platform):
    import schemathesis
    from schemathesis import GenerationMode

    p = fault_platform
    tokens = {role: login(p, role)["Authorization"] for role in EXAMPLES}
    doc = httpx.get(f"{p.url}/openapi.json", timeout=30).json()
    assert not doc["info"].get("x-missing-services"), doc["info"]
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 50
    # quiet first: the seeding's events have all been handled
    await eventually(lambda: delivery_report(p), lambda r: not r["missing"] and not r["outbox_pending"], timeout_s=60,
                     what="a quiet platform")
    before = await row_counts(p)
    out = {"statuses": Counter(), "server_errors": [], "not_problem": [], "accepted_writes": [], "nothing_to_break": [],
           "operations": len(operations)}
    sessions = {role: requests.Session() for role in tokens}
    started = time.monotonic()
    for op in operations:
        for role, token in tokens.items():
            @settings(max_examples=EXAMPLES[role], deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
            def run(case):
                # (a case whose invalid part is the bearer token is sent without ours: schemathesis drops it)
                r = case.call(base_url=p.url, headers={**(case.headers or {}), "Authorization": token}, timeout=30,
                              session=sessions[role])
                out["statuses"][r.status_code] += 1
                where = f"{role} {case.method} {case.formatted_path} query={str(case.query)[:100]}"
                if r.status_code >= 500:
                    out["server_errors"].append((where, known_gateway_bug(case.method.upper(), case.formatted_path,
                                                                          case.query), r.text[:200]))
                elif r.status_code >= 400 and not _content_type(r).startswith("application/problem+json"):
                    out["not_problem"].append(f"{where} → {r.status_code} {_content_type(r)}")
                elif r.status_code < 400 and case.method.upper() in WRITE_METHODS:
                    out["accepted_writes"].append(f"{where} → {r.status_code} body={str(case.body)[:200]}")

            try:
                run()
            except Exception as exc:  # noqa: BLE001 - an operation with nothing that can be made invalid
                if "satisf" in f"{type(exc).__name__} {exc}".lower():
                    out["nothing_to_break"].append(f"{op.method.upper()} {op.path}")
                else:
                    raise
    out["fuzz_s"] = round(time.monotonic() - started, 1)
    for s in sessions.values():
        s.close()
    await eventually(lambda: delivery_report(p), lambda r: not r["missing"] and not r["outbox_pending"], timeout_s=60,
                     what="a quiet platform after the fuzzing")
    after = await row_counts(p)
    out["changed"] = {t: (before.get(t, 0), n) for t, n in after.items() if n != before.get(t, 0)}
    out["reconciled"] = await reconcile(p)
    out["ledger"] = await ledger_check(p)
    requests_sent = sum(out["statuses"].values())
    record_figures("bad_input_at_volume", {
        "operations": len(operations), "examples_per_operation": EXAMPLES, "requests": requests_sent,
        "by_status": {str(k): v for k, v in sorted(out["statuses"].items())},
        "server_errors": len(out["server_errors"]),
        "server_errors_by_cause": dict(Counter(cause or "unknown" for _, cause, _ in out["server_errors"])),
        "errors_not_problem_json": len(out["not_problem"]), "invalid_writes_accepted": len(out["accepted_writes"]),
        "operations_with_nothing_to_make_invalid": len(out["nothing_to_break"]), "tables_checked": len(after),
        "tables_changed": {t: f"{a} → {b}" for t, (a, b) in out["changed"].items()}, "fuzz_s": out["fuzz_s"],
        "requests_per_s": round(requests_sent / max(out["fuzz_s"], 0.1), 1),
        "ledger_transfers_checked": out["ledger"]["transfers_checked"], "orders_reconciled": out["reconciled"]["orders"]})
    return out


def test_no_invalid_request_gets_a_server_error(fuzz):
    assert fuzz["server_errors"] == [], "\n".join(f"{w} → {t}" for w, _, t in fuzz["server_errors"][:30])


def test_every_refusal_is_problem_json(fuzz):
    assert fuzz["not_problem"] == [], "\n".join(fuzz["not_problem"][:30])


def test_no_invalid_write_is_accepted(fuzz):
    assert fuzz["accepted_writes"] == [], "\n".join(fuzz["accepted_writes"][:30])


def test_no_row_is_created_by_a_rejected_request(fuzz):
    unexplained = {t: v for t, v in fuzz["changed"].items() if t not in ATTEMPT_TABLES}
    assert unexplained == {}, f"rows created by rejected requests (before, after): {unexplained}"
