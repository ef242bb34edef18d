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


# --- 2. only regular files are read -----------------------------------------------------------------


def _cli(*args: str, timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    """Run the sim command in a child process with 4 GB of address space (a hang or a runaway read fails the test)."""
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, preexec_fn=limit)


def test_a_named_pipe_in_the_library_is_refused_not_read(tmp_path: Path) -> None:
    import os

    lib = tmp_path / "library"
    lib.mkdir()
    os.mkfifo(lib / "zz.toml")
    path = write_toml(tmp_path / "s.toml", scenario_raw())
    done = _cli("validate", str(path))
    assert done.returncode == 2, done.stderr
    assert f"{lib / 'zz.toml'}: is a named pipe, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_device_is_refused_with_exit_2() -> None:
    done = _cli("validate", "/dev/zero")
    assert done.returncode == 2, done.stderr
    assert "/dev/zero: is a character device, not a regular file" in done.stderr


def test_a_scenario_that_extends_a_named_pipe_is_refused(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "parent.toml")
    path = write_toml(tmp_path / "s.toml", scenario_raw(extends="parent.toml"))
    done = _cli("validate", str(path))
    assert done.returncode == 2, done.stderr
    assert 'extends: "parent.toml": is a named pipe, not a regular file' in done.stderr


def test_a_file_over_the_limit_is_refused_after_reading_no_more_than_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.loader

    monkeypatch.setattr(sim.loader, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * 200 + "\n")
    with pytest.raises(ScenarioError, match="over 100 bytes"):
        sim.loader.load_scenario(path)


@pytest.mark.parametrize("key", ["extends", "library"])
def test_a_name_too_long_is_a_problem_with_its_key(key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_toml(tmp_path / "s.toml", scenario_raw(**{key: "x" * 5000}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {key}: " in err and "File name too long" in err and "(5,0" in err
    assert "internal error" not in err and "x" * 5000 not in err


# --- 5. control characters from user data never reach the terminal raw ---------------------------------

ESC = "\x1b"


def test_printable_shows_every_control_character_as_an_escape() -> None:
    from sim.terminal import printable, safe

    assert printable("a\x1b[31mb\x07\x9b2J\u202ec\nd") == "a\\x1b[31mb\\x07\\x9b2J\\u202ec\\x0ad"
    assert printable("Luftbrücke 1948–49") == "Luftbrücke 1948–49"
    assert safe("[bold]x\x1b") == "\\[bold]x\\x1b"


def test_a_title_with_escape_sequences_is_printed_escaped_by_sim_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title = f"Surge {ESC}]0;owned{ESC}\\ {ESC}[2J\x9b31m done"
    path = write_toml(tmp_path / "s.toml", scenario_raw(title=title))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--jobs", "1", "--no-bounds"]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and "\x9b" not in out
    assert "Surge \\x1b]0;owned\\x1b\\ \\x1b[2J\\x9b31m done" in out


def test_a_node_reference_with_escape_sequences_is_escaped_by_sim_validate(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    raw = scenario_raw({"legs": {"ab": {"to": f"b{ESC}[2J"}}})
    path = write_toml(tmp_path / f"s{ESC}[1m.toml", raw)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert ESC not in err
    assert 'legs.ab.to: unknown node "b\\x1b[2J"' in err and "s\\x1b[1m.toml" in err


# --- 8. a sane number of worker processes --------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "compare", "size", "sweep"])
def test_jobs_above_four_per_core_exit_2_before_anything_runs(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import os

    import sim.runner
    import sim.studies

    for module in (sim.runner, sim.studies):
        monkeypatch.setattr(module, "run", lambda *a, **k: pytest.fail("nothing may run"))
    path = write_toml(tmp_path / "s.toml", scenario_raw())
    extra = {"run": [], "compare": [str(path)], "size": ["--vary", "fleets.planes.count", "--range", "1:2"],
             "sweep": ["--set", "fleets.planes.count=1:2:1"]}[command]
    with pytest.raises(SystemExit) as info:
        main([command, str(path), *extra, "-j", "100000", "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    cores = os.cpu_count() or 1
    assert f"must be at most {4 * cores:,} (4 x the {cores} core(s) of this machine" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- 9. bounds only beside their own scenario's run -----------------------------------------------------


def test_sim_bound_refuses_a_run_folder_of_another_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = write_toml(tmp_path / "mine.toml", scenario_raw())
    other = write_toml(tmp_path / "other.toml", scenario_raw({"fleets": {"planes": {"count": 2}}}, name="other"))
    out = tmp_path / "run"
    assert main(["run", str(mine), "--out", str(out), "-q", "--jobs", "1", "--no-bounds"]) == 0
    before = sorted(p.name for p in out.iterdir())
    capsys.readouterr()
    assert main(["bound", str(other), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: summary.json is the result of another scenario" in err and "other's" in err
    assert sorted(p.name for p in out.iterdir()) == before and "bounds.json" not in before
    # its own scenario may add its bounds, and so may the same scenario run --deterministic
    assert main(["bound", str(mine), "--out", str(out), "-q"]) == 0
    assert json.loads((out / "bounds.json").read_text())["scenario_sha256"] == build(scenario_raw()).fingerprint()
    assert main(["bound", str(other), "--out", str(out), "-q"]) == 2
    assert "is the result of another scenario" in capsys.readouterr().err


def test_sim_bound_beside_a_deterministic_run_of_its_scenario(tmp_path: Path) -> None:
    raw = scenario_raw({"uncertainty": {"travel_time_factor": {"air": {"dist": "uniform", "low": 0.9, "high": 1.2}}}})
    path = write_toml(tmp_path / "s.toml", raw)
    out = tmp_path / "run"
    assert main(["run", str(path), "--deterministic", "--out", str(out), "-q", "--jobs", "1", "--no-bounds"]) == 0
    assert main(["bound", str(path), "--out", str(out), "-q"]) == 0
    assert (out / "bounds.json").is_file()
