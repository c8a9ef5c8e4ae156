"""Request and response models of the providers service, with examples (they feed the merged
OpenAPI document). Money is integer fen; dates are YYYY-MM-DD; times are ISO 8601 with a zone.

One module per flow (past ~400 lines the room became a package); the models the routes use are
re-exported here."""
from __future__ import annotations

from services.providers.schemas._common import (
    Gender as Gender,
)
from services.providers.schemas._common import (
    ProviderKind as ProviderKind,
)
from services.providers.schemas._common import (
    ProviderStatus as ProviderStatus,
)
from services.providers.schemas._common import (
    VoucherKind as VoucherKind,
)
from services.providers.schemas.beds import (
    BedIn as BedIn,
)
from services.providers.schemas.beds import (
    BedOut as BedOut,
)
from services.providers.schemas.beds import (
    BedPatch as BedPatch,
)
from services.providers.schemas.beds import (
    BedRateIn as BedRateIn,
)
from services.providers.schemas.beds import (
    BedRatesIn as BedRatesIn,
)
from services.providers.schemas.beds import (
    BedRatesOut as BedRatesOut,
)
from services.providers.schemas.beds import (
    BedsIn as BedsIn,
)
from services.providers.schemas.beds import (
    BedStatus as BedStatus,
)
from services.providers.schemas.beds import (
    CapacityOut as CapacityOut,
)
from services.providers.schemas.beds import (
    CareLevel as CareLevel,
)
from services.providers.schemas.beds import (
    OccupyIn as OccupyIn,
)
from services.providers.schemas.beds import (
    PlacesOut as PlacesOut,
)
from services.providers.schemas.beds import (
    ReleaseIn as ReleaseIn,
)
from services.providers.schemas.beds import (
    ReserveIn as ReserveIn,
)
from services.providers.schemas.beds import (
    StreetCoverageOut as StreetCoverageOut,
)
from services.providers.schemas.candidates import (
    CandidatesOut as CandidatesOut,
)
from services.providers.schemas.catalogue import (
    CatalogueItemIn as CatalogueItemIn,
)
from services.providers.schemas.catalogue import (
    CatalogueItemOut as CatalogueItemOut,
)
from services.providers.schemas.catalogue import (
    CatalogueItemPatch as CatalogueItemPatch,
)
from services.providers.schemas.documents import (
    DocumentIn as DocumentIn,
)
from services.providers.schemas.documents import (
    DocumentOut as DocumentOut,
)
from services.providers.schemas.documents import (
    DocumentsOut as DocumentsOut,
)
from services.providers.schemas.registry import (
    GeocodeOut as GeocodeOut,
)
from services.providers.schemas.registry import (
    HistoryEntry as HistoryEntry,
)
from services.providers.schemas.registry import (
    ProviderApplication as ProviderApplication,
)
from services.providers.schemas.registry import (
    ProviderOut as ProviderOut,
)
from services.providers.schemas.registry import (
    ReasonIn as ReasonIn,
)
from services.providers.schemas.registry import (
    ServiceArea as ServiceArea,
)
from services.providers.schemas.registry import (
    StarRatingIn as StarRatingIn,
)
from services.providers.schemas.staff import (
    CaregiverIn as CaregiverIn,
)
from services.providers.schemas.staff import (
    CaregiverOut as CaregiverOut,
)
from services.providers.schemas.staff import (
    CaregiverPatch as CaregiverPatch,
)
from services.providers.schemas.standard import (
    ServiceItemIn as ServiceItemIn,
)
from services.providers.schemas.standard import (
    ServiceItemOut as ServiceItemOut,
)
