"""Compare, size and sweep: paired differences, analytic fleet sizes, monotone sweeps, CLI errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.compare import Comparison
from sim.loader import load_scenario
from sim.overrides import get_value, set_value
from sim.runner import run
from sim.sizing import size

from conftest import scenario_raw, write_toml

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "surge_dec2024.toml"


def shuttle_raw(tonnes: float, count: int = 1) -> dict:
    """The conftest shuttle: 50 t a trip, 2 h load + 2 h out + 3 h unload + 2 h back = 9 h cycle, deadline day 10."""
    return scenario_raw({"deadline_days": 10, "horizon_days": 20, "requirements": {"stuff": {"quantity": tonnes}},
                         "fleets": {"planes": {"count": count}}})


def test_conftest_shuttle_is_what_the_sizing_analytics_assume() -> None:
    raw = shuttle_raw(1000)
    plane = raw["carriers"]["plane"]
    assert (plane["payload_t"], plane["load_time_h"], plane["unload_time_h"]) == (50, 2, 3)
    assert raw["legs"]["ab"]["distance_nm"] / plane["block_speed_kn"] == 2


@pytest.mark.parametrize("tonnes", [10_000, 13_000, 2_600])
def test_size_finds_the_analytic_fleet_for_a_shuttle(tonnes: float) -> None:
    # one aircraft completes unloads at 7 + 9k h; by 240 h that is k = 0..25: 26 trips of 50 t = 1,300 t
    per_aircraft = (math.floor((240 - 7) / 9) + 1) * 50
    expected = math.ceil(tonnes / per_aircraft)
    result = size(shuttle_raw(tonnes), "fleets.planes.count", 1, 40, 0.9,
                  lambda s: run(s, replications=1, seed=0))
    assert result.answer == expected
    assert result.monotone
    tried = {p.value: p.all_met_probability for p in result.points}
    assert tried[expected] == 1.0
    if expected > 1:
        assert tried[expected - 1] == 0.0  # the value below the answer was run and fails


def test_size_says_plainly_when_no_value_is_enough() -> None:
    result = size(shuttle_raw(100_000), "fleets.planes.count", 1, 5, 0.9, lambda s: run(s, replications=1, seed=0))
    assert result.answer is None
    assert "no value of fleets.planes.count in 1..5 is enough" in result.message()
    assert "planes fleet" in result.message()  # what binds at the top of the range


def test_identical_scenarios_compare_with_zero_differences(tmp_path: Path) -> None:
    scenario = load_scenario(BASELINE)
    twin = scenario.model_copy(update={"name": "twin"})
    comparison = Comparison([run(scenario, replications=8, seed=3), run(twin, replications=8, seed=3)])
    rows = [r for r in comparison.rows() if r["scenario"] == "twin" and r["metric"] != "top bottleneck"]
    assert rows
    for row in rows:
        if math.isfinite(row["diff_vs_first"]):
            assert row["diff_vs_first"] == 0 and row["diff_ci95_low"] == 0 and row["diff_ci95_high"] == 0, row


def test_more_aircraft_do_not_raise_the_median_closure_on_the_baseline() -> None:
    raw = set_value(load_scenario_raw(), "fleets.c17_airlift.count", get_value(load_scenario_raw(), "fleets.c17_airlift.count") + 12)
    from sim.loader import validate_raw

    more = validate_raw(raw)
    base = run(load_scenario(BASELINE), replications=20, seed=1, jobs=2)
    extra = run(more, replications=20, seed=1, jobs=2)
    # the closure of everything (the last class) per replication; its median must not rise
    last = [max(row[f"{c}_closure_day"] or math.inf for c in base.scenario.requirements) for row in base.replication_rows()[0]]
    last_more = [max(row[f"{c}_closure_day"] or math.inf for c in more.requirements) for row in extra.replication_rows()[0]]
    assert sorted(last_more)[len(last_more) // 2] <= sorted(last)[len(last) // 2]
    assert extra.summary()["all_met_probability"] >= base.summary()["all_met_probability"]


def load_scenario_raw() -> dict:
    from sim.overrides import load_raw

    return load_raw(BASELINE)


def test_sweep_closure_is_non_decreasing_in_quantity_on_the_baseline(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert main(["sweep", str(BASELINE), "--set", "requirements.rounds_155.quantity=100000:900000:200000",
                 "-n", "4", "--jobs", "2", "--out", str(out), "--quiet"]) == 0
    with open(out / "sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["requirements.rounds_155.quantity"]) for r in rows] == [100000, 300000, 500000, 700000, 900000]
    closure = [float(r["rounds_155_closure_day_p50"]) if r["rounds_155_closure_day_p50"] else math.inf for r in rows]
    assert closure == sorted(closure)
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["keys"] == ["requirements.rounds_155.quantity"] and "message" in doc
    assert (out / "sweep.png").stat().st_size > 0


def test_changing_a_quantity_scales_its_release_schedule() -> None:
    raw = load_scenario_raw()
    changed = set_value(raw, "requirements.rounds_155.quantity", 900_000)
    releases = changed["requirements"]["rounds_155"]["release"]
    assert sum(r["quantity"] for r in releases) == 900_000
    assert [r.get("per_day") for r in releases] == [None if "per_day" not in r else r["per_day"] * 3
                                                    for r in raw["requirements"]["rounds_155"]["release"]]


def test_compare_cli_writes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    a = write_toml(tmp_path / "a.toml", {**shuttle_raw(2000, 1), "name": "one_plane"})
    b = write_toml(tmp_path / "b.toml", {**shuttle_raw(2000, 2), "name": "two_planes"})
    assert main(["compare", str(a), str(b), "--out", str(out), "--quiet"]) == 0
    files = {p.name for p in out.iterdir()}
    assert {"compare.csv", "compare.md", "compare.json", "compare_delivery.png", "compare_counts.png"} <= files
    assert {f for f in files if not f.endswith(".svg")} == {"compare.csv", "compare.md", "compare.json", "compare_delivery.png",
                                                            "compare_counts.png", "compare.html"}
    with open(out / "compare.csv") as fh:
        rows = {(r["metric"], r["scenario"]): r for r in csv.DictReader(fh)}
    # one aircraft: 26 trips of 50 t by day 10 (1,300 t < 2,000 t); two: 40 trips (all 2,000 t, closing on trip 20 each)
    assert float(rows[("stuff: p_met", "one_plane")]["value"]) == 0
    assert float(rows[("stuff: p_met", "two_planes")]["value"]) == 1
    assert float(rows[("stuff: p_met", "two_planes")]["diff_vs_first"]) == 1
    assert float(rows[("flights: plane", "one_plane")]["value"]) == 40  # 2,000 t / 50 t, all delivered by day 20
    assert "two_planes" in (out / "compare.md").read_text()


def test_compare_reports_classes_it_cannot_compare(tmp_path: Path) -> None:
    one = shuttle_raw(1000)
    other = shuttle_raw(1000)
    other["name"] = "with_extra"
    other["cargo"]["extra"] = dict(other["cargo"]["stuff"])
    other["requirements"]["extra"] = {"quantity": 100, "routes": ["r"], "release": [{"node": "a"}]}
    comparison = Comparison([run(load(one, tmp_path, "x"), seed=0), run(load(other, tmp_path, "y"), seed=0)])
    assert comparison.shared_classes() == ["stuff"]
    assert comparison.unshared_classes() == {"base": [], "with_extra": ["extra"]}


def load(raw: dict, folder: Path, name: str):
    return load_scenario(write_toml(folder / f"{name}.toml", raw))


@pytest.mark.parametrize("argv, message", [
    (["size", "{s}", "--vary", "fleets.nope.count", "--range", "1:5"], 'unknown key "fleets.nope.count": fleets has no "nope"'),
    (["size", "{s}", "--vary", "fleets.planes.count", "--range", "5:1"], "empty range"),
    (["size", "{s}", "--vary", "fleets.planes.count", "--range", "1:2.5"], "not a whole number"),
    (["size", "{s}", "--vary", "nodes.a.lat", "--range", "1:5"], "not a whole number"),
    (["size", "{s}", "--vary", "nodes.a.kind", "--range", "1:5"], "not a number"),
    (["sweep", "{s}", "--set", "requirements.stuff.quantity=100:50:10"], "empty range"),
    (["sweep", "{s}", "--set", "requirements.stuff.quantity=100:500:0"], "STEP must be above 0"),
    (["sweep", "{s}", "--set", "requirements.stuff.quantity=100:500"], "expected KEY=LO:HI:STEP"),
    (["sweep", "{s}", "--set", "fleets.planes.count=1:3:0.5"], "whole number"),
    (["compare", "{s}"], "at least two"),
])
def test_study_cli_errors_exit_2_with_a_clear_message(argv, message, tmp_path: Path, capsys) -> None:
    scenario = write_toml(tmp_path / "s.toml", shuttle_raw(1000))
    code = main([a.replace("{s}", str(scenario)) for a in argv] + ["--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_compare_pairs_replications_by_index_when_one_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.runner as runner

    scenario = load_scenario(BASELINE)
    twin = scenario.model_copy(update={"name": "twin"})
    real = runner.simulate

    def fails_once_for_twin(s, rng, keep_trips=False):
        if s.name == "twin" and not keep_trips and rng.bit_generator.seed_seq.spawn_key == (1,):
            raise RuntimeError("lost")
        return real(s, rng, keep_trips)

    monkeypatch.setattr(runner, "simulate", fails_once_for_twin)
    comparison = Comparison([run(scenario, replications=5, seed=4), run(twin, replications=5, seed=4)])
    assert [f.index for f in comparison.results[1].aggregate.failures] == [1]
    for metric in comparison.metrics():
        base, other = metric.values
        assert len(base) == len(other) == 4  # replications 0, 2, 3, 4 of both
        assert np.array_equal(base, other, equal_nan=True), metric.name  # the same replications, the same scenario
