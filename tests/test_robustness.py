"""Nothing lost, nothing half-written, nothing executed: signals, stale temporaries, size limits, escaping."""

from __future__ import annotations

import ast
import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.loader import load_scenario, validate_raw

from conftest import scenario_raw, write_toml

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "surge_dec2024.toml"


def _previous_results(folder: Path) -> Path:
    folder.mkdir(parents=True)
    marker = folder / "summary.json"
    marker.write_text('{"previous": true}\n')
    return marker


def _start_long_run(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(BASELINE), "-n", "2000", "--jobs", "2",
                             "--out", str(out), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=out.parent)


def _children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_killed_run_leaves_previous_results_and_no_temporaries(tmp_path: Path, sig: int, status: int) -> None:
    out = tmp_path / "results" / "surge"
    marker = _previous_results(out)
    proc = _start_long_run(out)
    time.sleep(4.0)  # imports done, replications running (2,000 take minutes)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert b"Traceback" not in err
    assert marker.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert not list(out.parent.glob(".tmp-surge-sim-*"))


def test_sigkill_leaves_at_most_a_temporary_folder_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "results" / "surge"
    marker = _previous_results(out)
    proc = _start_long_run(out)
    time.sleep(4.0)
    workers = _children_of(proc.pid)
    assert workers, "the run should have worker processes by now"
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.time() + 20
    while any(Path(f"/proc/{w}").exists() and "Z" not in (Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0])
              for w in workers if Path(f"/proc/{w}").exists()) and time.time() < deadline:
        time.sleep(0.2)
    assert time.time() < deadline, "worker processes outlived the killed run"
    assert marker.read_text() == '{"previous": true}\n'
    assert len(list(out.parent.glob(".tmp-surge-sim-*"))) <= 1
    # a folder left by a writer killed mid-write (its process is gone)
    stale = out.parent / f".tmp-surge-sim-{proc.pid}-abc123"
    stale.mkdir(exist_ok=True)
    (stale / "summary.json").write_text("half")
    assert main(["run", str(BASELINE), "--deterministic", "--out", str(out), "--quiet"]) == 0
    assert not list(out.parent.glob(".tmp-surge-sim-*"))
    assert json.loads((out / "summary.json").read_text())["scenario"] == "surge_dec2024"


def test_a_scenario_too_large_is_refused_with_an_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = scenario_raw({"fleets": {"planes": {"count": 50_000}}}, horizon_days=3650)
    path = write_toml(tmp_path / "huge.toml", raw)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    # 50,000 aircraft x (3,650 days x 24 h / 9 h cycle + 1) movements
    assert f"up to {50_000 * (3650 * 24 / 9 + 1):,.0f} movements per replication" in err
    assert "--force" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["../evil", "..", "a/b", "bad\nname", "tab\tname", "", "x" * 200])
def test_unsafe_scenario_names_are_rejected(name: str) -> None:
    with pytest.raises(Exception) as info:
        validate_raw(scenario_raw(name=name))
    assert "name" in str(info.value)


def test_scenario_text_is_escaped_in_markdown_and_csv(tmp_path: Path) -> None:
    raw = scenario_raw(title="<script>alert(1)</script> | pipe")
    raw["cargo"]["stuff"]["unit"] = "=HYPERLINK(\"http://x\")"
    a = write_toml(tmp_path / "a.toml", raw)
    b = write_toml(tmp_path / "b.toml", {**raw, "name": "other"})
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--quiet"]) == 0
    run_out = tmp_path / "run"
    assert main(["run", str(a), "--out", str(run_out), "--quiet"]) == 0
    with open(run_out / "deliveries.csv", newline="") as fh:
        units = {row["unit"] for row in csv.DictReader(fh)}
    assert units == {"'=HYPERLINK(\"http://x\")"}  # shown as text by a spreadsheet, never evaluated


def test_the_package_never_evaluates_or_unpickles_input() -> None:
    banned = {"eval", "exec", "compile", "__import__"}
    for path in (ROOT / "sim").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in banned, f"{path}:{node.lineno} calls {node.func.id}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {a.name for a in node.names} | {getattr(node, "module", None) or ""}
                assert not names & {"pickle", "marshal", "shelve", "yaml", "dill"}, f"{path}:{node.lineno} imports {names}"


def test_summary_records_what_reproduces_it(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert main(["run", str(BASELINE), "-n", "3", "--seed", "7", "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    doc = json.loads((out / "summary.json").read_text())
    scenario = load_scenario(BASELINE)
    assert doc["reproduce"]["scenario_sha256"] == scenario.fingerprint()
    assert doc["reproduce"]["seed"] == 7 and doc["reproduce"]["replications"] == 3
    assert doc["reproduce"]["version"] == __import__("sim").__version__
    changed = scenario.model_copy(update={"deadline_days": 36.0})
    assert changed.fingerprint() != scenario.fingerprint()
    resolved = json.loads((out / "scenario_resolved.json").read_text())
    assert validate_raw(resolved).fingerprint() == scenario.fingerprint()


def test_same_seed_gives_identical_files_across_runs_and_jobs(tmp_path: Path) -> None:
    outs = []
    for i, jobs in enumerate((1, 2, 2)):
        out = tmp_path / f"r{i}"
        assert main(["run", str(BASELINE), "-n", "6", "--seed", "3", "--jobs", str(jobs), "--out", str(out), "--quiet"]) == 0
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1] == outs[2]


def test_a_run_whose_every_replication_fails_says_so_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import sim.runner as runner

    def broken(scenario, rng, keep_trips=False):
        raise ZeroDivisionError("model bug")

    monkeypatch.setattr(runner, "simulate", broken)
    path = write_toml(tmp_path / "s.toml", scenario_raw())
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", "3", "--jobs", "1", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "every replication failed" in err and "replication 2" in err and "ZeroDivisionError: model bug" in err
    assert "Traceback" not in err and not out.exists()


def test_sim_bound_adds_its_file_beside_existing_results(tmp_path: Path) -> None:
    out = tmp_path / "res"
    marker = _previous_results(out)
    assert main(["bound", str(write_toml(tmp_path / "s.toml", scenario_raw())), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bounds.json", "summary.json"]
    assert marker.read_text() == '{"previous": true}\n'
    doc = json.loads((out / "bounds.json").read_text())
    # one aircraft, 9 h cycle, 50 t: the LP cannot beat whole cycles by the deadline (26 unloads by day 10)
    assert doc["classes"]["stuff"]["max_by_deadline"] >= 26 * 50


def test_study_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_toml(tmp_path / "a.toml", scenario_raw())
    b = write_toml(tmp_path / "b.toml", scenario_raw(name="b"))
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert main(["compare", str(a), str(b), "--out", str(target), "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me" and not list(tmp_path.glob(".tmp-surge-sim-*"))
