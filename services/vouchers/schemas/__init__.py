"""Request and response models of the vouchers service. Money is integer fen throughout.

One module per flow (past ~400 lines the room became a package); the models the routes use are
re-exported here."""
from __future__ import annotations

from services.vouchers.schemas.audit import (
    ActionIn as ActionIn,
)
from services.vouchers.schemas.audit import (
    ActionOut as ActionOut,
)
from services.vouchers.schemas.audit import (
    FindingOut as FindingOut,
)
from services.vouchers.schemas.audit import (
    LedgerCheckOut as LedgerCheckOut,
)
from services.vouchers.schemas.audit import (
    RecoveryEstimateIn as RecoveryEstimateIn,
)
from services.vouchers.schemas.audit import (
    RecoveryEstimateOut as RecoveryEstimateOut,
)
from services.vouchers.schemas.budgets import (
    MealPointCapacityIn as MealPointCapacityIn,
)
from services.vouchers.schemas.budgets import (
    MealPointCapacityOut as MealPointCapacityOut,
)
from services.vouchers.schemas.budgets import (
    MealSubsidyIn as MealSubsidyIn,
)
from services.vouchers.schemas.budgets import (
    MealSubsidyOut as MealSubsidyOut,
)
from services.vouchers.schemas.budgets import (
    PlanBudgetIn as PlanBudgetIn,
)
from services.vouchers.schemas.budgets import (
    PlanBudgetOut as PlanBudgetOut,
)
from services.vouchers.schemas.budgets import (
    StayClaimDraftIn as StayClaimDraftIn,
)
from services.vouchers.schemas.budgets import (
    StayClaimOut as StayClaimOut,
)
from services.vouchers.schemas.month import (
    IssuanceRunOut as IssuanceRunOut,
)
from services.vouchers.schemas.month import (
    MonthEndOut as MonthEndOut,
)
from services.vouchers.schemas.month import (
    MonthIn as MonthIn,
)
from services.vouchers.schemas.month import (
    PolicyIn as PolicyIn,
)
from services.vouchers.schemas.month import (
    SettlementOut as SettlementOut,
)
from services.vouchers.schemas.month import (
    SettlementSummary as SettlementSummary,
)
from services.vouchers.schemas.month import (
    SpendByMonthOut as SpendByMonthOut,
)
from services.vouchers.schemas.month import (
    SpendReportOut as SpendReportOut,
)
from services.vouchers.schemas.oversight import (
    ComplaintIn as ComplaintIn,
)
from services.vouchers.schemas.oversight import (
    ComplaintMoveIn as ComplaintMoveIn,
)
from services.vouchers.schemas.oversight import (
    ComplaintOut as ComplaintOut,
)
from services.vouchers.schemas.oversight import (
    FindingResolveIn as FindingResolveIn,
)
from services.vouchers.schemas.oversight import (
    OversightFiguresOut as OversightFiguresOut,
)
from services.vouchers.schemas.oversight import (
    ReturnSampleIn as ReturnSampleIn,
)
from services.vouchers.schemas.oversight import (
    ReturnSampleOut as ReturnSampleOut,
)
from services.vouchers.schemas.oversight import (
    ReturnVisitOut as ReturnVisitOut,
)
from services.vouchers.schemas.oversight import (
    ServiceFindingOut as ServiceFindingOut,
)
from services.vouchers.schemas.oversight import (
    VisitResultIn as VisitResultIn,
)
from services.vouchers.schemas.spending import (
    HistoryOut as HistoryOut,
)
from services.vouchers.schemas.spending import (
    HoldDetail as HoldDetail,
)
from services.vouchers.schemas.spending import (
    HoldIn as HoldIn,
)
from services.vouchers.schemas.spending import (
    HoldOut as HoldOut,
)
from services.vouchers.schemas.spending import (
    QuoteIn as QuoteIn,
)
from services.vouchers.schemas.spending import (
    QuoteOut as QuoteOut,
)
from services.vouchers.schemas.spending import (
    VoidOut as VoidOut,
)
from services.vouchers.schemas.spending import (
    WalletOut as WalletOut,
)
from services.vouchers.schemas.uptake import (
    IssuedByMonthOut as IssuedByMonthOut,
)
