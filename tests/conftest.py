"""Session-wide real parts: PostgreSQL databases per test, one broker per session, keys."""
from __future__ import annotations

import asyncio
import os
import subprocess
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
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Databases:
    """Fresh databases on demand: one PostgreSQL database each (dropped at session end), or a
    SQLite file when the suite runs without PostgreSQL."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def new_url(self, label: str) -> str:
        name = f"yf_{label}_{uuid.uuid4().hex[:10]}"
        if BACKEND == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / (name + '.db')}"
        _run(self._admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        u = urlparse(PG_URL)
        return f"postgresql+asyncpg://{u.username or 'postgres'}@{u.hostname}:{u.port or 5432}/{name}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        u = urlparse(PG_URL)
        conn = await asyncpg.connect(user=u.username or "postgres", host=u.hostname, port=u.port or 5432,
                                     database=(u.path or "/postgres").lstrip("/") or "postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def drop_all(self) -> None:
        for name in self.created:
            try:
                _run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:
                pass


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
