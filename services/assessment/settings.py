"""The assessment service's own settings (env prefix YOUFU_ASSESSMENT_); the kernel's `Settings`
holds what every service shares."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.assessment.rules.hardship import DEFAULT_REASSESSMENT_MONTHS


class AssessmentSettings(BaseSettings):
    # an empty variable means "not set", as it always has for the reassessment period
    model_config = SettingsConfigDict(env_prefix="YOUFU_ASSESSMENT_", extra="ignore", env_ignore_empty=True)

    # YOUFU_ASSESSMENT_REASSESSMENT_MONTHS: the months after finalisation when a reassessment
    # falls due (docs/domain.md's policy default: 6)
    reassessment_months: int = Field(DEFAULT_REASSESSMENT_MONTHS, ge=1)
