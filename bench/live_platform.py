"""Shared by bench/ordering.py and bench/settle_latency.py: the whole platform as `make up` runs it
(`python -m youfu up`: five processes, one PostgreSQL database each, a broker started here), demo
logins, per-process CPU accounting with psutil, percentiles, and a bare FastAPI "hello" app.

Not a benchmark itself (running it does nothing). It is not called bench/platform.py because the
scripts run with bench/ first on sys.path, where that name would shadow the standard library's
`platform` module (imported by uuid, matching.py and others).
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from youfu.broker import free_port, start_broker, stop_process  # noqa: E402

NAMES = ("gateway", "assessment", "providers", "orders", "vouchers")
PG_ADMIN = dict(user="postgres", host="127.0.0.1", port=5432, database="postgres")


# ---- PostgreSQL databases ----------------------------------------------------------------------

def _admin(sql: str) -> None:
    import asyncpg

    async def run():
        conn = await asyncpg.connect(**PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def create_database(label: str) -> str:
    name = f"yf_bench_{label}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    try:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # never hide the results behind a cleanup failure
        print(f"warning: could not drop {name}: {exc}", file=sys.stderr)


def service_database_url(dbname: str, socket_dir: str | None = None) -> str:
    """A service's URL for a bench database: TCP on 127.0.0.1, or the Unix socket in `socket_dir`."""
    if socket_dir:
        return f"postgresql+asyncpg://postgres@/{dbname}?host={socket_dir}"
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{dbname}"


def pg_dsn(dbname: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{dbname}"


# ---- the platform ----------------------------------------------------------------------------

class LivePlatform:
    """`python -m youfu up` on fresh databases and a broker of its own; `extra_env` is added to
    the launcher's environment (e.g. YOUFU_WRITES_PER_MINUTE). The services reach PostgreSQL over
    TCP on 127.0.0.1, as services on other hosts would; `pg_socket` (a directory, such as
    /var/run/postgresql) gives them its Unix socket instead, as one host can (D77)."""

    def __init__(self, label: str, extra_env: dict[str, str] | None = None, *, pg_socket: str | None = None) -> None:
        self.label = label
        self.extra_env = extra_env or {}
        self.pg_socket = pg_socket
        self.tmp = Path(tempfile.mkdtemp(prefix=f"yf-bench-{label}-"))
        self.var_dir = self.tmp / "var"
        self.ports = {n: free_port() for n in NAMES}
        self.databases: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.broker: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.url = f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, timeout_s: float = 240) -> LivePlatform:
        (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.broker, bootstrap = start_broker(log_path=self.var_dir / "logs" / "broker.log")
        for n in NAMES:
            self.databases[n] = create_database(f"{self.label}_{n}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")}
        env |= {f"YOUFU_{n.upper()}_PORT": str(p) for n, p in self.ports.items()}
        env |= {f"YOUFU_{n.upper()}_DATABASE_URL": service_database_url(db, self.pg_socket)
                for n, db in self.databases.items()}
        # no simulated demo day: only the benchmark's own traffic
        env |= {"YOUFU_VAR_DIR": str(self.var_dir), "YOUFU_KAFKA_BOOTSTRAP": bootstrap,
                "YOUFU_DEMO_SIMULATE": "0"} | self.extra_env
        self.proc = subprocess.Popen([sys.executable, "-m", "youfu", "up"], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip())
            if line.strip() == "READY":
                break
        if not self.lines or self.lines[-1] != "READY":
            self.stop()
            raise RuntimeError("platform did not start:\n" + "\n".join(self.lines[-30:]))
        threading.Thread(target=lambda: [self.lines.append(x.rstrip()) for x in self.proc.stdout], daemon=True).start()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.broker:
            stop_process(self.broker)
        for db in self.databases.values():
            drop_database(db)
        self.databases = {}

    @property
    def accounts(self) -> list[dict]:
        return json.loads((self.var_dir / "demo-accounts.json").read_text())

    @property
    def world(self) -> dict:
        return json.loads((self.var_dir / "demo-world.json").read_text())

    def account(self, role: str) -> dict:
        return next(a for a in self.accounts if a["role"] == role)

    def processes(self) -> dict[str, psutil.Process]:
        """The five service processes (children of the launcher, `youfu serve <name>`) and the broker."""
        out: dict[str, psutil.Process] = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if "serve" in cmd and cmd[-1] in NAMES:
                out[cmd[-1]] = child
        out["broker"] = psutil.Process(self.broker.pid)
        return out

    def log_tail(self, name: str, n: int = 20) -> list[str]:
        path = self.var_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace").splitlines()[-n:] if path.exists() else []


