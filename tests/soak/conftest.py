"""Soak tests run only when asked for: `make soak` (`pytest tests/soak -q -s`), a path under
tests/soak on the command line, or YOUFU_SOAK=1. The default `make test` (`pytest -q` over tests/)
never collects them: ten minutes of load is not a unit of the everyday suite."""
from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _asked_for(config) -> bool:
    if os.environ.get("YOUFU_SOAK") == "1":
        return True
    for arg in config.args:
        path = Path(str(arg).split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if Path(collection_path).resolve() != HERE and not _asked_for(config):
        return True
    return None
