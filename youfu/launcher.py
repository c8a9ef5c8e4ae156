"""`youfu up`: broker, migrations, four services and the gateway, each its own process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.settings import PROCESSES, Settings
from youfu.broker import port_open, start_broker, stop_process
from youfu.keys import ensure_dev_keys, mint_service_token


class LaunchError(RuntimeError):
    pass


def say(msg: str) -> None:
    print(msg, flush=True)


def check_ports(settings: Settings) -> None:
    for process in PROCESSES:
        port = settings.port(process)
        if port_open(settings.host, port):
            raise LaunchError(f"port {port} in use: set YOUFU_{process.upper()}_PORT to a free port "
                              f"(or stop whatever holds it)")


def migrate_all(settings: Settings) -> None:
    from shared.migrations import upgrade

    for process in PROCESSES:
        url = settings.database_url(process)
        say(f"  migrating {process:<10} {url.split('@')[-1]}")
        upgrade(process, url)


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LaunchError(f"{url} exited with code {proc.returncode} before it was ready (see var/logs)")
        try:
            with urllib.request.urlopen(url + "/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise LaunchError(f"{url} not ready after {timeout_s:.0f}s (see var/logs)")


def replica_plan(settings: Settings, replicas: int) -> dict[str, list[int]]:
    """The port of each replica of each process: one replica listens on the process's own port;
    several listen on free ports behind the balancer, which takes the process's own port."""
    from youfu.broker import free_port

    if replicas <= 1:
        return {p: [settings.port(p)] for p in PROCESSES}
    return {p: [free_port(settings.host) for _ in range(replicas)] for p in PROCESSES}


def check_replicas(settings: Settings, replicas: int) -> None:
    if replicas <= 1:
        return
    embedded = [p for p in PROCESSES if not settings.database_url(p).startswith("postgresql")]
    if embedded:
        raise LaunchError(f"--replicas {replicas} needs PostgreSQL (replicas share one database each; SQLite files "
                          f"cannot be shared): set YOUFU_<PROCESS>_DATABASE_URL for {', '.join(embedded)}")