def login_headers(base_url: str, account: dict) -> dict[str, str]:
    from tests.support.clients import access_token

    return {"Authorization": f"Bearer {access_token(base_url, account['phone'], account['password'])}"}


# ---- CPU accounting --------------------------------------------------------------------------

def _cpu(p: psutil.Process) -> float | None:
    try:
        t = p.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return None


def _busy(t) -> float:
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


class CpuMeter:
    """CPU seconds per group over an interval, as % of one core (the machine has os.cpu_count()
    cores, i.e. that many × 100 %). Groups: the named processes, `postgres (ours)` for backends
    serving our databases, `postgres (other)` for every other postgres process (background workers,
    colleagues' connections), `other` for everything else on the machine (system-wide busy time
    minus all of the above)."""

    def __init__(self, named: dict[str, psutil.Process], our_dbs: list[str]) -> None:
        self.named = named
        self.our_dbs = our_dbs

    def _snapshot(self) -> tuple[float, object, dict[int, tuple[str, float]]]:
        procs: dict[int, tuple[str, float]] = {}
        for name, p in self.named.items():
            c = _cpu(p)
            if c is not None:
                procs[p.pid] = (name, c)
        for p in psutil.process_iter(["name", "cmdline"]):
            if p.pid in procs:
                continue
            try:
                if p.info["name"] not in ("postgres", "postmaster"):
                    continue
                cmd = " ".join(p.info["cmdline"] or [])
            except psutil.Error:
                continue
            group = "postgres (ours)" if any(db in cmd for db in self.our_dbs) else "postgres (other)"
            c = _cpu(p)
            if c is not None:
                procs[p.pid] = (group, c)
        return time.monotonic(), psutil.cpu_times(), procs

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> dict[str, float]:
        t1, sys1, procs1 = self._snapshot()
        t0, sys0, procs0 = self._start
        wall = t1 - t0
        out: dict[str, float] = {}
        for pid, (group, c1) in procs1.items():
            c0 = procs0.get(pid, (group, 0.0))[1]  # a backend born during the interval: all of it
            out[group] = out.get(group, 0.0) + max(0.0, c1 - c0)
        total = _busy(sys1) - _busy(sys0)
        pct = {g: round(100 * v / wall, 1) for g, v in out.items()}
        pct["other"] = round(max(0.0, 100 * (total - sum(out.values())) / wall), 1)
        pct["total busy"] = round(100 * total / wall, 1)
        return pct


def wait_quiet(busy_limit_pct: float = 35.0, max_wait_s: float = 10.0, sample_s: float = 1.0) -> tuple[float, float]:
    """Wait until the whole machine is less than `busy_limit_pct` % busy (of all cores) over
    `sample_s`, or `max_wait_s` passed: colleagues' test runs share these cores. Returns
    (seconds waited, the last busy %)."""
    started = time.monotonic()
    while True:
        busy = psutil.cpu_percent(interval=sample_s)
        waited = time.monotonic() - started
        if busy < busy_limit_pct or waited >= max_wait_s:
            return waited, busy


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


# ---- numbers ---------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def ms(v: float | None) -> str:
    return "–" if v is None else f"{v * 1000:.0f}"


# ---- a lean HTTP/1.1 client for the load generator -------------------------------------------

