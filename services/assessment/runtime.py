"""The assessment service's typed parts, built once at start-up and kept on `ctx.runtime`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.assessment.settings import AssessmentSettings
from shared.app import Ctx, ServiceContext
from shared.errors import DomainError
from shared.http import ServiceClient
from shared.pii import PiiCipher

log = logging.getLogger("youfu.assessment")


@dataclass(frozen=True)
class AssessmentRuntime:
    settings: AssessmentSettings
    cipher: PiiCipher  # the ID card and phones, encrypted at rest and found by blind index
    source: str  # the events' CloudEvents source
    vouchers: ServiceClient | None = None  # the money at stake of a status list's dry run

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


def runtime_of(ctx: ServiceContext) -> AssessmentRuntime:
    return ctx.runtime


async def _runtime(ctx: Ctx) -> AssessmentRuntime:
    return ctx.runtime


Runtime = Annotated[AssessmentRuntime, Depends(_runtime)]
