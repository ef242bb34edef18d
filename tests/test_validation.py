"""Bad input: every kind of problem gives exit status 2, names its key path, shows no traceback,
and all problems found are reported together."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.loader import load_scenario, validate_raw

from conftest import write_toml

# Two air legs, each flown by its own fleet: dover -> ramstein -> rzeszow.
VALID: dict[str, Any] = {
    "name": "airbridge",
    "start_date": dt.date(2025, 1, 6),
    "deadline_days": 10,
    "nodes": {
        "dover": {"kind": "airbase", "lat": 39.13, "lon": -75.47},
        "ramstein": {"kind": "airbase", "lat": 49.44, "lon": 7.6, "parking_spots": 4},
        "rzeszow": {"kind": "airbase", "lat": 50.11, "lon": 22.02, "parking_spots": 2},
    },
    "legs": {
        "dover_ramstein": {"from": "dover", "to": "ramstein", "mode": "air"},
        "ramstein_rzeszow": {"from": "ramstein", "to": "rzeszow", "mode": "air", "distance_nm": 620},
    },
    "routes": {"airbridge": {"legs": ["dover_ramstein", "ramstein_rzeszow"]}},
    "carriers": {
        "c17": {"mode": "air", "payload_t": 77.5, "pallet_positions": 18, "block_speed_kn": 450,
                "load_time_h": 3.25, "unload_time_h": 3.25},
        "c130": {"mode": "air", "payload_t": 19, "pallet_positions": 6, "block_speed_kn": 280,
                 "load_time_h": 1.5, "unload_time_h": 1.5},
    },
    "cargo": {
        "ammo": {"unit": "pallets", "unit_weight_t": 4, "units_per_pallet": 1},
        "bradley": {"unit": "vehicles", "unit_weight_t": 30, "footprint_m2": 24, "per_load": {"c17": 2}},
    },
    "requirements": {"ammo": {"quantity": 500, "routes": ["airbridge"], "release": [{"node": "dover"}]}},
    "fleets": {
        "c17s": {"carrier": "c17", "count": 10, "legs": ["dover_ramstein"]},
        "c130s": {"carrier": "c130", "count": 6, "legs": ["ramstein_rzeszow"]},
    },
}


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def test_the_base_of_these_tests_is_valid(tmp_path, capsys):
    validate_raw(valid())
    path = write_toml(tmp_path / "ok.toml", valid())
    assert main(["validate", str(path)]) == 0
    assert f"{path}: ok (airbridge: 1 classes, 3 nodes, 2 fleets)" in _joined(capsys.readouterr().out)


# Each case: how to break the valid scenario, and the "path: message" lines expected among the problems.


def _negative_count(r):
    r["fleets"]["c17s"]["count"] = -3


def _unknown_node(r):
    r["legs"]["ramstein_rzeszow"]["to"] = "rzeszw"


def _unknown_leg(r):
    r["routes"]["airbridge"]["legs"][1] = "ramstein_rzeszw"


def _unknown_key(r):
    r["nodes"]["ramstein"]["parking_spot"] = 4


def _wrong_type(r):
    r["carriers"]["c17"]["payload_t"] = "lots"


def _missing_key(r):
    del r["nodes"]["dover"]["lat"]


def _not_chained(r):
    r["legs"]["dover_rzeszow"] = {"from": "dover", "to": "rzeszow", "mode": "air"}
    r["routes"]["airbridge"]["legs"] = ["dover_ramstein", "dover_rzeszow"]


def _loops(r):
    r["legs"]["ramstein_dover"] = {"from": "ramstein", "to": "dover", "mode": "air"}
    r["routes"]["airbridge"]["legs"] = ["dover_ramstein", "ramstein_dover"]


def _immovable(r):
    r["cargo"]["bradley"]["per_load"] = {}  # a Bradley on a C-17 needs a count per load
    r["requirements"]["bradley"] = {"quantity": 10, "routes": ["airbridge"], "release": [{"node": "dover"}]}


def _release_not_at_start(r):
    r["requirements"]["ammo"]["release"][0]["node"] = "ramstein"


def _deadline_before_release(r):
    r["requirements"]["ammo"]["release"][0]["start_day"] = 12


def _no_parking(r):
    r["nodes"]["rzeszow"]["parking_spots"] = 0


def _start_too_late(r):
    r["start_date"] = dt.date(9999, 12, 25)  # the 20-day horizon would end after 9999-12-31


CASES: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("negative count", _negative_count, ["fleets.c17s.count: must be >= 0, got -3"]),
    ("unknown node", _unknown_node, ['legs.ramstein_rzeszow.to: unknown node "rzeszw" (did you mean "rzeszow"?)']),
    ("unknown leg", _unknown_leg,
     ['routes.airbridge.legs[1]: unknown leg "ramstein_rzeszw" (did you mean "ramstein_rzeszow"?)']),
    ("unknown key", _unknown_key, ['nodes.ramstein.parking_spot: unknown key (did you mean "parking_spots"?)']),
    ("wrong type", _wrong_type, ["carriers.c17.payload_t: must be a number, got 'lots'"]),
    ("missing key", _missing_key, ["nodes.dover.lat: required key is missing"]),
    ("legs do not chain", _not_chained,
     ['routes.airbridge.legs[1]: starts at "dover" but the leg before ends at "ramstein"']),
    ("route loops", _loops, ["routes.airbridge.legs: visits node(s) dover more than once (a route may not loop)"]),
    ("class no carrier can move", _immovable,
     ['requirements.bradley.routes[0]: route "airbridge", leg "dover_ramstein": no fleet on it can carry bradley',
      "set cargo.bradley.per_load.c17"]),
    ("release not at route start", _release_not_at_start,
     ['requirements.ammo.release[0].node: "ramstein" is not the first node of any of its routes (dover)']),
    ("deadline before any release", _deadline_before_release,
     ["requirements.ammo.release: nothing is released before the deadline (day 10)"]),
    ("parking spots 0", _no_parking,
     ['nodes.rzeszow.parking_spots: is 0, but air leg "ramstein_rzeszow" lands or loads there']),
    ("start date too late for the calendar", _start_too_late,
     ["start_date: 9999-12-25 is too late: the 20-day horizon would run past the last calendar date (9999-12-31); "
      "start on 9999-12-10 or earlier"]),
]


def _joined(text: str) -> str:
    """Text with runs of whitespace made one space (the console wraps summary lines at its width)."""
    return " ".join(text.split())


def _problem_lines(exc: ScenarioError) -> list[str]:
    return [f"{p.path}: {p.message}" for p in exc.problems]


@pytest.mark.parametrize("breaker, expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_problem_is_reported_with_its_key_path(breaker, expected):
    raw = valid()
    breaker(raw)
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw)
    text = "\n".join(_problem_lines(info.value))
    for line in expected:
        assert line in text


@pytest.mark.parametrize("breaker, expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_problem_exits_2_without_traceback(breaker, expected, tmp_path, capsys):
    raw = valid()
    breaker(raw)
    path = write_toml(tmp_path / "bad.toml", raw)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for line in expected:
        assert line in err
    assert f"{path}: " in err  # each problem names its file
    # `sim run` refuses it the same way and writes nothing
    out = tmp_path / "results"
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and expected[0] in err
    assert not out.exists()


@pytest.mark.parametrize("where, value", [
    (("fleets", "c17s", "count"), True),  # TOML `count = true` is not 1 aircraft
    (("carriers", "c17", "load_time_h"), False),
    (("cargo", "ammo", "divisible"), "yes"),  # a string, not true/false
    (("nodes", "dover", "lat"), "39.13"),  # a number written as text
    (("legs", "dover_ramstein", "from"), [1, "a"]),  # a list where a node name belongs (found by the long fuzz)
    (("legs", "dover_ramstein", "mode"), ["air"]),
    (("carriers", "c17", "mode"), ["air"]),
])
def test_values_of_the_wrong_toml_type_are_not_silently_converted(where, value, tmp_path, capsys):
    raw = valid()
    table = raw
    for key in where[:-1]:
        table = table[key]
    table[where[-1]] = value
    path = ".".join(where)
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw)
    assert any(p.path == path and p.message.startswith("must be") for p in info.value.problems), _problem_lines(info.value)
    bad = write_toml(tmp_path / "bad.toml", raw)
    assert main(["validate", str(bad)]) == 2
    assert f"{path}: must be" in capsys.readouterr().err


@pytest.mark.parametrize("breaker, path, message", [
    (lambda r: r["requirements"]["ammo"]["release"][0].update(start_dya=1),
     "requirements.ammo.release[0].start_dya", 'unknown key (did you mean "start_day"?)'),
    (lambda r: r["nodes"]["dover"].update(closures=[{"start_day": 1, "end_day": 2, "reasn": "fog"}]),
     "nodes.dover.closures[0].reasn", 'unknown key (did you mean "reason"?)'),
    (lambda r: r["nodes"]["dover"].update(closures=[{"start_day": 3, "end_day": 2}]),
     "nodes.dover.closures[0]", "end_day (2.0) must be after start_day (3.0)"),
    (lambda r: r.update(deadline_day=3), "deadline_day", 'unknown key (did you mean "deadline_days"?)'),
    (lambda r: r["fleets"]["c17s"].update(count=2.5), "fleets.c17s.count", "got 2.5"),
    (lambda r: r["requirements"].update(ammo=5), "requirements.ammo", "must be a table, got 5"),
    (lambda r: r["requirements"]["ammo"].update(release=[3]), "requirements.ammo.release[0]", "must be a table, got 3"),
    (lambda r: r.update(start_date="2024-1"), "start_date", "must be a date (YYYY-MM-DD), got '2024-1'"),
    (lambda r: r.update(start_date=2024), "start_date", "must be a date (YYYY-MM-DD), got 2024"),
], ids=["release entry", "closure entry", "closure order", "top level", "fraction of a carrier", "entry not a table",
        "list entry not a table", "short date text", "year as a number"])
def test_one_mistake_gives_one_problem(breaker, path, message):
    """A mistake inside a list entry must not also report the list as empty or anything else that is not so."""
    raw = valid()
    breaker(raw)
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw)
    assert len(info.value.problems) == 1, _problem_lines(info.value)
    (problem,) = info.value.problems
    assert problem.path == path
    assert message in problem.message


# --- problems with the file itself ----------------------------------------------------------------


def _file_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    bad_toml = tmp_path / "bad_toml.toml"
    bad_toml.write_text('name = "x"\n[nodes\nkind = 1\n', encoding="utf-8")
    bad_utf8 = tmp_path / "bad_utf8.toml"
    bad_utf8.write_bytes(b'name = "caf\xe9"\n')
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text('extends = "second.toml"\nname = "first"\n', encoding="utf-8")
    second.write_text('extends = "first.toml"\nname = "second"\n', encoding="utf-8")
    return {
        "invalid TOML": (bad_toml, f"{bad_toml}: not valid TOML"),
        "invalid UTF-8": (bad_utf8, f"{bad_utf8}: not valid UTF-8 text (byte 11)"),
        "missing file": (tmp_path / "nowhere.toml", f"{tmp_path / 'nowhere.toml'}: cannot read file"),
        "extends cycle": (first, "extends: extends itself in a cycle: first.toml -> second.toml -> first.toml"),
    }


@pytest.mark.parametrize("case", ["invalid TOML", "invalid UTF-8", "missing file", "extends cycle"])
def test_file_problems_exit_2_without_traceback(case, tmp_path, capsys):
    path, expected = _file_cases(tmp_path)[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert expected.split(": ", 1)[1] in str(info.value)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


# --- several problems at once -----------------------------------------------------------------------


def test_all_type_and_reference_problems_are_reported_together(tmp_path, capsys):
    raw = valid()
    for breaker in (_negative_count, _unknown_node, _unknown_leg, _unknown_key, _wrong_type, _missing_key):
        breaker(raw)
    expected = [line for name, breaker, lines in CASES
                if breaker in (_negative_count, _unknown_node, _unknown_leg, _unknown_key, _wrong_type, _missing_key)
                for line in lines]
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw)
    lines = _problem_lines(info.value)
    for line in expected:
        assert line in lines
    path = write_toml(tmp_path / "many.toml", raw)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert all(line in err for line in expected)
    assert f"{path}: {len(lines)} problem(s)" in _joined(err)


def test_all_movability_problems_are_reported_together():
    raw = valid()
    for breaker in (_immovable, _release_not_at_start, _no_parking):
        breaker(raw)
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw)
    text = "\n".join(_problem_lines(info.value))
    for name, breaker, lines in CASES:
        if breaker in (_immovable, _release_not_at_start, _no_parking):
            assert all(line in text for line in lines), name


def test_validate_reports_every_file_and_keeps_going(tmp_path, capsys):
    good = write_toml(tmp_path / "good.toml", valid())
    raw = valid()
    _negative_count(raw)
    bad = write_toml(tmp_path / "bad.toml", raw)
    assert main(["validate", str(bad), str(good)]) == 2
    captured = capsys.readouterr()
    assert "fleets.c17s.count: must be >= 0, got -3" in captured.err
    assert f"{good}: ok (airbridge" in _joined(captured.out)


def _sim_command() -> list[str]:
    script = Path(sys.executable).with_name("sim")
    if script.exists():
        return [str(script)]
    found = shutil.which("sim")
    assert found, "the `sim` command is not installed (pip install -e .)"
    return [found]


def test_sim_validate_in_a_subprocess(tmp_path):
    raw = valid()
    _negative_count(raw)
    _unknown_node(raw)
    bad = write_toml(tmp_path / "bad.toml", raw)
    good = write_toml(tmp_path / "good.toml", valid())
    done = subprocess.run([*_sim_command(), "validate", str(bad), str(good)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "fleets.c17s.count: must be >= 0, got -3" in done.stderr
    assert 'legs.ramstein_rzeszow.to: unknown node "rzeszw" (did you mean "rzeszow"?)' in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert f"{good}: ok (airbridge" in _joined(done.stdout)
    ok = subprocess.run([*_sim_command(), "validate", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0


def test_bad_command_line_options_exit_2(tmp_path, capsys):
    good = write_toml(tmp_path / "good.toml", valid())
    for argv in (["run", str(good), "--replications", "0"], ["run", str(good), "--seed", "-1"],
                 ["run", str(good), "--jobs", "many"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    good = write_toml(tmp_path / "good.toml", valid())
    blocker = tmp_path / "results"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["run", str(good), "--out", str(blocker), "--jobs", "1", "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert blocker.read_text(encoding="utf-8") == "not a folder"