class RawHttp:
    """Keep-alive HTTP/1.1 over asyncio streams, one request at a time per connection: what a load
    generator needs and nothing else (no pool, no redirects, no cookies), so that it costs the
    machine a fraction of what httpx does per request and the servers get the CPU. Answers with
    Content-Length or chunked bodies; reconnects when the server closes."""

    def __init__(self, base_url: str) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(base_url)
        self.host, self.port = u.hostname, u.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(head.encode("latin-1") + body)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            await self.close()
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body


# ---- the machine's ceiling: a bare FastAPI app -----------------------------------------------

async def add_voucher_elders(plat: LivePlatform, n: int) -> list[str]:
    """`n` elders with community-voucher wallets (bench/ordering.py's main path, bench/meals.py's
    counters): the orders' and vouchers' copies of the demo elder (低保, same district, street,
    grade and economic status, so the same 社区照护券; not special hardship, see below),
    `n` times over under new ids, a few hundred metres apart, written straight into the two
    services' databases (what `elder.*` events would have written; 10,000 elders through the
    assessment API would take the bench longer than the bench), then this month's vouchers issued
    by the vouchers service's own run (POST /api/vouchers/issuance-runs through the gateway)."""
    import random
    from datetime import datetime

    import asyncpg
    import httpx

    from shared.city import CITY_TZ

    rng = random.Random(27)
    ids = [uuid.uuid4() for _ in range(n)]
    jitter = [((rng.random() - 0.5) * 0.01, (rng.random() - 0.5) * 0.01) for _ in range(n)]
    elder_id = uuid.UUID(plat.world["elder_id"])
    now = datetime.now(CITY_TZ)
    for service in ("orders", "vouchers"):
        conn = await asyncpg.connect(user="postgres", host="127.0.0.1", database=plat.databases[service])
        try:
            row = dict(await conn.fetchrow("SELECT * FROM elders WHERE elder_id = $1", elder_id))
            columns = list(row)
            records = []
            for i, (dlat, dlon) in zip(ids, jitter):
                copy = dict(row, elder_id=i, updated_at=now)
                # 低保 but not 特困: a special-hardship elder is due the month's home visit, and
                # 12,000 of them at once made the visit planner place and dispatch 12,000 visit
                # orders inside the measured window (the month's planning run, not the path measured)
                if "special_hardship" in copy:
                    copy["special_hardship"] = False
                if copy.get("lat") is not None:
                    copy["lat"], copy["lon"] = copy["lat"] + dlat, copy["lon"] + dlon
                if "assessment_id" in copy and copy["assessment_id"] is not None:
                    copy["assessment_id"] = uuid.uuid4()
                records.append(tuple(copy[c] for c in columns))
            await conn.copy_records_to_table("elders", records=records, columns=columns)
        finally:
            await conn.close()
    city = login_headers(plat.url, plat.account("city_officer"))
    async with httpx.AsyncClient(timeout=600) as c:
        r = await c.post(f"{plat.url}/api/vouchers/issuance-runs", headers={**city, "Idempotency-Key": str(uuid.uuid4())},
                         json={"month": now.strftime("%Y-%m")})
        if r.status_code >= 400:
            raise RuntimeError(f"issuance run: {r.status_code} {r.text[:300]}")
        issued = r.json().get("issued_count")
    print(f"  {n:,} elders with wallets (issued {issued} vouchers)", flush=True)
    return [str(i) for i in ids]


def make_hello_app():
    """`uvicorn --factory live_platform:make_hello_app`: takes the same JSON POST the orders
    service takes and answers 201 with a small JSON body; no database, no auth, no middleware."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/hello", status_code=201)
    async def hello(body: dict) -> dict:  # (a plain dict: this module's annotations are strings)
        return {"order_id": str(uuid.uuid4()), "state": "placed", "echo": body.get("service_code")}

    return app


def start_hello() -> tuple[subprocess.Popen, str]:
    """The hello app under uvicorn in its own process, with the services' uvicorn settings."""
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "live_platform:make_hello_app",
                             "--app-dir", str(Path(__file__).resolve().parent), "--host", "127.0.0.1",
                             "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/docs", timeout=1):
                return proc, url
        except Exception:
            time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError("hello app did not start")


if __name__ == "__main__":
    print(__doc__)
