"""Request and response models of the orders service, one module per flow (`orders`, `stays`, `meals`,
`reports`, `alarms`; `_common` holds the example ids and the Shanghai-time type): past ~400 lines the
room became a package. Money is integer fen; times are answered in Asia/Shanghai (+08:00); a time
sent without an offset is read as Asia/Shanghai. The models the routes use are re-exported here."""
from __future__ import annotations

from services.orders.schemas.alarms import (
    AlarmCloseIn as AlarmCloseIn,
)
from services.orders.schemas.alarms import (
    AlarmDeviceIn as AlarmDeviceIn,
)
from services.orders.schemas.alarms import (
    AlarmDeviceOut as AlarmDeviceOut,
)
from services.orders.schemas.alarms import (
    AlarmIn as AlarmIn,
)
from services.orders.schemas.alarms import (
    AlarmOrderIn as AlarmOrderIn,
)
from services.orders.schemas.alarms import (
    AlarmOut as AlarmOut,
)
from services.orders.schemas.alarms import (
    AlarmReportOut as AlarmReportOut,
)
from services.orders.schemas.alarms import (
    AlarmStateName as AlarmStateName,
)
from services.orders.schemas.alarms import (
    DeviceAlarmIn as DeviceAlarmIn,
)
from services.orders.schemas.meals import (
    MealCardOut as MealCardOut,
)
from services.orders.schemas.meals import (
    MealCodeOut as MealCodeOut,
)
from services.orders.schemas.meals import (
    MealLookupIn as MealLookupIn,
)
from services.orders.schemas.meals import (
    MealLookupOut as MealLookupOut,
)
from services.orders.schemas.meals import (
    MealRedemptionIn as MealRedemptionIn,
)
from services.orders.schemas.meals import (
    MealRedemptionOut as MealRedemptionOut,
)
from services.orders.schemas.meals import (
    MealReportOut as MealReportOut,
)
from services.orders.schemas.orders import (
    AcceptIn as AcceptIn,
)
from services.orders.schemas.orders import (
    CheckInIn as CheckInIn,
)
from services.orders.schemas.orders import (
    CheckOutIn as CheckOutIn,
)
from services.orders.schemas.orders import (
    CoverageOut as CoverageOut,
)
from services.orders.schemas.orders import (
    DeclineIn as DeclineIn,
)
from services.orders.schemas.orders import (
    DeliverySummaryOut as DeliverySummaryOut,
)
from services.orders.schemas.orders import (
    DoorCodeOut as DoorCodeOut,
)
from services.orders.schemas.orders import (
    NoShowEldersOut as NoShowEldersOut,
)
from services.orders.schemas.orders import (
    OfferOut as OfferOut,
)
from services.orders.schemas.orders import (
    OrderIn as OrderIn,
)
from services.orders.schemas.orders import (
    OrderOut as OrderOut,
)
from services.orders.schemas.orders import (
    PhotoOut as PhotoOut,
)
from services.orders.schemas.orders import (
    PlanDeliveryOut as PlanDeliveryOut,
)
from services.orders.schemas.orders import (
    PlanScheduleOut as PlanScheduleOut,
)
from services.orders.schemas.orders import (
    ReasonIn as ReasonIn,
)
from services.orders.schemas.orders import (
    RecurringRuleIn as RecurringRuleIn,
)
from services.orders.schemas.orders import (
    RecurringRuleOut as RecurringRuleOut,
)
from services.orders.schemas.orders import (
    ResolveIn as ResolveIn,
)
from services.orders.schemas.orders import (
    ReviewIn as ReviewIn,
)
from services.orders.schemas.orders import (
    VisitPlanIn as VisitPlanIn,
)
from services.orders.schemas.orders import (
    VisitPlanOut as VisitPlanOut,
)
from services.orders.schemas.reports import (
    ActivityOut as ActivityOut,
)
from services.orders.schemas.reports import (
    DoorReportOut as DoorReportOut,
)
from services.orders.schemas.reports import (
    IndicatorCountsOut as IndicatorCountsOut,
)
from services.orders.schemas.reports import (
    UnmetDemandOut as UnmetDemandOut,
)
from services.orders.schemas.stays import (
    StayAcceptIn as StayAcceptIn,
)
from services.orders.schemas.stays import (
    StayAdmitIn as StayAdmitIn,
)
from services.orders.schemas.stays import (
    StayApplicationIn as StayApplicationIn,
)
from services.orders.schemas.stays import (
    StayApplicationOut as StayApplicationOut,
)
from services.orders.schemas.stays import (
    StayDeclineIn as StayDeclineIn,
)
from services.orders.schemas.stays import (
    StayDischargeIn as StayDischargeIn,
)
from services.orders.schemas.stays import (
    StayLeaveIn as StayLeaveIn,
)
from services.orders.schemas.stays import (
    StayOnIn as StayOnIn,
)
from services.orders.schemas.stays import (
    StayOut as StayOut,
)
from services.orders.schemas.stays import (
    StayTransferIn as StayTransferIn,
)
