"""`youfu seed` against the session's platform (seeded by `youfu up` on its first start): it adds
nothing to demo data that is there (the accounts, the demo elder, provider and caregiver), finds
it without the first-start marker, plays the demo city day once (and only once), and says in
Chinese what to do when no platform answers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.support.clients import login
from youfu.broker import free_port

pytestmark = pytest.mark.slow


def env_for(var_dir, gateway_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")}
    return env | {"YOUFU_VAR_DIR": str(var_dir), "YOUFU_GATEWAY_PORT": str(gateway_port)}


def seed(repo_root, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "youfu", "seed", *args], cwd=repo_root, env=env,
                          capture_output=True, text=True, timeout=300)


def user_count(platform) -> int:
    admin = login(platform, "admin")
    n, offset = 0, 0
    while True:
        page = httpx.get(f"{platform.url}/api/admin/users", headers=admin, params={"limit": 500, "offset": offset},
                         timeout=30).json()
        n += len(page)
        if len(page) < 500:
            return n
        offset += 500


def test_seeding_a_seeded_platform_adds_nothing(platform, repo_root):
    accounts = (platform.var_dir / "demo-accounts.json").read_text()
    world = (platform.var_dir / "demo-world.json").read_text()
    users = user_count(platform)
    done = seed(repo_root, env_for(platform.var_dir, platform.ports["gateway"]), "--no-simulate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already loaded" in done.stdout and "demo city day" not in done.stdout
    assert (platform.var_dir / "demo-accounts.json").read_text() == accounts
    assert (platform.var_dir / "demo-world.json").read_text() == world
    assert user_count(platform) == users


def test_the_demo_data_is_found_without_the_first_start_marker(platform, repo_root, tmp_path):
    var = tmp_path / "var"  # the platform's files, as if `youfu up` had never written .seeded
    shutil.copytree(platform.var_dir / "keys", var / "keys")
    for name in ("demo-accounts.json", "demo-world.json"):
        shutil.copy2(platform.var_dir / name, var / name)
    done = seed(repo_root, env_for(var, platform.ports["gateway"]), "--no-simulate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already loaded" in done.stdout
    assert (var / ".seeded").exists()
    assert (var / "demo-accounts.json").read_text() == (platform.var_dir / "demo-accounts.json").read_text()


def test_the_demo_city_day_is_played_once(platform, repo_root):
    report = platform.var_dir / "demo-simulation.json"
    assert not report.exists()  # the session platform starts without it (YOUFU_DEMO_SIMULATE=0)
    env = env_for(platform.var_dir, platform.ports["gateway"])
    first = seed(repo_root, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "already loaded" in first.stdout and "✓ demo city day:" in first.stdout
    played = json.loads(report.read_text())
    assert played["scale"] == "demo" and played["world"]["elders"] == 18 and played["orders"]["placed"] > 0
    again = seed(repo_root, env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already played" in again.stdout and "[phase]" not in again.stdout
    assert json.loads(report.read_text())["run_tag"] == played["run_tag"]


def test_no_platform_running_is_said_plainly(repo_root, tmp_path):
    port = free_port()
    done = seed(repo_root, env_for(tmp_path / "var", port))
    assert done.returncode == 1
    assert f"平台没有在运行：连不上网关 http://127.0.0.1:{port}" in done.stderr and "make up" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "demo-accounts.json").exists()  # nothing written
