"""How `make test` spreads the suite over pytest-xdist workers (tests/run_suite.py passes
`-n N --dist loadgroup`; plain `pytest` runs in one process as before).

Each worker is a pytest session of its own: its own broker, its own databases (random names), its
own session `platform` if it runs a test that asks for one. Work goes out in units that keep
module-scoped fixtures on one worker:

- every module with a test that uses the session `platform` (tests/e2e, tests/browser, and any
  other) is ONE unit, "platform": one platform for all of them, the tests in their usual order
  (e2e before browser), as in a run without workers;
- every other module is a unit of its own (its module fixtures start once).

Units go out longest first (the platform unit, then the fault modules, then integration, then unit
tests), so that the short ones fill the gaps at the end instead of a long one starting last."""
from __future__ import annotations

import pytest

PLATFORM_UNIT = "platform"


def mark_units(items: list[pytest.Item]) -> None:
    """Give every collected test an `xdist_group` mark naming its unit (see the module's text)."""
    on_platform = {item.module.__name__ for item in items
                   if item.module is not None and "platform" in getattr(item, "fixturenames", ())}
    for item in items:
        module = item.module.__name__ if item.module is not None else item.nodeid.split("::")[0]
        unit = PLATFORM_UNIT if module in on_platform else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(unit))


def unit_rank(unit: str, first_nodeid: str) -> int:
    """Lower goes out first: the platform unit, fault modules, integration, e2e left over, unit tests."""
    if unit == PLATFORM_UNIT:
        return 0
    path = "/" + first_nodeid
    for rank, part in ((1, "/tests/faults/"), (2, "/tests/integration/"), (3, "/tests/e2e/"), (3, "/tests/browser/"),
                       (5, "/tests/unit/")):
        if part in path:
            return rank
    return 4


def make_scheduler(config, log):
    from xdist.scheduler.loadgroup import LoadGroupScheduling

    class LongestFirst(LoadGroupScheduling):
        """LoadGroupScheduling with the units queued by `unit_rank` (then by size) instead of by
        size alone, and no unit queued behind one that still has more than the one test a worker
        holds back (it runs a test once it knows the next): a long fault module must not keep a
        second unit waiting while another worker is idle."""

        def _reschedule(self, node) -> None:
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending_of(self.assigned_work[node]) > 1:
                return
            self._assign_work_unit(node)

        def schedule(self) -> None:
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            units: dict[str, dict[str, bool]] = {}
            for nodeid in self.collection:
                units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
            for unit in sorted(units, key=lambda u: (unit_rank(u, next(iter(units[u]))), -len(units[u]))):
                self.workqueue[unit] = units[unit]
            for _ in range(len(self.nodes) - len(self.workqueue)):  # more workers than units
                unused, _assigned = self.assigned_work.popitem()
                unused.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return LongestFirst(config, log)
