"""The orders service's own settings (env YOUFU_ORDERS_…), the only place it reads the environment
for itself. They live here, not in the kernel's `Settings`, because they mean nothing to the other
services."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class OrdersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOUFU_ORDERS_", extra="ignore")

    offer_timeout_s: int = 120  # how long a provider has to answer an offer
    dispatch_lead_h: float = 48  # an order placed further ahead waits until this long before its window
    checkin_limit_m: int = 200  # farther than this from the address: refused or an exception
    unmatched_retry_s: int = 300  # an order nobody took is offered again after this
    candidates_k: int = 10  # how many ranked candidates to ask providers for
    max_offers: int | None = None  # stop after this many offers per round of retries (None: all)
    dispatch_tick_s: float = 1.0  # the dispatcher looks at least this often
    dispatch_backoff_s: float = 10.0  # providers unreachable: look again after this
    dispatch_concurrency: int = 16  # orders advanced at once (each holds a database connection a moment)
    spawn_every_s: float = 60.0  # recurring orders and visit plans are checked this often
    spawn_lead_h: int = 24  # occurrences are placed this far ahead
    auto_plan_visits: bool = True  # plan this month's visits city-wide from the spawner
    visit_duration_min: int = 60
    item_cache_s: float = 30  # service items are re-read from providers after this
    # meals at the counter (issue 23): the HMAC key of the meal codes (a secret: YOUFU_ORDERS_MEAL_CODE_KEY,
    # else the file var/keys/meal_code.key; never in code), and how long a meal point's kind and
    # status from providers are trusted (a suspension reaches the counters within this)
    meal_code_key: str = ""
    meal_point_cache_s: float = 30
    # supervision at the door (issue 24): the confirmation codes' HMAC key (a secret:
    # YOUFU_ORDERS_DOOR_CODE_KEY; unset, a key derived from the meal-code secret), and the photos
    door_code_key: str = ""
    photo_max_bytes: int = 2 * 1024 * 1024  # the "at most 2 MB"
    photos_per_stage: int = 3  # at check-in, and again at check-out
    run_background: bool = True  # dispatcher and spawner tasks (tests may drive them by hand)
