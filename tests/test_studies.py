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
    assert extra.summary().all_met_probability >= base.summary().all_met_probability


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
    from conftest import fail_replication

    scenario = load_scenario(BASELINE)
    twin = scenario.model_copy(update={"name": "twin"})
    fail_replication(monkeypatch, 1, RuntimeError("lost"), scenario="twin")
    comparison = Comparison([run(scenario, replications=5, seed=4), run(twin, replications=5, seed=4)])
    assert [f.index for f in comparison.results[1].aggregate.failures] == [1]
    for metric in comparison.metrics():
        base, other = metric.values
        assert len(base) == len(other) == 4  # replications 0, 2, 3, 4 of both
        assert np.array_equal(base, other, equal_nan=True), metric.name  # the same replications, the same scenario


@pytest.mark.parametrize("quantity, expected", [(1, (1,)), (51, (24, 24, 3))])
def test_scaling_a_whole_unit_quantity_keeps_each_release_entry_positive(quantity: int, expected: tuple) -> None:
    # bradley releases 70 + 70 (10 a day) + 10 of 150; by largest remainders 51 is 23.8 + 23.8 + 3.4 -> 24 + 24 + 3,
    # and 1 is 0.47 + 0.47 + 0.07 -> 1 + 0 + 0 (the entries with 0 dropped)
    from sim.loader import validate_raw

    scenario = validate_raw(set_value(load_scenario_raw(), "requirements.bradley.quantity", quantity))
    requirement = scenario.requirements["bradley"]
    assert requirement.release_quantities() == expected
    assert sum(requirement.release_quantities()) == quantity
    assert all(q > 0 for q in requirement.release_quantities())
    if quantity == 51:
        assert [r.per_day for r in requirement.release] == [None, 3, None]  # 10 a day x 51/150 = 3.4 -> 3


def test_scaling_keeps_an_entry_without_quantity_taking_the_remainder() -> None:
    from sim.loader import validate_raw
    from sim.overrides import apportion

    raw = shuttle_raw(10)
    raw["cargo"]["stuff"]["divisible"] = False
    raw["requirements"]["stuff"]["release"] = [{"node": "a", "quantity": 6}, {"node": "a", "start_day": 1, "per_day": 2}]
    requirement = validate_raw(set_value(raw, "requirements.stuff.quantity", 3)).requirements["stuff"]
    assert requirement.release_quantities() == (2, 1)  # 6:4 of 3 is 1.8 + 1.2 -> 2 + 1
    assert requirement.release[1].quantity is None and requirement.release[1].per_day == 1
    assert apportion(1, [0.2, 0.5, 0.3]) == [0, 1, 0]
    assert apportion(7, [1, 1, 1]) == [3, 2, 2]


def _count_runs(monkeypatch: pytest.MonkeyPatch) -> list:
    """Replace the studies' `run` by one that records its scenarios and fails the test if called."""
    import sim.studies

    calls: list = []

    def no_run(scenario, **kwargs):
        calls.append(scenario.name)
        raise AssertionError("a simulation ran before every scenario was checked")

    monkeypatch.setattr(sim.studies, "run", no_run)
    return calls


