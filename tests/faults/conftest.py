"""One platform of its own per fault-test module (see harness.py): its processes get killed and its
broker restarted, which the session's `platform` must never suffer."""
from __future__ import annotations

import pytest

from tests.faults.harness import FaultPlatform


@pytest.fixture(scope="module")
def fault_platform(databases, tmp_path_factory, request):
    """A module may set PLATFORM_ENV (extra environment for every process)."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:10]
    p = FaultPlatform(databases, tmp_path_factory.mktemp(label), label, getattr(request.module, "PLATFORM_ENV", {}))
    try:
        p.start()
    except Exception:
        p.close()
        raise
    yield p
    p.close()
