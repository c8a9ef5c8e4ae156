"""`make test`: pick the database backend, say which, run the whole suite.

PostgreSQL is used when one answers (YOUFU_TEST_PG, else 127.0.0.1:5432); otherwise the suite
runs on SQLite and says so. Under CI=true a missing PostgreSQL is a failure. pytest's exit
code 5 (no tests collected) is a failure too. It runs after scripts/prerequisites.sh (the
Makefile's `prerequisites`), which started an installed PostgreSQL and installed Chromium, a CJK
font and axe-core, or stopped the run saying what to install.

Before any test, the house rules a machine keeps (docs/architecture.md): ruff over the whole tree,
and import-linter's contracts (services never import each other; the kernel imports no service;
rule modules import no database, web framework, HTTP client or broker). A broken rule fails the
run before the suite starts.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlparse

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_answers(url: str) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def house_rules() -> int:
    bin_dir = os.path.dirname(sys.executable)
    for name, cmd in (("ruff", [os.path.join(bin_dir, "ruff"), "check", "."]),
                      ("import contracts", [os.path.join(bin_dir, "lint-imports"), "--no-cache"])):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"make test: {name} failed:\n{result.stdout}{result.stderr}", flush=True)
            return result.returncode
        print(f"make test: {name} kept", flush=True)
    return 0


def workers(args: list[str]) -> list[str]:
    """pytest-xdist's options: YOUFU_TEST_WORKERS processes (3 by default; 0 or 1: none), each a
    session of its own, handed whole modules, and every module on the session platform as one unit
    (tests/support/xdist_plan.py). The tests mostly wait on sockets and subprocesses, so three
    workers pay off even on two cores (docs/benchmarks.md, Suite time)."""
    n = int(os.environ.get("YOUFU_TEST_WORKERS", "3"))
    if n <= 1 or any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) for a in args):
        return []
    try:
        import xdist  # noqa: F401
    except ImportError:
        print("make test: pytest-xdist is not installed; running in one process", flush=True)
        return []
    print(f"make test: {n} worker processes (YOUFU_TEST_WORKERS)", flush=True)
    return ["-n", str(n), "--dist", "loadscope"]


def main() -> int:
    if code := house_rules():
        return code
    url = os.environ.get("YOUFU_TEST_PG", DEFAULT_PG)
    env = dict(os.environ)
    if pg_answers(url):
        env["YOUFU_TEST_PG"] = url
        env["YOUFU_TEST_BACKEND"] = "postgresql"
        print(f"make test: using PostgreSQL at {urlparse(url).hostname}:{urlparse(url).port or 5432}", flush=True)
    elif os.environ.get("CI") == "true":
        print(f"make test: PostgreSQL does not answer at {url}; CI requires it", flush=True)
        return 1
    else:
        env["YOUFU_TEST_BACKEND"] = "sqlite"
        print("make test: no PostgreSQL answered; running on SQLite (set YOUFU_TEST_PG to use one)", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", *workers(sys.argv[1:]), *sys.argv[1:]], env=env)
    if code == 5:
        print("make test: pytest collected no tests; that is a failure", flush=True)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
