"""Doubles of providers and vouchers for the care-plan tests of assessment: the standard catalogue
item, a provider's catalogue and kind, `/candidates` (every known provider covers the elder unless
told otherwise), and `POST /plan-budgets` (the voucher pays its kind's lines up to `cap_fen`).
`down` makes both answer 503."""
from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

STANDARD = {"clean": ["community"], "bath": ["community"], "rehab": ["community"], "visit": ["community", "mutual_aid"],
            "meal": ["community"], "home_adaptation": ["community"]}


class FakeProvidersAndVouchers:
    def __init__(self) -> None:
        self.providers: dict[str, dict] = {}  # id -> {kind, status, prices: {code: fen}, covers: bool}
        self.cap_fen = 1_000_000
        self.down = False
        self.budgets: list[dict] = []
        self.app = FastAPI()
        app = self.app

        def unavailable():
            return JSONResponse({"status": 503, "detail": "down"}, status_code=503)

        def missing():
            return JSONResponse({"status": 404, "detail": "没有"}, status_code=404,
                                media_type="application/problem+json")

        @app.get("/service-items/{code}")
        async def item(code: str):
            if self.down:
                return unavailable()
            if code not in STANDARD:
                return missing()
            return {"code": code, "name": code, "voucher_kinds": STANDARD[code]}

        @app.get("/providers/{provider_id}/catalogue")
        async def catalogue(provider_id: str):
            if self.down:
                return unavailable()
            p = self.providers.get(provider_id)
            if p is None:
                return missing()
            return [{"service_code": code, "price_fen": fen, "active": True, "voucher_kinds": STANDARD[code]}
                    for code, fen in p["prices"].items()]

        @app.get("/providers/{provider_id}")
        async def provider(provider_id: str):
            if self.down:
                return unavailable()
            p = self.providers.get(provider_id)
            return missing() if p is None else {"id": provider_id, "kind": p["kind"], "status": p["status"]}

        @app.get("/candidates")
        async def candidates(service_code: str, lat: float, lon: float):
            if self.down:
                return unavailable()
            found = [{"provider_id": pid, "provider_name": f"服务商{n}", "caregiver_id": str(uuid.uuid4()),
                      "distance_m": 500.0 * (n + 1), "price_fen": p["prices"][service_code], "rating": 4.5,
                      "voucher_kinds": STANDARD[service_code]}
                     for n, (pid, p) in enumerate(self.providers.items())
                     if p["covers"] and service_code in p["prices"]]
            return {"candidates": found}

        @app.post("/plan-budgets")
        async def plan_budget(request: Request):
            if self.down:
                return unavailable()
            body = await request.json()
            self.budgets.append(body)
            total = sum(line["unit_price_fen"] * line["occurrences"] for line in body["lines"])
            covered = sum(line["unit_price_fen"] * line["occurrences"] for line in body["lines"]
                          if line["voucher_kind"] != "self_pay")
            voucher = min(covered, self.cap_fen)
            occurrences = sum(line["occurrences"] for line in body["lines"])
            return {"month": body["month"], "occurrences": occurrences, "total_fen": total, "voucher_fen": voucher,
                    "self_fen": total - voucher, "over_budget": covered > self.cap_fen, "lines": body["lines"],
                    "summary_zh": f"每月计划 {occurrences} 次，约 {round(total / 100)} 元：代金券 {round(voucher / 100)} 元，"
                                  f"自付 {round((total - voucher) / 100)} 元"}

    def add_provider(self, *, kind: str = "home_care_centre", status: str = "approved", covers: bool = True,
                     prices: dict[str, int] | None = None) -> str:
        pid = str(uuid.uuid4())
        self.providers[pid] = {"kind": kind, "status": status, "covers": covers,
                               "prices": prices or {"clean": 4000, "bath": 8000, "rehab": 12000, "visit": 3000}}
        return pid
