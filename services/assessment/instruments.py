"""The data files of assessment: the shipped instrument definitions under `instruments/`, the
care-plan table (`care_plans.json`) and the home-bed policy (`home_beds.json`). Read once per
process; what a definition must say and its checks are pure rules in `rules/instruments.py`.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from services.assessment.rules.instruments import Instrument, InstrumentDefinitionError, parse_instrument
from shared.errors import NotFound

DEFAULT_INSTRUMENT_CODE = "gb_t_42195_2022"
INSTRUMENTS_DIR = Path(__file__).with_name("instruments")
CARE_PLANS_FILE = Path(__file__).with_name("care_plans.json")
HOME_BEDS_FILE = Path(__file__).with_name("home_beds.json")


def load_instruments(directory: Path = INSTRUMENTS_DIR) -> dict[str, Instrument]:
    """Every `*.json` definition in `directory`, keyed by code, in file-name order."""
    instruments: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InstrumentDefinitionError(f"{path.name}: not valid JSON: {exc}") from exc
        instrument = parse_instrument(data, source=path.name)
        if instrument.code in instruments:
            raise InstrumentDefinitionError(f"{path.name}: code {instrument.code!r} is defined twice")
        instruments[instrument.code] = instrument
    if DEFAULT_INSTRUMENT_CODE not in instruments and directory == INSTRUMENTS_DIR:
        raise InstrumentDefinitionError(f"the default instrument {DEFAULT_INSTRUMENT_CODE!r} is missing")
    return instruments


@cache
def _shipped_instruments() -> dict[str, Instrument]:
    return load_instruments()  # the shipped files never change while the process runs


def get_instrument(code: str = DEFAULT_INSTRUMENT_CODE) -> Instrument:
    """One shipped instrument; an unknown code is a 404 for whoever asked for it."""
    instrument = _shipped_instruments().get(code)
    if instrument is None:
        known = "、".join(_shipped_instruments())
        raise NotFound(f"没有编号为 {code} 的评估量表（可用：{known}）", instrument=code)
    return instrument


def shipped_instruments() -> dict[str, Instrument]:
    """Every shipped instrument, keyed by code (for listing)."""
    return dict(_shipped_instruments())


@cache
def _care_plans() -> dict[str, Any]:
    return json.loads(CARE_PLANS_FILE.read_text(encoding="utf-8"))


def care_plan(instrument: str, grade: int) -> dict[str, Any] | None:
    """Policy data: suggested visits and services per grade, for the instrument the table is for."""
    plans = _care_plans()
    return plans["by_grade"].get(str(grade)) if plans["instrument"] == instrument else None


def care_plan_policy() -> dict[str, Any]:
    """The whole care-plan table (version, by grade: suggested items with default frequencies)."""
    return _care_plans()


@cache
def home_bed_policy() -> dict[str, Any]:
    """The versioned home-bed policy (`home_beds.json`): eligibility, anchoring kinds, device kinds."""
    return json.loads(HOME_BEDS_FILE.read_text(encoding="utf-8"))
