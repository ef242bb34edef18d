"""Fuzz: mutated shipped scenarios and raw garbage end in a valid run or exit 2 naming the key path.

Never a traceback, a hang or a half-written results folder. The quick profile runs in the
suite; the long one (10,000+ cases) runs on demand:

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
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.loader import resolve_raw

from conftest import to_toml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
LONG = os.environ.get("SURGE_FUZZ") == "long"
EXAMPLES = int(os.environ.get("SURGE_FUZZ_EXAMPLES", "10000")) if LONG else 40
FUZZ = settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=120), derandomize=not LONG,
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