@pytest.mark.parametrize("argv, message", [
    (["sweep", "{s}", "--set", "nodes.a.lat=0:100:50"], "at nodes.a.lat = 100: nodes.a.lat: must be <= 90"),
    (["sweep", "{s}", "--set", "fleets.planes.count=2:0:1"], "empty range"),
    (["sweep", "{s}", "--set", "fleets.planes.count=0:2:1"],
     'at fleets.planes.count = 0: requirements.stuff.routes[0]: route "r", leg "ab": no fleet with carriers serves this leg'),
    (["size", "{s}", "--vary", "fleets.planes.count", "--range", "0:6"], "at fleets.planes.count = 0: requirements.stuff"),
    (["size", "{s}", "--vary", "fleets.planes.count", "--range", "1:200000"],
     "at fleets.planes.count = 200000: fleets.planes.count: must be <= 100000"),
    # 99,999 aircraft x (480 h / 9 h + 1) movements is over the budget: refused at HI before LO runs
    (["size", "{s}", "--vary", "fleets.planes.count", "--range", "1:99999"],
     "at fleets.planes.count = 99999: scenario base is too large to run"),
])
def test_sweep_and_size_check_every_scenario_before_the_first_run(argv, message, tmp_path: Path, capsys,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_runs(monkeypatch)
    scenario = write_toml(tmp_path / "s.toml", shuttle_raw(1000))
    code = main([a.replace("{s}", str(scenario)) for a in argv] + ["--out", str(tmp_path / "o"), "--quiet"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert message in err
    assert calls == []
    assert not (tmp_path / "o").exists()


def test_sweep_api_raises_with_the_value_before_running(tmp_path: Path) -> None:
    from sim.errors import ScenarioError
    from sim.sizing import sweep

    ran: list = []
    with pytest.raises(ScenarioError) as info:
        sweep(shuttle_raw(1000), [("nodes.a.lat", [0.0, 45.0, 90.5])], 0.9, ran.append)
    assert [str(p) for p in info.value.problems] == ["at nodes.a.lat = 90.5: nodes.a.lat: must be <= 90.0, got 90.5"]
    assert ran == []


def test_compare_checks_for_a_shared_class_before_running(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_runs(monkeypatch)
    other = shuttle_raw(1000)
    other["name"] = "other"
    other["cargo"] = {"thing": other["cargo"]["stuff"]}
    other["requirements"] = {"thing": other["requirements"]["stuff"]}
    a = write_toml(tmp_path / "a.toml", shuttle_raw(1000))
    b = write_toml(tmp_path / "b.toml", other)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "these scenarios share no cargo class" in capsys.readouterr().err
    assert calls == []


def test_sweep_of_a_fleet_reports_the_smallest_value_met(tmp_path: Path) -> None:
    # 2,000 t: one aircraft delivers 1,300 t by day 10 (P = 0), two or more deliver all of it (P = 1)
    out = tmp_path / "sweep"
    scenario = write_toml(tmp_path / "s.toml", shuttle_raw(2000))
    assert main(["sweep", str(scenario), "--set", "fleets.planes.count=1:3:1", "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["reading"] == "smallest_met"
    assert doc["deliverable"] == 2 and isinstance(doc["deliverable"], int)
    assert doc["message"] == ("fleets.planes.count = 2 is the smallest swept value met with probability >= 0.9 "
                              "(P = 1.00; at 1, P = 0.00)")
    values = [p["fleets.planes.count"] for p in doc["points"]]
    assert values == [1, 2, 3] and all(isinstance(v, int) for v in values)  # whole keys stay whole
    assert [p["all_met_probability"] for p in doc["points"]] == [0.0, 1.0, 1.0]
    with open(out / "sweep.csv") as fh:
        assert [r["fleets.planes.count"] for r in csv.DictReader(fh)] == ["1", "2", "3"]


def test_sweep_of_a_quantity_reports_the_largest_value_deliverable(tmp_path: Path) -> None:
    # one aircraft: 1,300 t by day 10, so 1,000 t is met (P = 1) and 1,500 and 2,000 t are not (P = 0);
    # the 0.9 crossing interpolates to 1,000 + (1 - 0.9) x 500 = 1,050
    from sim.sizing import sweep

    result = sweep(shuttle_raw(1000), [("requirements.stuff.quantity", [1000.0, 1500.0, 2000.0])], 0.9,
                   lambda s: run(s, replications=1, seed=0))
    assert result.reading == "largest_met"
    assert [p.all_met_probability for _, p in result.points] == [1.0, 0.0, 0.0]
    assert [v for (v,), _ in result.points] == [1000, 1500, 2000]
    assert all(isinstance(v, int) for (v,), _ in result.points)
    assert result.deliverable == pytest.approx(1050)
    assert result.deliverable_note.startswith("requirements.stuff.quantity deliverable by the deadline with probability 0.9: about 1,050")


def test_sweep_says_so_when_no_value_is_met() -> None:
    from sim.sizing import sweep

    result = sweep(shuttle_raw(5000), [("fleets.planes.count", [1.0, 2.0])], 0.9, lambda s: run(s, replications=1, seed=0))
    assert result.deliverable is None
    assert result.deliverable_note == ("no swept value of fleets.planes.count (1 to 2) is met with probability >= 0.9; "
                                       "the highest is 0.00, at fleets.planes.count = 1")


@pytest.mark.parametrize("key, ps, reading, deliverable, note", [
    ("fleets.f.count", [0.0, 0.0, 1.0, 1.0, 1.0], "smallest_met", 3, "fleets.f.count = 3 is the smallest swept value met"),
    ("fleets.f.count", [0.0, 0.95, 0.85, 0.97, 1.0], "smallest_met", 2, "fleets.f.count = 2 is the smallest swept value met"),
    ("legs.ab.distance_nm", [1.0, 0.95, 0.5, 0.0, 0.0], "largest_met", 2 + 0.05 / 0.45, "about 2 (interpolated between 2, P = 0.95"),
    ("legs.ab.distance_nm", [0.5, 1.0, 1.0, 0.95, 0.0], "largest_met", 4 + 0.05 / 0.95, "; values below 2 are not"),
    ("requirements.x.quantity", [1.0] * 5, "largest_met", 5, "every swept value up to requirements.x.quantity = 5 is met"),
    ("fleets.f.count", [1.0] * 5, "smallest_met", 1, "fleets.f.count = 1 is the smallest swept value met"),
    ("fleets.f.count", [0.0] * 5, "smallest_met", None, "no swept value of fleets.f.count (1 to 5)"),
])
def test_the_deliverable_reading_follows_the_curve(key, ps, reading, deliverable, note) -> None:
    # the direction is the sign of the least-squares slope of P; a flat curve falls back on the key
    from sim.sizing import READINGS, _direction, _largest_met, _smallest_met

    curve = list(zip(range(1, 6), ps))
    direction = _direction(curve, key)
    assert READINGS[direction] == reading
    value, text = (_largest_met if reading == "largest_met" else _smallest_met)(curve, 0.9, key)
    assert value == (pytest.approx(deliverable) if deliverable is not None else None)
    assert note in text
    assert "even the smallest" not in text
