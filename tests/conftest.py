"""Shared helpers: a minimal valid scenario as plain data, a tiny TOML writer, and run shortcuts.

Tests build scenarios as Python dicts (`scenario_raw(...)` plus `deep_merge` overrides),
validate them with `sim.loader.validate_raw` and run them with `sim.simulate`. CLI tests
write the same dicts as TOML with `write_toml`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import sim
from sim.loader import deep_merge, validate_raw
from sim.record import RunRecord
from sim.schema import Scenario

KM_PER_NM = 1.852

# No clock decides a test's outcome: Hypothesis's per-example deadline and its "too slow" health
# check would fail a correct test on a loaded machine. Speed is measured in bench/, not here.
settings.register_profile("surge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("surge")

# A base scenario: one aircraft shuttles divisible tonnage from "a" to "b" over 1000 nm at 500 kn
# (2 h each way), 2 h to load and 3 h to unload: a 9 h cycle, 50 t a load.
BASE: dict[str, Any] = {
    "name": "base",
    "start_date": dt.date(2024, 12, 12),
    "deadline_days": 10,
    "horizon_days": 20,
    "nodes": {
        "a": {"kind": "airbase", "lat": 39.13, "lon": -75.47},
        "b": {"kind": "airbase", "lat": 50.11, "lon": 22.02},
    },
    "legs": {"ab": {"from": "a", "to": "b", "mode": "air", "distance_nm": 1000}},
    "routes": {"r": {"legs": ["ab"]}},
    "carriers": {
        "plane": {"mode": "air", "payload_t": 50, "pallet_positions": 10, "block_speed_kn": 500,
                  "load_time_h": 2, "unload_time_h": 3},
    },
    "cargo": {"stuff": {"unit": "tonnes", "unit_weight_t": 1, "units_per_pallet": 5, "divisible": True}},
    "requirements": {"stuff": {"quantity": 100_000, "routes": ["r"], "release": [{"node": "a"}]}},
    "fleets": {"planes": {"carrier": "plane", "count": 1, "legs": ["ab"]}},
}


def scenario_raw(overrides: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A fresh copy of the base scenario with `overrides` merged in (tables key by key) and top-level keys set."""
    raw = copy.deepcopy(BASE)
    if overrides:
        raw = deep_merge(raw, overrides)
    raw.update(copy.deepcopy(top))
    return raw


def build(raw: dict[str, Any]) -> Scenario:
    """Validate plain scenario data (raises `ScenarioError` listing every problem)."""
    return validate_raw(copy.deepcopy(raw))


def simulate_raw(raw: dict[str, Any], seed: int = 0, keep_trips: bool = True) -> tuple[Scenario, RunRecord]:
    """Validate and run one replication of plain scenario data."""
    scenario = build(raw)
    return scenario, sim.simulate(scenario, np.random.default_rng(seed), keep_trips=keep_trips)


def delivered_between(record: RunRecord, cls: str, t0_h: float, t1_h: float) -> float:
    """Quantity of `cls` delivered in the half-open window (t0_h, t1_h]."""
    return sum(q for t, q in record.deliveries[cls] if t0_h < t <= t1_h)


def assert_conserved(record: RunRecord, classes: list[str] | tuple[str, ...], tol: float = 1e-6) -> None:
    """released = delivered + in transit + waiting, for every class."""
    for cls in classes:
        released = record.released[cls]
        total = record.delivered[cls] + record.in_transit[cls] + record.waiting[cls]
        assert total == pytest.approx(released, abs=tol, rel=1e-9), (
            f"{cls}: released {released} != delivered {record.delivered[cls]} + in transit "
            f"{record.in_transit[cls]} + waiting {record.waiting[cls]}"
        )


# --- a minimal TOML writer (the project has no TOML-writing dependency) -----------------------


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """TOML text of nested dicts: scalars first, then one [table] per nested dict."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            has_scalars = any(not isinstance(v, dict) for v in value.values())
            body = to_toml(value, name)
            out += (f"\n[{name}]\n" if has_scalars or not value else "") + body
    return out


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` as a TOML file at `path` and return the path."""
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def fail_replication(monkeypatch: pytest.MonkeyPatch, index: int, error: Exception, scenario: str | None = None) -> None:
    """Make replication `index` raise `error` (only for the scenario named `scenario`, if given).

    Runs that keep their trip log (the representative replication drawn again) still succeed.
    """
    import sim.runner as runner

    real = runner.simulate

    def flaky(s, rng, keep_trips=False):
        if scenario in (None, s.name) and not keep_trips and rng.bit_generator.seed_seq.spawn_key == (index,):
            raise error
        return real(s, rng, keep_trips)

    monkeypatch.setattr(runner, "simulate", flaky)
