"""The providers service's typed parts, kept on `ctx.runtime` by the start-up hook: its settings,
the candidate search (the in-memory index), the geocoder, the bed policy's versions and the
catalogue codes recently seen.
Routes take them through the `Runtime` dependency; consumers through `runtime_of(ctx)`."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends

from services.providers.geocoding import Geocoder, GeocodeResult
from services.providers.nearest.candidates import CandidateSearch
from services.providers.rules.beds import BedPolicy, policy_on
from services.providers.settings import ProvidersSettings
from shared.app import Ctx, ServiceContext
from shared.city import local_day

log = logging.getLogger("youfu.providers.api")


@dataclass
class ProvidersRuntime:
    settings: ProvidersSettings
    search: CandidateSearch
    geocoder: Geocoder
    bed_policies: tuple[BedPolicy, ...]  # every version of bed_policy.json, oldest first
    # standard item code → the monotonic instant until which it is trusted without a read (api/candidates.py)
    known_item_codes: dict[str, float] = field(default_factory=dict)

    def bed_policy(self, now: datetime) -> BedPolicy:
        """The bed policy version in force on `now`'s day (Asia/Shanghai)."""
        return policy_on(self.bed_policies, local_day(now))

    async def locate(self, lat: float | None, lon: float | None, address: str | None) -> GeocodeResult | None:
        """A point for a body that gave an address but neither coordinate (None otherwise, or when
        the address is not recognised: the use case then names the field to fix)."""
        if lat is not None or lon is not None or not address:
            return None
        return await self.geocoder.geocode(address)

    async def reindex(self, provider_id: uuid.UUID) -> None:
        """Show a committed change in this process's candidates at once. If that fails the change
        still stands (it is in the database) and the periodic re-read picks it up: log, don't fail."""
        try:
            await self.search.refresh_provider(provider_id)
        except Exception:
            log.exception("could not refresh provider %s in the candidate index", provider_id)


def runtime_of(ctx: ServiceContext) -> ProvidersRuntime:
    return ctx.runtime


async def get_runtime(ctx: Ctx) -> ProvidersRuntime:
    return runtime_of(ctx)


Runtime = Annotated[ProvidersRuntime, Depends(get_runtime)]
