"""The providers service's own settings (prefix YOUFU_PROVIDERS_): ranking weights, how often
the search index is rebuilt from the database, and which geocoder reads addresses.

They live here rather than in the kernel's `Settings`, which knows nothing domain-specific; the
bureau tunes the weights through the environment without a release."""
from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.providers.nearest.rules.ranking import ScoreWeights


class ProvidersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOUFU_PROVIDERS_", extra="ignore")

    weight_distance: float = 0.5
    weight_rating: float = 0.2
    weight_load: float = 0.15
    weight_continuity: float = 0.15
    distance_half_m: float = 2_000.0
    rating_prior: float = 4.0
    rating_prior_count: int = 5
    # Each replica keeps its own index current with its own writes and the events it consumes,
    # and this often re-reads from the database what other replicas wrote and the events they
    # consumed (everything, on the first look of a new day). 0: only at start-up. 2 s: a provider
    # suspended through one replica is offered by no other more than ~2 s later (issue 27 asks
    # ≤ 5 s; docs/decisions.md D62).
    index_refresh_s: float = 2.0
    # The nearest this many qualified caregivers are scored; the best k of them are answered.
    candidate_pool: int = 30
    # Addresses → points: "offline" (the built-in gazetteer of districts and streets, no network)
    # or "baidu" (Baidu Maps through geopy's BaiduV3, used only when baidu_ak is set; the gazetteer
    # answers when Baidu fails or knows nothing). Baidu's seconds per call: geocode_timeout_s.
    geocoder: Literal["offline", "baidu"] = "offline"
    baidu_ak: SecretStr | None = None
    geocode_timeout_s: float = 3.0

    def weights(self) -> ScoreWeights:
        return ScoreWeights(distance=self.weight_distance, rating=self.weight_rating, load=self.weight_load,
                            continuity=self.weight_continuity, distance_half_m=self.distance_half_m,
                            rating_prior=self.rating_prior, rating_prior_count=self.rating_prior_count)
