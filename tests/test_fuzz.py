"""Fuzz: mutated shipped scenarios and raw garbage end in a valid run or exit 2 naming the key path.

Never a traceback, a hang or a half-written results folder. Every key path of every shipped
scenario and library file is given a value of each TOML type (string, table, array, number,
boolean, date) and validated: all of them, in the default run (about 8,000 cases, seconds).
The random mutations below (which also run each valid result end to end) have a quick
profile in the suite and a long one (10,000+ cases) on demand:

    SURGE_FUZZ=long python3 -m pytest tests/test_fuzz.py              # 10,000 cases per test
    SURGE_FUZZ=long SURGE_FUZZ_EXAMPLES=500 python3 -m pytest tests/test_fuzz.py

Each mutated scenario that is still valid runs end to end (figures and report included), so
the long profile takes hours; most mutations are rejected in milliseconds.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.loader
from sim.cli import main
from sim.errors import ScenarioError
from sim.loader import load_scenario, resolve_raw
from sim.schema import Scenario

from conftest import to_toml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
VALIDATION = sorted((ROOT / "scenarios" / "validation").glob("*.toml"))
LIBRARY = sorted((ROOT / "scenarios" / "library").glob("*.toml"))
BASELINE = ROOT / "scenarios" / "surge_dec2024.toml"
LONG = os.environ.get("SURGE_FUZZ") == "long"
EXAMPLES = int(os.environ.get("SURGE_FUZZ_EXAMPLES", "10000")) if LONG else 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

BAD_VALUES = st.sampled_from([
    -3, 0, -0.5, float("nan"), float("inf"), float("-inf"), 1e300, 10**12, "", "x" * 10_000, True, [], {},
    "rzeszow2", "<script>alert(1)</script>", "../../etc", dt.date(1, 1, 1), dt.date(9999, 12, 31), [1, "a"],
])


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in nested dicts and lists."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_scenario(draw: st.DrawFn) -> str:
    """TOML text of a shipped scenario (resolved) with one to three mutations."""
    raw = copy.deepcopy(_RESOLVED[draw(st.integers(0, len(_RESOLVED) - 1))])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = _parent(raw, path)
        action = draw(st.sampled_from(["delete", "replace", "rename", "duplicate_into_route", "reverse_route", "scale"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(BAD_VALUES)
        elif action == "rename" and isinstance(parent, dict):
            parent[str(path[-1]) + draw(st.sampled_from(["2", "_x", "."]))] = parent.pop(path[-1])
        elif action in ("duplicate_into_route", "reverse_route") and raw.get("routes"):
            route = raw["routes"][draw(st.sampled_from(sorted(raw["routes"])))]
            if isinstance(route, dict) and isinstance(route.get("legs"), list):
                route["legs"] = route["legs"] + route["legs"][:1] if action == "duplicate_into_route" else route["legs"][::-1]
        elif action == "scale":
            value = parent[path[-1]]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parent[path[-1]] = type(value)(value * draw(st.sampled_from([0, -1, 1000, 1e-6 if isinstance(value, float) else 1])))
    return to_toml(raw)


_RESOLVED = [resolve_raw(p) for p in SHIPPED]

GARBAGE = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(str.encode),
    st.sampled_from([b"\xff\xfe\x00garbage", b"name = \"x\"\n[nodes.a\n", b"a = " + b"[" * 5000 + b"]" * 5000,
                     b"a = {" * 3000, b"[nodes]\n[nodes]\n", b"start_date = 2024-13-45\n", b"\x00" * 100]),
)


def _check_one(tmp_path: Path, body: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "fuzz.toml"
    scenario.write_bytes(body)
    out = tmp_path / "out"
    code = main(["validate", str(scenario)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert "problem" in err
        return
    code = main(["run", str(scenario), "--deterministic", "--out", str(out), "--quiet", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 0:
        assert (out / "summary.json").is_file()
    else:
        assert not out.exists()
    assert not list(tmp_path.glob(".tmp-surge-sim-*"))


@FUZZ
@given(body=mutated_scenario())
def test_mutated_scenarios_run_or_fail_cleanly(body: str, tmp_path_factory: pytest.TempPathFactory,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _check_one(tmp_path_factory.mktemp("fuzz"), body.encode("utf-8"), capsys)


@FUZZ
@given(body=GARBAGE)
def test_garbage_fails_cleanly(body: bytes, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    _check_one(tmp_path_factory.mktemp("garbage"), body, capsys)


def test_problem_messages_name_the_key_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy.deepcopy(_RESOLVED[SHIPPED.index(ROOT / "scenarios" / "surge_dec2024.toml")])
    raw["fleets"]["c17_airlift"]["count"] = math.nan
    raw["nodes"]["rzeszow"]["parking_spots"] = -1
    (tmp_path / "s.toml").write_text(to_toml(raw), encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    assert "fleets.c17_airlift.count: must be a whole number, got nan" in err
    assert "nodes.rzeszow.parking_spots: must be >= 0, got -1" in err


# --- every key path of every shipped file, given a value of every TOML type ----------------------

TYPES: dict[str, Any] = {"string": "x", "table": {}, "array": [], "number": 1, "boolean": True, "date": dt.date(2024, 1, 1)}


def _toml_type(value: Any) -> str:
    """The TOML type of a parsed value, by the names of `TYPES` (integers and floats are both numbers)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date too
        return "date"
    return {str: "string", dict: "table", list: "array"}[type(value)]


