"""The vouchers service's typed parts, kept on `ctx.runtime` from start-up to shutdown."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from services.vouchers.rules.audit import AnomalyThresholds
from services.vouchers.settings import VouchersSettings
from shared.app import Ctx, ServiceContext
from shared.http import ServiceClient
from shared.storage import BlobStorage, storage_from_settings


@dataclass
class VouchersRuntime:
    settings: VouchersSettings
    anomaly_thresholds: AnomalyThresholds  # the city's tuning of the audit rules
    orphan_after: timedelta  # a hold nobody confirmed is checked this long after it was made
    orders: ServiceClient  # asked whether a hold's order exists (orphans.py)
    storage: BlobStorage  # complaint photos (shared/storage.py: var/blobs by default, S3 when configured)

    @classmethod
    def build(cls, ctx: ServiceContext, settings: VouchersSettings) -> VouchersRuntime:
        return cls(settings=settings, anomaly_thresholds=settings.anomaly, orphan_after=settings.orphan_after,
                   orders=ServiceClient(ctx.settings, "orders"), storage=storage_from_settings(ctx.settings))

    async def aclose(self) -> None:
        await self.orders.aclose()


def runtime_of(ctx: ServiceContext) -> VouchersRuntime:
    return ctx.runtime


async def get_runtime(ctx: Ctx) -> VouchersRuntime:
    return runtime_of(ctx)


Runtime = Annotated[VouchersRuntime, Depends(get_runtime)]
