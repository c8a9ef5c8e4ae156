"""`youfu up` (what `make up` runs): five processes ready, gateway health lists every service,
Ctrl-C leaves nothing behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from youfu.broker import free_port

pytestmark = pytest.mark.slow


def test_up_starts_everything_and_stops_cleanly(tmp_path, repo_root):
    ports = {name: free_port() for name in ("gateway", "assessment", "providers", "orders", "vouchers")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")}
    env |= {f"YOUFU_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env["YOUFU_VAR_DIR"] = str(tmp_path / "var")
    proc = subprocess.Popen([sys.executable, "-m", "youfu", "up", "--no-seed"], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.strip() == "READY":
                break
        assert lines and lines[-1] == "READY", "\n".join(lines)
        assert sum("ready" in x for x in lines) == 5
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert len(descendants) >= 6  # broker + five uvicorn processes
        health = httpx.get(f"http://127.0.0.1:{ports['gateway']}/health", timeout=10).json()
        assert health["services"] == {"assessment": "up", "providers": "up", "orders": "up", "vouchers": "up"}
        assert health["status"] == "ok"
        for name in ("assessment", "providers", "orders", "vouchers"):
            ready = httpx.get(f"http://127.0.0.1:{ports[name]}/ready", timeout=5).json()
            assert ready == {"service": name, "database": "ok", "broker": "ok", "status": "ready"}
        for name in ports:
            assert (tmp_path / "var" / f"{name}.db").exists()  # embedded default: one SQLite file each
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = ""
        lines += rest.splitlines()
    assert proc.returncode == 0, "\n".join(lines)
    assert lines[-1] == "stopped"
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left behind: {alive}"