def _dotted(path: tuple) -> str:
    """A key path as problems spell it: `routes.r.legs[0]`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _set(data: Any, path: tuple, value: Any) -> None:
    _parent(data, path)[path[-1]] = value


class _Files:
    """Parsed shipped files, each read once, with at most one of them replaced by mutated data.

    Stands in for `sim.loader._read_toml`, the step that turns a file's bytes into plain data
    (fuzzed with garbage bytes above): what it returns here is exactly what a file holding the
    mutated value would parse to, so every later step (extends, library merge, references,
    types, checks) runs for real, without writing and parsing 8,000 files.
    """

    def __init__(self) -> None:
        self.parsed: dict[Path, dict[str, Any]] = {}
        self.mutated: tuple[Path, dict[str, Any]] | None = None

    def original(self, path: Path) -> dict[str, Any]:
        path = Path(path).resolve()
        if path not in self.parsed:
            self.parsed[path] = tomllib.loads(path.read_text(encoding="utf-8"))
        return self.parsed[path]

    def read(self, path: Path) -> dict[str, Any]:
        path = Path(path).resolve()
        if self.mutated and self.mutated[0] == path:
            return copy.deepcopy(self.mutated[1])
        return copy.deepcopy(self.original(path))


def _scenario_using(section: str, key: str) -> Path:
    """The first shipped scenario that takes library asset `section.key`; the baseline if none does."""
    for path in SHIPPED:
        if key in _RESOLVED[SHIPPED.index(path)].get(section, {}):
            return path
    return BASELINE


@pytest.mark.parametrize("target", SHIPPED + VALIDATION + LIBRARY, ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_every_key_path_takes_every_toml_type_and_is_valid_or_a_problem_at_that_path(
        target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each swap gives a valid scenario or a `ScenarioError`, never another exception.

    A value of another type than the file's, where a scenario uses it, is a problem named by its
    key path (or a key inside it). A library asset no shipped scenario takes is validated with
    the baseline, which does not read it: there only the first rule applies.
    """
    files = _Files()
    monkeypatch.setattr(sim.loader, "_read_toml", files.read)
    original = files.original(target)
    paths = _paths(original)
    assert paths, f"{target} has no keys"
    failures: list[str] = []
    cases = 0
    for path in paths:
        if target in LIBRARY:
            scenario = _scenario_using(str(path[0]), str(path[1])) if len(path) > 1 else BASELINE
            used = len(path) == 1 or path[1] in _RESOLVED[SHIPPED.index(scenario)].get(str(path[0]), {})
        else:
            scenario, used = target, True
        was = _toml_type(_value(original, path))
        for name, value in TYPES.items():
            mutated = copy.deepcopy(original)
            _set(mutated, path, copy.deepcopy(value))
            files.mutated = (target.resolve(), mutated)
            where = f"{_dotted(path)} = {name}"
            cases += 1
            try:
                result = load_scenario(scenario)
            except ScenarioError as exc:
                assert exc.problems and all(p.message for p in exc.problems), where
                key = _dotted(path)
                named = any(p.path == key or p.path.startswith((key + ".", key + "[")) for p in exc.problems)
                if name != was and used and not named:
                    failures.append(f"{where}: no problem at {key}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - any other exception is the failure this test looks for
                failures.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            assert isinstance(result, Scenario)
            if name != was and used:
                failures.append(f"{where}: accepted as a valid scenario")
    assert cases == len(paths) * len(TYPES)
    assert not failures, f"{len(failures)} of {cases} cases in {target.name}:\n" + "\n".join(failures[:20])


def _value(data: Any, path: tuple) -> Any:
    return _parent(data, path)[path[-1]]


@pytest.mark.parametrize("name", TYPES)
def test_a_fleet_carrier_of_any_type_is_exit_2_naming_the_key(name: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15: `fleets.an124_charter.carrier = {}` in the baseline was an internal error (unhashable dict)."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    baseline = tmp_path / "scenarios" / "surge_dec2024.toml"
    raw = tomllib.loads(baseline.read_text(encoding="utf-8"))
    raw["fleets"]["an124_charter"]["carrier"] = copy.deepcopy(TYPES[name])
    baseline.write_text(to_toml(raw), encoding="utf-8")
    assert main(["validate", str(baseline)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    shown = {"string": 'unknown carrier type "x"', "table": "must be text, got {}", "array": "must be text, got []",
             "number": "must be text, got 1", "boolean": "must be text, got true", "date": "must be text, got 2024-01-01"}[name]
    assert f"fleets.an124_charter.carrier: {shown}" in err, err