def up(settings: Settings, *, seed: bool = True, ready_timeout_s: float = 60.0, replicas: int = 1) -> int:
    """`replicas` > 1: that many processes of each service and of the gateway, each with its own
    instance id (YOUFU_INSTANCE_ID = <process>-<n>), behind one local balancer per process on the
    process's usual port (youfu/balancer.py); the services reach each other through the balancers.
    A replica that dies is started again (as Kubernetes would), the others keep answering."""
    var = settings.var_dir.resolve()
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_dev_keys(var)
    settings = Settings(var_dir=var)
    try:
        check_replicas(settings, replicas)
        check_ports(settings)
    except LaunchError as exc:
        say(f"✗ {exc}")
        return 1
    broker = balancer = None
    procs: dict[tuple[str, int], subprocess.Popen] = {}
    stopping = {"flag": False}

    def on_signal(signum, _frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bootstrap = os.environ.get("YOUFU_KAFKA_BOOTSTRAP", "")
        if not bootstrap:
            broker, bootstrap = start_broker(log_path=logs / "broker.log")
            say(f"✓ broker (Tansu, Kafka protocol) on {bootstrap}")
        else:
            say(f"✓ using external Kafka at {bootstrap}")
        say("✓ applying migrations")
        migrate_all(settings)
        env = dict(os.environ, YOUFU_VAR_DIR=str(var), YOUFU_KAFKA_BOOTSTRAP=bootstrap)
        plan = replica_plan(settings, replicas)
        if replicas > 1:  # every process finds the others at their balancer
            env |= {f"YOUFU_{p.upper()}_URL": f"http://{settings.host}:{settings.port(p)}" for p in PROCESSES}
        private = settings.private_key_pem

        def start(process: str, i: int) -> subprocess.Popen:
            child_env = dict(env, YOUFU_SERVICE_TOKEN=mint_service_token(private, process))
            name = process
            if replicas > 1:
                name = f"{process}-{i + 1}"
                child_env |= {f"YOUFU_{process.upper()}_PORT": str(plan[process][i]), "YOUFU_INSTANCE_ID": name}
            log = open(logs / f"{name}.log", "ab")
            return subprocess.Popen([sys.executable, "-m", "youfu", "serve", process], env=child_env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        for process in PROCESSES:
            for i in range(len(plan[process])):
                procs[(process, i)] = start(process, i)
        for (process, i), proc in procs.items():
            url = f"http://{settings.host}:{plan[process][i]}"
            wait_ready(url, proc, ready_timeout_s)
            say(f"✓ {process + (f'-{i + 1}' if replicas > 1 else ''):<12} ready  {url}")
        if replicas > 1:
            pools = [f"{p}={settings.port(p)}=" + ",".join(f"http://{settings.host}:{port}" for port in plan[p])
                     for p in PROCESSES]
            log = open(logs / "balancer.log", "ab")
            balancer = subprocess.Popen([sys.executable, "-m", "youfu.balancer", "--host", settings.host, *pools],
                                        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            for p in PROCESSES:
                wait_ready(f"http://{settings.host}:{settings.port(p)}", balancer, ready_timeout_s)
            say(f"✓ balancer (round robin per request) in front of {replicas} replicas of each process")
        if seed:
            _seed(settings)
        gw = f"http://{settings.host}:{settings.port('gateway')}"
        say("")
        say(f"有福 Youfu is running.  Open {gw}/  (API docs {gw}/docs, events {gw}/asyncapi.json)")
        accounts = var / "demo-accounts.json"
        if accounts.exists():
            say("Demo accounts (password for each is in var/demo-accounts.json):")
            for a in json.loads(accounts.read_text()):
                say(f"  {a['role']:<15} {a['phone']}  {a['password']}")
        say("Logs in var/logs/. Press Ctrl-C to stop.")
        say("READY")
        while not stopping["flag"]:
            for (process, i), proc in list(procs.items()):
                if proc.poll() is None:
                    continue
                if replicas <= 1:
                    raise LaunchError(f"{process} stopped unexpectedly with code {proc.returncode} "
                                      f"(see var/logs/{process}.log)")
                say(f"! {process}-{i + 1} stopped with code {proc.returncode}; starting it again "
                    f"(the other replicas answer meanwhile)")
                procs[(process, i)] = start(process, i)
            if balancer is not None and balancer.poll() is not None:
                raise LaunchError(f"the balancer stopped with code {balancer.returncode} (see var/logs/balancer.log)")
            time.sleep(0.3)
        return 0
    except LaunchError as exc:
        say(f"✗ {exc}")
        return 1
    finally:
        say("stopping …")
        if balancer is not None:
            stop_process(balancer)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            stop_process(proc)
        if broker is not None:
            stop_process(broker)  # last: services flush their outboxes into it first
        say("stopped")


def _seed(settings: Settings) -> None:
    """Demo data on first start (var/.seeded says it was loaded; `youfu seed` loads it later)."""
    from youfu.seed import MARKER, SeedError, seed_demo

    if (settings.var_dir / MARKER).exists():
        return
    try:
        seed_demo(settings)
    except SeedError as exc:
        raise LaunchError(f"demo data not loaded: {exc}") from exc
    if demo_day_wanted():
        _simulate_demo_day(settings)


def demo_day_wanted() -> bool:
    return os.environ.get("YOUFU_DEMO_SIMULATE", "1") != "0"


def _simulate_demo_day(settings: Settings) -> bool:
    """A small simulated city day (`youfu simulate --scale demo`) so the bureau pages have charts:
    its own elders, providers and accounts, kept clear of the demo world. YOUFU_DEMO_SIMULATE=0
    skips it. A failure here is reported, never fatal: the demo world is already there. Its
    report is var/demo-simulation.json (what `youfu seed` looks for)."""
    from youfu.simulate.report import summary_line
    from youfu.simulate.runner import config_from_var, run

    say("✓ simulating a demo city day (youfu simulate --scale demo; YOUFU_DEMO_SIMULATE=0 skips it)")
    path = settings.var_dir / "demo-simulation.json"
    try:
        cfg = config_from_var(settings.var_dir, gateway=f"http://{settings.host}:{settings.port('gateway')}",
                              scale="demo", json_path=path, print_report=False)
        report = run(cfg)
    except Exception as exc:  # noqa: BLE001 - the platform runs without the demo day
        say(f"! demo city day not simulated: {exc} (try `youfu simulate` later)")
        return False
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    say(f"✓ demo city day: {summary_line(report)} (report: {shown})")
    return True


def serve(process: str, settings: Settings) -> int:
    import uvicorn

    module = "gateway.main" if process == "gateway" else f"services.{process}.main"
    # The gateway keeps idle connections open 65 s, longer than its clients keep them (httpx and
    # most HTTP libraries 5 s, an ingress 60 s): with equal timeouts a client sometimes sends on a
    # connection the server is closing that instant and gets no answer (seen as a RemoteProtocolError
    # in a fault test's provider robot). The services keep uvicorn's 5 s: their only clients (the
    # gateway, each other) drop idle connections after 2 s (shared/http.py).
    keep_alive_s = 65 if process == "gateway" else 5
    uvicorn.run(f"{module}:create_app", factory=True, host=settings.host, port=settings.port(process),
                access_log=False, log_level="warning", timeout_graceful_shutdown=10,
                timeout_keep_alive=keep_alive_s)
    return 0


