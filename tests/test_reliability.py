"""Reliability: inputs and situations that used to hang, lose results, reach the terminal raw or exit 1 (issue #16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import ScenarioError, UsageError

from conftest import build, scenario_raw, write_toml

ROOT = Path(__file__).resolve().parent.parent


# --- 1. a sortie that can never leave --------------------------------------------------------------------


def _breaking(probability: float, repair: dict, at: str = "origin") -> dict:
    return scenario_raw({"uncertainty": {"reliability": {"plane": {
        "breakdown_probability": probability, "breakdown_at": at, "repair_time_h": repair}}}})


def test_breakdown_at_every_departure_is_refused_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _breaking(1.0, {"dist": "fixed", "value": 1e-9})
    with pytest.raises(ScenarioError) as info:
        build(raw)
    assert [p.path for p in info.value.problems] == ["uncertainty.reliability.plane.breakdown_probability"]
    assert "can never leave" in info.value.problems[0].message
    path = write_toml(tmp_path / "loop.toml", raw)
    assert main(["validate", str(path)]) == 2
    assert "uncertainty.reliability.plane.breakdown_probability" in capsys.readouterr().err
    out = tmp_path / "r"
    assert main(["run", str(path), "-n", "1", "--out", str(out), "-q"]) == 2
    assert not out.exists()


def test_breakdown_at_every_arrival_still_moves_cargo() -> None:
    # after unloading: each sortie delivers, then the carrier is repaired where it stands
    build(_breaking(1.0, {"dist": "fixed", "value": 1.0}, at="destination"))


def test_the_size_estimate_counts_sorties_lost_to_breakdowns() -> None:
    from sim.budget import movement_bound

    # 20-day horizon = 480 h; cycle 9 h; p = 0.999: a try every 0.001 x 9 + 0.999 x 0.001 h = 0.009999 h
    scenario = build(_breaking(0.999, {"dist": "fixed", "value": 0.001}))
    assert movement_bound(scenario)["planes"] == pytest.approx(480 / (0.001 * 9 + 0.999 * 0.001) + 1)
    # without breakdowns: one movement per 9 h cycle
    assert movement_bound(build(scenario_raw()))["planes"] == pytest.approx(480 / 9 + 1)
    # a long repair does not lower the bound below the movements
    assert movement_bound(build(_breaking(0.5, {"dist": "fixed", "value": 100})))["planes"] == pytest.approx(480 / 9 + 1)


def test_a_breakdown_loop_too_large_to_run_is_refused_with_an_estimate(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    raw = _breaking(0.99999, {"dist": "fixed", "value": 1e-9})
    raw["fleets"]["planes"]["count"] = 4
    out = tmp_path / "r"
    assert main(["run", str(write_toml(tmp_path / "s.toml", raw)), "-n", "1", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "too large to run" in err and "planes up to" in err
    assert not out.exists()
