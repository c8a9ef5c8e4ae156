"""How `make test` spreads the suite over pytest-xdist workers (tests/run_suite.py passes
`-n N --dist loadscope`; plain `pytest` runs in one process as before).

Each worker is a pytest session of its own: its own broker, its own databases (random names), its
own session `platform` if it runs a test that asks for one. Work goes out in units that keep
module-scoped fixtures on one worker:

- tests/e2e and tests/browser are ONE unit, "platform": one session platform for all of them, the
  tests in their usual order (e2e before browser), as in a run without workers;
- tests/faults is ONE unit, "faults": its modules one after another, as without workers. Each
  starts a platform of its own; two at once would hold more PostgreSQL connections than a fresh
  server's 100 allow (with the session platform, measured), and would take each other's CPU in
  the very tests that measure recovery times;
- every other module is a unit of its own (its module fixtures start once).

(The unit is chosen by path: pytest-xdist's own grouping by `xdist_group` marks does nothing under
pytest 9, which no longer takes the node id xdist rewrites. A test elsewhere that asks for the
session `platform` still works: its worker starts a platform of its own.)

Units go out longest first (the platform and fault units, then integration, then unit tests), so
that the short ones fill the gaps at the end instead of a long one starting last."""
from __future__ import annotations

PLATFORM_UNIT, FAULTS_UNIT = "platform", "faults"
PLATFORM_DIRS = ("tests/e2e/", "tests/browser/")


def unit_of(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    if path.startswith(PLATFORM_DIRS):
        return PLATFORM_UNIT
    return FAULTS_UNIT if path.startswith("tests/faults/") else path


def unit_rank(unit: str, first_nodeid: str) -> int:
    """Lower goes out first: the platform and fault units, integration, anything else, unit tests."""
    if unit in (PLATFORM_UNIT, FAULTS_UNIT):
        return 0
    path = "/" + first_nodeid
    for rank, part in ((2, "/tests/integration/"), (5, "/tests/unit/")):
        if part in path:
            return rank
    return 4


def make_scheduler(config, log):
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class LongestFirst(LoadScopeScheduling):
        """LoadScopeScheduling with units by `unit_of`, queued by `unit_rank` (then by size), and
        no unit queued behind one that still has more than the one test a worker
        holds back (it runs a test once it knows the next): a long fault module must not keep a
        second unit waiting while another worker is idle."""

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

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
