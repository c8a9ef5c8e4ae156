"""The one npm library the pages use, qrcode-generator, is served from a vendored copy
(gateway/static/vendor/, docs/decisions.md "The counter page and its QR library"): the copy must be
the version package-lock.json pins, unchanged, with its licence beside it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "gateway" / "static" / "vendor" / "qrcode-generator"
INSTALLED = ROOT / "node_modules" / "qrcode-generator"


def test_the_vendored_qr_library_is_the_pinned_version_with_its_licence():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/qrcode-generator"]
    assert pinned["license"] == "MIT"
    licence = (VENDORED / "LICENSE.txt").read_text()
    assert f"qrcode-generator {pinned['version']}" in licence and "MIT License" in licence
    if not INSTALLED.exists():
        pytest.skip("node_modules/qrcode-generator is not installed (`npm ci`): the copy is not compared")
    assert json.loads((INSTALLED / "package.json").read_text())["version"] == pinned["version"]
    assert (VENDORED / "qrcode.js").read_bytes() == (INSTALLED / "dist" / "qrcode.js").read_bytes(), \
        "gateway/static/vendor/qrcode-generator/qrcode.js differs from the pinned package: copy it again"


ECHARTS = ROOT / "gateway" / "static" / "vendor" / "echarts"


def test_the_vendored_chart_library_is_the_pinned_version_with_its_licences():
    """ECharts (the bureau's dashboard, docs/decisions.md D59): the minified build, unchanged, with
    the Apache licence, its NOTICE and the licences of what the build bundles (zrender, tslib)."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/echarts"]
    assert pinned["license"] == "Apache-2.0"
    licence = (ECHARTS / "LICENSE.txt").read_text()
    assert f"Apache ECharts {pinned['version']}" in licence and "Apache License" in licence
    for bundled in ("zrender", "tslib"):
        assert f"==== {bundled} {lock['packages'][f'node_modules/{bundled}']['version']} ====" in licence
    assert "Apache Software Foundation" in (ECHARTS / "NOTICE").read_text()
    installed = ROOT / "node_modules" / "echarts"
    if not installed.exists():
        pytest.skip("node_modules/echarts is not installed (`npm ci`): the copy is not compared")
    assert json.loads((installed / "package.json").read_text())["version"] == pinned["version"]
    assert (ECHARTS / "echarts.min.js").read_bytes() == (installed / "dist" / "echarts.min.js").read_bytes(), \
        "gateway/static/vendor/echarts/echarts.min.js differs from the pinned package: copy it again"
