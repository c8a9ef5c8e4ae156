"""The assessment service's typed parts, built once at start-up and kept on `ctx.runtime`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.assessment.settings import AssessmentSettings
from shared.app import Ctx, ServiceContext
from shared.pii import PiiCipher


@dataclass(frozen=True)
class AssessmentRuntime:
    settings: AssessmentSettings
    cipher: PiiCipher  # the ID card and phones, encrypted at rest and found by blind index
    source: str  # the events' CloudEvents source

    @property
    def reassessment_months(self) -> int:
        return self.settings.reassessment_months


def runtime_of(ctx: ServiceContext) -> AssessmentRuntime:
    return ctx.runtime


async def _runtime(ctx: Ctx) -> AssessmentRuntime:
    return ctx.runtime


Runtime = Annotated[AssessmentRuntime, Depends(_runtime)]
