"""What every schema module of the assessment service shares: example ids and helpers."""
from __future__ import annotations

from typing import Literal

Gender = Literal["male", "female"]
LivingSituation = Literal["alone", "empty_nest", "with_family", "institution"]
EconomicStatus = Literal["tekun", "dibao", "dibao_edge", "expense_hardship", "none"]
ElderStatus = Literal["active", "deceased", "moved_away"]
AssessmentReason = Literal["initial", "periodic", "condition_changed"]

ID_EXAMPLE = "321202194805061239"
ITEMS_EXAMPLE = {"eating": 4, "grooming": 3, "bathing": 2, "stairs": 1}
