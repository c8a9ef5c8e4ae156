"""What every schema module of the providers service shares: example ids and helpers."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ProviderKind = Literal["care_institution", "home_care_centre", "meal_point", "bathing_point", "mutual_aid_group",
                       "home_service_company"]
ProviderStatus = Literal["applied", "approved", "suspended", "rejected"]
VoucherKind = Literal["community", "mutual_aid", "institutional"]
Unit = Literal["per_visit", "per_hour", "per_meal", "per_month"]
DocumentKind = Literal["licence", "institution_filing", "food_permit", "insurance", "other"]
Gender = Literal["female", "male"]
CaregiverStatus = Literal["active", "on_leave", "inactive"]
CertificateLevel = Literal["level_5", "level_4", "level_3", "level_2", "level_1"]
Category = Literal["daily_living", "basic_nursing", "health", "visiting", "companionship", "errands",
                   "home_adaptation", "residential"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
