"""The door report's arithmetic (services/orders/rules/reports.py): cells merged per district ×
provider, district and grand totals, the confirmed share and no-show rate at their edges (nothing
completed, only no-shows, everything unrecorded)."""
from __future__ import annotations

import pytest

from services.orders.rules.reports import door_figures, share, with_door_rates

HAILING, GAOGANG = "321202", "321203"
P1, P2 = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"


def counts(completed=0, by_code=0, by_family=0, unconfirmed=0, unrecorded=0, no_shows=0) -> dict:
    return {"completed": completed, "by_code": by_code, "by_family": by_family, "unconfirmed": unconfirmed,
            "unrecorded": unrecorded, "no_shows": no_shows}


@pytest.mark.parametrize(("given", "confirmed_share", "no_show_rate"), [
    (counts(), None, None),  # nothing happened: no rate, not 0 %
    (counts(no_shows=2), None, 1.0),  # only no-shows
    (counts(completed=4, by_code=2, by_family=1, unconfirmed=1, no_shows=1), 0.75, 0.2),
    (counts(completed=3, unrecorded=3), 0.0, 0.0),  # checked out before confirmation existed
    (counts(completed=3, by_code=1), 0.3333, 0.0),  # rounded to 4 places
])
def test_rates(given, confirmed_share, no_show_rate):
    rated = with_door_rates(given)
    assert (rated["confirmed_share"], rated["no_show_rate"]) == (confirmed_share, no_show_rate)
    assert rated["confirmed"] == given["by_code"] + given["by_family"]


def test_share_of_nothing_is_none():
    assert share(0, 0) is None and share(0, 5) == 0.0 and share(5, 5) == 1.0


def test_cells_merge_per_provider_and_sum_per_district_and_in_total():
    rows, districts, total = door_figures([
        (HAILING, P2, {"completed": 2, "by_code": 2}),
        (HAILING, P2, {"no_shows": 1}),  # a provider's completions and no-shows come as separate cells
        (HAILING, P1, {"completed": 1, "unconfirmed": 1}),
        (HAILING, None, {"no_shows": 1}),  # no provider on record: listed last in its district
        (GAOGANG, P1, {"completed": 1, "by_family": 1}),
    ])
    assert [(r["district_code"], r["provider_id"]) for r in rows] == [
        (HAILING, P1), (HAILING, P2), (HAILING, None), (GAOGANG, P1)]  # by district code, provider, None last
    p2 = next(r for r in rows if r["provider_id"] == P2)
    assert (p2["completed"], p2["by_code"], p2["no_shows"], p2["no_show_rate"]) == (2, 2, 1, 0.3333)
    hailing = next(d for d in districts if d["district_code"] == HAILING)
    assert (hailing["completed"], hailing["no_shows"], hailing["confirmed"]) == (3, 2, 2)
    assert (total["completed"], total["by_family"], total["no_shows"], total["confirmed_share"]) == (4, 1, 2, 0.75)


def test_no_cells_make_an_empty_report():
    rows, districts, total = door_figures([])
    assert (rows, districts) == ([], []) and total["completed"] == 0 and total["no_show_rate"] is None
