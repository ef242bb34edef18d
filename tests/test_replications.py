"""Monte Carlo replications: seeds, reproducibility, statistics against analytic values, executors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim.runner as runner
from sim.loader import validate_raw
from sim.output import write_results, write_tables
from sim.report import FIGURES
from sim.runner import run

from conftest import fail_replication

DAY = 24.0


def voyage_scenario(delay_mean_days: float = 5.0, ready: float = 0.0, deadline: float = 20.0) -> dict:
    """One vessel, one voyage: its only randomness is an exponential activation delay.

    Fixed part: load 24 h + 2,400 nm at 20 kn (120 h) + discharge 24 h = 168 h = 7 days.
    """
    return {
        "name": "voyage", "start_date": "2024-12-12", "deadline_days": deadline, "horizon_days": 120,
        "nodes": {
            "usport": {"kind": "seaport", "lat": 33.9, "lon": -78.0, "berths": 1},
            "euport": {"kind": "seaport", "lat": 54.4, "lon": 18.7, "berths": 1},
        },
        "legs": {"sea": {"from": "usport", "to": "euport", "mode": "sea", "distance_nm": 2400}},
        "routes": {"r": {"legs": ["sea"]}},
        "carriers": {"ship": {"mode": "sea", "payload_t": 10000, "speed_kn": 20, "load_time_h": 24, "unload_time_h": 24}},
        "cargo": {"ammo": {"unit": "tonnes", "unit_weight_t": 1, "units_per_pallet": 1, "divisible": True}},
        "requirements": {"ammo": {"quantity": 5000, "routes": ["r"], "release": [{"node": "usport"}]}},
        "fleets": {"sealift": {"carrier": "ship", "count": 1, "legs": ["sea"], "cycling": False}},
        "uncertainty": {"activation": {"sealift": {
            "ready_probability": ready, "delay_days": {"dist": "exponential", "mean": delay_mean_days}}}},
    }


FIXED_DAYS = 7.0


def test_closure_and_p_met_match_the_exponential_delay() -> None:
    mean, deadline, n = 5.0, 14.0, 2000
    result = run(validate_raw(voyage_scenario(mean, deadline=deadline)), replications=n, seed=11)
    summary = result.summary().to_dict()["classes"]["ammo"]
    p_true = 1 - math.exp(-(deadline - FIXED_DAYS) / mean)  # P(delay <= 7 days) = 0.753
    se = math.sqrt(p_true * (1 - p_true) / n)
    assert abs(summary["p_met"] - p_true) < 4 * se
    lo, hi = summary["p_met_ci95"]
    assert lo < p_true < hi
    for q in (10, 50, 90):
        expected = FIXED_DAYS - mean * math.log(1 - q / 100)
        density = math.exp(-(expected - FIXED_DAYS) / mean) / mean
        se_q = math.sqrt(q / 100 * (1 - q / 100) / n) / density
        assert abs(summary["closure_day"][f"p{q}"] - expected) < 4 * se_q, q
    assert abs(summary["closure_day"]["mean"] - (FIXED_DAYS + mean)) < 4 * mean / math.sqrt(n)


def test_ready_ships_sail_on_plan() -> None:
    result = run(validate_raw(voyage_scenario(ready=1.0)), replications=20, seed=3)
    closure = result.summary().to_dict()["classes"]["ammo"]["closure_day"]
    assert closure["p10"] == closure["p90"] == pytest.approx(FIXED_DAYS)


def test_no_uncertainty_block_is_deterministic() -> None:
    raw = voyage_scenario()
    del raw["uncertainty"]
    summary = run(validate_raw(raw), replications=5, seed=99).summary().to_dict()["classes"]["ammo"]
    assert summary["closure_day"] == {"mean": FIXED_DAYS, "p10": FIXED_DAYS, "p50": FIXED_DAYS, "p90": FIXED_DAYS}
    assert summary["p_met"] == 1.0


def _write(result, folder: Path) -> dict[str, bytes]:
    write_results(result, folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_whatever_the_jobs(tmp_path: Path) -> None:
    scenario = validate_raw(voyage_scenario())
    one = _write(run(scenario, replications=40, seed=5, jobs=1), tmp_path / "a")
    two = _write(run(scenario, replications=40, seed=5, jobs=2), tmp_path / "b")
    assert set(one) == {"summary.json", "deliveries.csv", "replications.csv", "trips.csv", "utilization_daily.csv",
                        "scenario_resolved.json", "report.html", *(n for f in FIGURES for n in (f, f.replace(".png", ".svg")))}
    assert one == two
    (tmp_path / "c").mkdir()
    write_tables(run(scenario, replications=40, seed=6, jobs=1), tmp_path / "c")  # the data files suffice here: no pictures
    assert (tmp_path / "c" / "replications.csv").read_bytes() != one["replications.csv"]


def test_replication_k_does_not_depend_on_n_or_jobs() -> None:
    scenario = validate_raw(voyage_scenario())
    few, _ = run(scenario, replications=3, seed=8).replication_rows()
    many, _ = run(scenario, replications=9, seed=8, jobs=2).replication_rows()
    alone, _ = run(scenario, replications=9, seed=8, only=2).replication_rows()
    assert many[:3] == few
    assert alone == [many[2]]
    assert len({r["ammo_closure_day"] for r in many}) == 9  # they do differ between replications


def test_sim_run_replication_k_writes_that_replication_and_refuses_a_count_beside_it(tmp_path, capsys) -> None:
    import json

    from sim.cli import main

    from conftest import write_toml

    scenario = validate_raw(voyage_scenario())
    path = write_toml(tmp_path / "voyage.toml", voyage_scenario())
    many, _ = run(scenario, replications=4, seed=8).replication_rows()
    assert main(["run", str(path), "--seed", "8", "--replication", "2", "--out", str(tmp_path / "k"), "-q"]) == 0
    written = json.loads((tmp_path / "k" / "summary.json").read_text(encoding="utf-8"))
    assert written["replications_completed"] == 1
    assert written["classes"]["ammo"]["closure_day"]["p50"] == pytest.approx(many[2]["ammo_closure_day"], abs=1e-3)
    capsys.readouterr()
    assert main(["run", str(path), "--replication", "2", "-n", "5", "--out", str(tmp_path / "both")]) == 2
    assert "leave out --replications" in capsys.readouterr().err
    assert not (tmp_path / "both").exists()


def test_generator_is_child_k_of_the_seed_sequence() -> None:
    children = np.random.SeedSequence(123).spawn(6)
    for k in (0, 5):
        expected = np.random.default_rng(children[k]).random(3)
        assert np.array_equal(runner.generator_for(123, k).random(3), expected)


def test_a_failing_replication_is_reported_and_the_others_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = validate_raw(voyage_scenario())
    fail_replication(monkeypatch, 2, ValueError("boom"))
    result = run(scenario, replications=5, seed=1)
    summary = result.summary().to_dict()
    assert [f["index"] for f in summary["failed_replications"]] == [2]
    assert "ValueError: boom" in summary["failed_replications"][0]["error"]
    assert summary["replications_completed"] == 4
    rows, _ = result.replication_rows()
    assert [r["replication"] for r in rows] == [0, 1, 3, 4]


def test_dask_local_cluster_gives_the_process_pool_results() -> None:
    pytest.importorskip("dask.distributed", reason="installed by the test extra")
    scenario = validate_raw(voyage_scenario())
    pool = run(scenario, replications=12, seed=4, jobs=2)
    dask = run(scenario, replications=12, seed=4, jobs=2, executor="dask")
    assert dask.summary() == pool.summary()
    assert dask.replication_rows() == pool.replication_rows()


def test_progress_is_silent_when_stderr_is_not_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    from conftest import write_toml

    path = write_toml(tmp_path / "v.toml", voyage_scenario())
    assert main(["run", str(path), "-n", "5", "--jobs", "1", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "P(met)" in captured.out  # the verdict went to stdout


def test_notebook_api_gives_tables() -> None:
    result = run(validate_raw(voyage_scenario()), replications=4, seed=2)
    rows, columns = result.replication_rows()
    assert [r["replication"] for r in rows] == [0, 1, 2, 3] and "ammo_closure_day" in columns
    assert len(result.trips()) == 1  # one voyage in the representative replication
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            result.frames()
    else:
        frames = result.frames()
        assert list(frames["replications"]["replication"]) == [0, 1, 2, 3]
        assert set(frames) == {"deliveries", "replications", "trips", "utilization"}
