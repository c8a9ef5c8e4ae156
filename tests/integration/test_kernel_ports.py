"""youfu.broker.free_port: a port free to bind, outside the range outgoing connections draw their
source ports from (where the kernel says what that range is)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from youfu import broker
from youfu.broker import free_port


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_bound():
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if not ranges.exists():
        pytest.skip("the kernel does not say its ephemeral range here")
    low = int(ranges.read_text().split()[0])
    ports = {free_port() for _ in range(50)}
    assert all(20000 <= p < low for p in ports), sorted(ports)
    assert len(ports) > 40  # spread, not one port handed out again and again
    for port in list(ports)[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_without_the_kernels_range_a_port_comes_from_the_kernel(monkeypatch, tmp_path):
    monkeypatch.setattr(broker, "_EPHEMERAL", tmp_path / "missing")
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
