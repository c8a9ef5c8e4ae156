"""Session-wide real parts: PostgreSQL databases per test, one broker per session, keys."""
from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared.auth import Principal, TokenSigner, generate_keypair
from youfu.broker import free_port, port_open, start_broker, stop_process

BACKEND = os.environ.get("YOUFU_TEST_BACKEND") or ("postgresql" if os.environ.get("YOUFU_TEST_PG") else "postgresql")
PG_URL = os.environ.get("YOUFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Broker:
    """The bundled broker, restartable on the same port (a restart empties it, like production's worst day)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc, self.bootstrap = start_broker(self.port, log_path=self.log_path)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
            self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and port_open("127.0.0.1", self.port)


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Broker:
    b = Broker(tmp_path_factory.mktemp("broker") / "broker.log")
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture(scope="session")
def signer(keypair) -> TokenSigner:
    return TokenSigner(keypair[0])


@pytest.fixture(scope="session")
def make_token(signer):
    def make(role: str = "admin", *, ttl_s: int = 600, **fields) -> str:
        principal = Principal(user_id=fields.pop("user_id", str(uuid.uuid4())), role=role, **fields)
        return signer.sign(principal, ttl=timedelta(seconds=ttl_s), token_type="service" if role == "service" else "access")

    return make


def _run(coro):
    """Run a coroutine to completion from sync or async context (own thread, own loop)."""
    return _in_thread(asyncio.run, coro)


def _in_thread(fn, *args):
    """`fn(*args)` in a thread of its own (Alembic's env.py runs its own event loop, which cannot
    start inside a running one), waited for."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def _fast_commits(name: str) -> tuple[str, ...]:
    """A test database does not wait for each commit's WAL to reach the disk (synchronous_commit
    off: what one transaction commits is still seen at once by every other; only a crash of the
    PostgreSQL server itself could lose the last few tenths of a second, and no test crashes it).
    On a busy disk a commit took 3-5 ms instead of about 1 ms."""
    return (f'ALTER DATABASE "{name}" SET synchronous_commit = off',)


class Databases:
    """Fresh databases on demand: one PostgreSQL database each (dropped at session end), or a
    SQLite file when the suite runs without PostgreSQL.

    `migrated_url(process)` gives a database already at the head of that process's migrations: a
    copy (`CREATE DATABASE … TEMPLATE`, a few tenths of a second) of a template migrated once per
    session, instead of running Alembic again (one to four seconds a database). Each pytest-xdist
    worker is a session of its own: its own templates, its own databases."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []
        self.templates: dict[str, str] = {}
        self._template_lock = threading.Lock()

    def _name(self, label: str) -> str:
        return f"yf_{label}_{uuid.uuid4().hex[:10]}"

    def _url(self, name: str) -> str:
        u = urlparse(PG_URL)
        return f"postgresql+asyncpg://{u.username or 'postgres'}@{u.hostname}:{u.port or 5432}/{name}"

    def new_url(self, label: str) -> str:
        name = self._name(label)
        if BACKEND == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / (name + '.db')}"
        _run(self._admin(f'CREATE DATABASE "{name}"', *_fast_commits(name)))
        self.created.append(name)
        return self._url(name)

    def migrated_url(self, process: str, label: str | None = None) -> str:
        """A fresh database at the head of `process`'s migrations (gateway, assessment, providers,
        orders, vouchers). Safe to call from async code (the work runs in threads of its own)."""
        from shared.migrations import upgrade

        if BACKEND == "sqlite":
            url = self.new_url(label or process)
            _in_thread(upgrade, process, url)
            return url
        with self._template_lock:
            template = self.templates.get(process)
            if template is None:
                template = self._name(f"tpl_{process}")
                _run(self._admin(f'CREATE DATABASE "{template}"', *_fast_commits(template)))
                self.created.append(template)
                _in_thread(upgrade, process, self._url(template))
                self.templates[process] = template
        name = self._name(label or process)
        _run(self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', *_fast_commits(name)))
        self.created.append(name)
        return self._url(name)

    async def _admin(self, *statements: str) -> None:
        import asyncpg

        u = urlparse(PG_URL)
        conn = await asyncpg.connect(user=u.username or "postgres", host=u.hostname, port=u.port or 5432,
                                     database=(u.path or "/postgres").lstrip("/") or "postgres")
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    def drop_all(self) -> None:
        async def drop(name: str, gate: asyncio.Semaphore) -> None:
            async with gate:
                try:
                    await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception:
                    pass

        async def drop_in_order() -> None:
            gate = asyncio.Semaphore(4)  # a few at a time: one by one, 80 drops took half a minute
            copies = [n for n in self.created if n not in self.templates.values()]
            await asyncio.gather(*(drop(n, gate) for n in copies))
            await asyncio.gather(*(drop(n, gate) for n in self.templates.values()))

        _run(drop_in_order())


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Databases:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


class RunningApp:
    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.task: asyncio.Task | None = None

    async def start(self) -> RunningApp:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


@pytest.fixture
async def serve_app():
    """Serve FastAPI apps over real HTTP on loopback inside the test's event loop."""
    running: list[RunningApp] = []

    async def serve(app, port: int | None = None) -> RunningApp:
        r = await RunningApp(app, port or free_port()).start()
        running.append(r)
        return r

    yield serve
    for r in reversed(running):
        await r.stop()


