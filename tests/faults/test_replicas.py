"""Issue 27: two replicas of each service and of the gateway behind the local balancer
(youfu/balancer.py), load for 50 s, one replica of each SIGKILLed at the midpoint and started
again 15 s later (50 s of load in all). The scenario and its rules are in tests/faults/replicas.py; the three-minute
rehearsal (bench/rehearsal.py) runs the same one and writes bench/results/faults.json."""
from __future__ import annotations

import pytest

from tests.faults.harness import record_figures
from tests.faults.replicas import ReplicaPlatform, rehearse, short

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replica_platform(databases, tmp_path_factory):
    p = ReplicaPlatform(databases, tmp_path_factory.mktemp("replicas"), "replicas", replicas=2)
    try:
        p.start()
    except Exception:
        p.close()
        raise
    yield p
    p.close()


async def test_a_killed_replica_of_each_process_costs_only_retried_requests(replica_platform):
    figures = await rehearse(replica_platform, load_s=50, kill_at_s=22, down_s=15)
    record_figures("replicas_sigkill_suite", figures)
    print(short(figures))
    # the killed replicas' share of the traffic came back to them after the restart
    for name, b in figures["balancer"].items():
        assert all(n > 0 for n in b["requests_by_replica"].values()), (name, b)
    assert figures["orders_placed"] >= 80
