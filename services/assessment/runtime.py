"""The assessment service's typed parts, built once at start-up and kept on `ctx.runtime`."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from services.assessment.settings import AssessmentSettings
from shared.app import Ctx, ServiceContext
from shared.errors import DomainError, NotFound, ServiceUnavailable, invalid_field
from shared.http import ServiceClient
from shared.pii import PiiCipher

log = logging.getLogger("youfu.assessment")


@dataclass(frozen=True)
class AssessmentRuntime:
    settings: AssessmentSettings
    cipher: PiiCipher  # the ID card and phones, encrypted at rest and found by blind index
    source: str  # the events' CloudEvents source
    vouchers: ServiceClient | None = None  # the money at stake of a status list's dry run; plan budgets
    providers: ServiceClient | None = None  # care plans: the catalogue, providers' coverage and kind
    known_items: dict[str, tuple[float, dict]] = field(default_factory=dict)  # code -> (expiry, item)

    @property
    def reassessment_months(self) -> int:
        return self.settings.reassessment_months

    async def recovery_estimates(self, elders: list[dict]) -> dict[str, int] | None:
        """Voucher money captured since each date, by elder id (`POST /recovery-estimates`); None when
        vouchers cannot be asked: the dry run still answers, without the money."""
        if not elders:
            return {}
        if self.vouchers is None:
            return None
        try:
            answer = await self.vouchers.post("/recovery-estimates", json={"elders": elders})
        except DomainError as exc:
            log.warning("recovery estimates unavailable: %s", exc.detail)
            return None
        return {str(e["elder_id"]): int(e["amount_fen"]) for e in (answer or {}).get("elders", [])}


    def _client(self, name: str) -> ServiceClient:
        client = self.providers if name == "providers" else self.vouchers
        if client is None:
            raise ServiceUnavailable(f"{'服务商' if name == 'providers' else '服务券'}服务暂时无法访问，请稍后再试",
                                     service=name)
        return client

    async def service_item(self, code: str, *, field_name: str) -> dict:
        """The standard catalogue item (`GET /service-items/{code}`), remembered a minute; an
        unknown code is a 422 on `field_name`."""
        cached = self.known_items.get(code)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            item = await self._client("providers").get(f"/service-items/{code}")
        except NotFound:
            raise invalid_field(field_name, "服务目录中没有这个服务项目",
                                f"服务目录中没有「{code}」，请从目录中选择服务") from None
        self.known_items[code] = (time.monotonic() + 60.0, item)
        return item

    async def provider_catalogue(self, provider_id: str) -> list[dict] | None:
        """The provider's active catalogue items; None for a provider providers does not know."""
        try:
            return await self._client("providers").get(f"/providers/{provider_id}/catalogue")
        except NotFound:
            return None

    async def provider(self, provider_id: str) -> dict | None:
        try:
            return await self._client("providers").get(f"/providers/{provider_id}")
        except NotFound:
            return None

    async def candidates(self, *, service_code: str, lat: float, lon: float, street: str | None,
                         voucher_kind: str | None) -> list[dict]:
        """The nearest qualified caregivers for the item at the elder's home, best first (the search
        dispatch uses)."""
        params: dict = {"service_code": service_code, "lat": lat, "lon": lon, "k": 50}
        if street:
            params["street"] = street
        if voucher_kind and voucher_kind != "self_pay":
            params["voucher_kind"] = voucher_kind
        found = await self._client("providers").get("/candidates", params=params)
        return list((found or {}).get("candidates") or [])

    async def plan_budget(self, body: dict) -> dict:
        """The month of a plan priced by vouchers (`POST /plan-budgets`); 503 when vouchers cannot answer."""
        return await self._client("vouchers").post("/plan-budgets", json=body)


def runtime_of(ctx: ServiceContext) -> AssessmentRuntime:
    return ctx.runtime


async def _runtime(ctx: Ctx) -> AssessmentRuntime:
    return ctx.runtime


Runtime = Annotated[AssessmentRuntime, Depends(_runtime)]