class Platform:
    """The whole platform as `make up` runs it (five processes), on PostgreSQL and the session's broker."""

    def __init__(self, proc: subprocess.Popen, ports: dict[str, int], var_dir: Path, lines: list[str],
                 env: dict[str, str] | None = None) -> None:
        self.proc = proc
        self.env = env or {}  # what its processes were started with (a second gateway replica reuses it)
        self.ports = ports
        self.var_dir = var_dir
        self.lines = lines
        self.url = f"http://127.0.0.1:{ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def demo_accounts(self) -> list[dict]:
        import json

        path = self.var_dir / "demo-accounts.json"
        return json.loads(path.read_text()) if path.exists() else []

    def account(self, role: str) -> dict:
        return next(a for a in self.demo_accounts if a["role"] == role)


@pytest.fixture(scope="session")
def platform(broker, databases, tmp_path_factory, repo_root) -> Platform:
    import sys

    var_dir = tmp_path_factory.mktemp("platform") / "var"
    names = ("gateway", "assessment", "providers", "orders", "vouchers")
    ports = {name: free_port() for name in names}
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_") or k.startswith("YOUFU_TEST")}
    env |= {f"YOUFU_{n.upper()}_PORT": str(p) for n, p in ports.items()}
    env |= {f"YOUFU_{n.upper()}_DATABASE_URL": databases.migrated_url(n) for n in names}
    env |= {"YOUFU_VAR_DIR": str(var_dir), "YOUFU_KAFKA_BOOTSTRAP": broker.bootstrap, "YOUFU_OUTBOX_POLL_S": "0.2",
            # every test client signs in from 127.0.0.1, and the fuzz test fails many sign-ins on
            # purpose: the per-address limit would lock out the tests that follow. So would the
            # per-phone one: the fuzz draws the documented example of POST /auth/login, the demo
            # admin's phone with a wrong password, often enough in some runs to lock the admin for
            # 5 minutes (test_authorization and test_simulate then got 429). Both limits are tested
            # on a gateway of their own (tests/integration/test_gateway_auth.py).
            "YOUFU_LOGIN_FAILURES_PER_ADDRESS": "1000000", "YOUFU_LOGIN_FAILURES_PER_PHONE": "1000000",
            "YOUFU_WRITES_PER_MINUTE": "100000",
            # no simulated demo day at start: it would cost the session a minute, and the tests that
            # want one (tests/e2e/test_simulate.py) run it themselves
            "YOUFU_DEMO_SIMULATE": "0",
            # at most 6 connections a service (production's pool is 20; a pool keeps what it
            # opened): this platform serves one test at a time, and with pytest-xdist it runs
            # beside a fault platform and an integration module, all within a fresh PostgreSQL's
            # 100 connections (D63)
            "YOUFU_DB_POOL_SIZE": "6"}
    proc = subprocess.Popen([sys.executable, "-m", "youfu", "up"], cwd=repo_root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    import time

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.strip() == "READY":
            break
    if not lines or lines[-1] != "READY":
        proc.kill()
        raise RuntimeError("platform did not start:\n" + "\n".join(lines))
    import threading

    # keep draining stdout so the launcher never blocks on a full pipe
    threading.Thread(target=lambda: [lines.append(x.rstrip()) for x in proc.stdout], daemon=True).start()
    _running_platforms.append(proc)
    yield Platform(proc, ports, var_dir, lines, env)
    _stop_platform(proc)


_running_platforms: list[subprocess.Popen] = []


def _stop_platform(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def pytest_runtest_setup(item):
    """The session's platform serves tests/e2e and tests/browser. Once a process moves on to any
    other test it is stopped: in one process that is the fault tests, which come last and start
    platforms of their own (idle, the session's platform still takes a fifth of a core from them);
    under pytest-xdist a worker that has run the platform's tests goes on with other modules, and
    an integration harness on the session broker would otherwise share consumer groups with the
    platform's services (they took its events: tests/support/xdist_plan.py). A test that uses the
    session `platform` belongs in tests/e2e or tests/browser."""
    if _running_platforms and not any(f"/tests/{d}/" in str(item.fspath) for d in ("e2e", "browser")):
        while _running_platforms:
            _stop_platform(_running_platforms.pop())


def pytest_collection_modifyitems(config, items):
    """Unit tests first (fast feedback), then integration, e2e and browser tests (the browser is
    opened per module: Playwright's sync API keeps an event loop running in the main thread while
    it is open, which async tests cannot share). Fault tests (their own platforms, processes
    killed, brokers restarted) run last, once the session's platform is stopped."""
    def rank(item) -> int:
        path = str(item.fspath)
        for i, part in enumerate(("/tests/unit/", "/tests/integration/", "/tests/e2e/", "/tests/browser/",
                                  "/tests/faults/")):
            if part in path:
                return i
        return 1

    items.sort(key=rank)


try:  # pytest-xdist is optional: `make test` uses it (tests/run_suite.py), a plain `pytest` need not
    import xdist  # noqa: F401
except ImportError:
    pass
else:
    def pytest_xdist_make_scheduler(config, log):
        """Units of work that keep module fixtures and the session platform on one worker (tests/support/xdist_plan.py)."""
        if config.getoption("dist") == "loadscope":
            from tests.support.xdist_plan import make_scheduler

            return make_scheduler(config, log)
        return None
