"""Request and response models of the assessment service, with examples.

Shapes are checked here (types, lengths, choices); rules that need the whole record or the
instrument (ID-card check digit and birth date, item ranges, the city's districts) are checked by
the domain, which names each faulty field with a zh-CN reason.

One module per flow (past ~400 lines the room became a package); the models the routes use are
re-exported here."""
from __future__ import annotations

from services.assessment.schemas.care_plans import (
    CarePlanIn as CarePlanIn,
)
from services.assessment.schemas.care_plans import (
    CarePlanOut as CarePlanOut,
)
from services.assessment.schemas.care_plans import (
    CarePlanPage as CarePlanPage,
)
from services.assessment.schemas.care_plans import (
    CarePlanUpdate as CarePlanUpdate,
)
from services.assessment.schemas.care_plans import (
    ConsentIn as ConsentIn,
)
from services.assessment.schemas.care_plans import (
    DeviceIn as DeviceIn,
)
from services.assessment.schemas.care_plans import (
    HomeBedIn as HomeBedIn,
)
from services.assessment.schemas.care_plans import (
    HomeBedOut as HomeBedOut,
)
from services.assessment.schemas.care_plans import (
    HomeBedPage as HomeBedPage,
)
from services.assessment.schemas.care_plans import (
    ProviderOption as ProviderOption,
)
from services.assessment.schemas.care_plans import (
    ReasonIn as ReasonIn,
)
from services.assessment.schemas.care_plans import (
    RosterCountsOut as RosterCountsOut,
)
from services.assessment.schemas.elders import (
    AccessLogPage as AccessLogPage,
)
from services.assessment.schemas.elders import (
    AssessmentIn as AssessmentIn,
)
from services.assessment.schemas.elders import (
    AssessmentOut as AssessmentOut,
)
from services.assessment.schemas.elders import (
    AssessmentUpdate as AssessmentUpdate,
)
from services.assessment.schemas.elders import (
    AssignmentIn as AssignmentIn,
)
from services.assessment.schemas.elders import (
    AssignmentOut as AssignmentOut,
)
from services.assessment.schemas.elders import (
    DuePage as DuePage,
)
from services.assessment.schemas.elders import (
    ElderIn as ElderIn,
)
from services.assessment.schemas.elders import (
    ElderOut as ElderOut,
)
from services.assessment.schemas.elders import (
    ElderPage as ElderPage,
)
from services.assessment.schemas.elders import (
    ElderPatch as ElderPatch,
)
from services.assessment.schemas.elders import (
    InstrumentSummary as InstrumentSummary,
)
from services.assessment.schemas.elders import (
    ScoreIn as ScoreIn,
)
from services.assessment.schemas.elders import (
    ScoreOut as ScoreOut,
)
from services.assessment.schemas.status_lists import (
    StatusChangeOut as StatusChangeOut,
)
from services.assessment.schemas.status_lists import (
    StatusListApplied as StatusListApplied,
)
from services.assessment.schemas.status_lists import (
    StatusListIn as StatusListIn,
)
from services.assessment.schemas.status_lists import (
    StatusListOut as StatusListOut,
)
from services.assessment.schemas.status_lists import (
    StatusListPage as StatusListPage,
)
