"""Issuance's pure rules: which month a run may be for, the tally of a run, and the table of
what a policy grants that the set-based run joins the elders to."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from services.vouchers.ledger.rules import LedgerState, apply, issue_transfer
from services.vouchers.rules.calendar import is_future_month, month_of
from services.vouchers.rules.policy import (
    GRADES,
    EconomicStatus,
    EligibilityFacts,
    LivingSituation,
    PolicyVersion,
    VoucherKind,
    entitlements,
)
from shared.errors import Conflict, invalid_field


def check_runnable_month(month: str, now: datetime) -> None:
    """Vouchers are valid in their own month only, so a run is for the month that is current."""
    if is_future_month(month, now):
        raise invalid_field("month", f"{month} 尚未开始，不能提前发放")
    if month != month_of(now):
        raise Conflict(f"{month} 已经结束，当月券当月有效，不能补发", month=month)


class IssueTally:
    """Counts and amounts by (district, kind): issued now, and found already issued."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict] = defaultdict(
            lambda: {"issued_count": 0, "issued_fen": 0, "already_count": 0, "already_fen": 0})

    def add(self, district: str | None, kind: str, fen: int, *, already: bool) -> None:
        row = self.rows[(district or "", kind)]
        prefix = "already" if already else "issued"
        row[f"{prefix}_count"] += 1
        row[f"{prefix}_fen"] += fen

    def total(self, name: str) -> int:
        return sum(row[name] for row in self.rows.values())


def entitlement_table(policy: PolicyVersion) -> list[dict]:
    """What `policy` grants for every combination of the facts it reads, as rows to join."""
    rows = []
    for status in EconomicStatus:
        for grade in GRADES:
            for living in LivingSituation:
                for hardship in (False, True):
                    facts = EligibilityFacts(economic_status=status, grade=grade, living_situation=living,
                                             special_hardship=hardship)
                    rows += [{"economic_status": str(status), "grade": grade, "living_situation": str(living),
                              "special_hardship": hardship, "kind": str(e.kind), "face_value_fen": e.face_value_fen,
                              "share_bp": e.share_bp} for e in entitlements(policy, facts)]
    for kind, fen in {(r["kind"], r["face_value_fen"]) for r in rows}:  # the pure ledger's rules, once each
        apply(LedgerState(), issue_transfer("probe", uuid.UUID(int=0), VoucherKind(kind), "2000-01", fen))
    return rows
