"""Nothing lost, nothing half-written, nothing executed: signals, stale temporaries, size limits, escaping."""

from __future__ import annotations

import ast
import csv
import json
import os
import select
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


def _wait_for_workers(proc: subprocess.Popen) -> list[int]:
    """The run's worker processes, once it has started them: it is then inside `main`, replicating.

    Waits on that event rather than for a fixed time, so a loaded machine only makes it later.
    """
    while proc.poll() is None:
        workers = _children_of(proc.pid)
        if workers:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"the run ended (status {proc.returncode}) before starting workers: {proc.communicate()}")


def _wait_until_gone(pids: list[int]) -> None:
    """Block until every process in `pids` has exited (Linux pidfds; no clock decides "too slow")."""
    fds = []
    for pid in pids:
        try:
            fds.append(os.pidfd_open(pid))
        except ProcessLookupError:  # already gone
            continue
    try:
        for fd in fds:
            select.select([fd], [], [])  # readable when the process has exited
    finally:
        for fd in fds:
            os.close(fd)


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
    _wait_for_workers(proc)  # imports done, replications running (2,000 take minutes)
    proc.send_signal(sig)
    _, err = proc.communicate()
    assert proc.returncode == status, err
    assert b"Traceback" not in err
    assert marker.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert not list(out.parent.glob(".tmp-surge-sim-*"))


def test_sigkill_leaves_at_most_a_temporary_folder_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "results" / "surge"
    marker = _previous_results(out)
    proc = _start_long_run(out)
    workers = _wait_for_workers(proc)
    proc.kill()
    proc.wait()
    # the workers notice their parent is gone and exit; were one to outlive it, the test would hang here
    _wait_until_gone(workers)
    assert marker.read_text() == '{"previous": true}\n'
    assert len(list(out.parent.glob(".tmp-surge-sim-*"))) <= 1
    # a folder left by a writer killed mid-write (its process is gone)
    stale = out.parent / f".tmp-surge-sim-{proc.pid}-abc123"
    stale.mkdir(exist_ok=True)
    (stale / "summary.json").write_text("half")
    # the next run into the folder (any scenario: a small one is quicker) removes it and writes its own results
    assert main(["run", str(_small(tmp_path, "next")), "--deterministic", "--out", str(out), "--quiet"]) == 0
    assert not list(out.parent.glob(".tmp-surge-sim-*"))
    assert json.loads((out / "summary.json").read_text())["scenario"] == "next"


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


@pytest.fixture(scope="module")
def baseline_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three `sim run`s of the baseline, 6 replications of seed 3, with 1, 2 and 2 jobs (shared: each takes seconds)."""
    outs = []
    for i, jobs in enumerate((1, 2, 2)):
        out = tmp_path_factory.mktemp("baseline") / f"r{i}"
        assert main(["run", str(BASELINE), "-n", "6", "--seed", "3", "--jobs", str(jobs), "--out", str(out), "--quiet"]) == 0
        outs.append(out)
    return outs


def test_summary_records_what_reproduces_it(baseline_runs: list[Path]) -> None:
    out = baseline_runs[0]
    doc = json.loads((out / "summary.json").read_text())
    scenario = load_scenario(BASELINE)
    assert doc["reproduce"]["scenario_sha256"] == scenario.fingerprint()
    assert doc["reproduce"]["seed"] == 3 and doc["reproduce"]["replications"] == 6
    assert doc["reproduce"]["version"] == __import__("sim").__version__
    changed = scenario.model_copy(update={"deadline_days": 36.0})
    assert changed.fingerprint() != scenario.fingerprint()
    resolved = json.loads((out / "scenario_resolved.json").read_text())
    assert validate_raw(resolved).fingerprint() == scenario.fingerprint()


def test_same_seed_gives_identical_files_across_runs_and_jobs(baseline_runs: list[Path]) -> None:
    outs = [{p.name: p.read_bytes() for p in sorted(out.iterdir())} for out in baseline_runs]
    assert "summary.json" in outs[0] and "report.html" in outs[0]
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


# --- what --out may name: never a folder surge-sim did not write, checked before anything runs -------

SMALL = {"requirements": {"stuff": {"quantity": 2000}}}


def _small(tmp_path: Path, name: str = "s", **top) -> Path:
    return write_toml(tmp_path / f"{name}.toml", scenario_raw(SMALL, name=name, **top))


def _victim(folder: Path) -> dict[str, str]:
    """A folder of the user's own files; returns what it holds, to compare afterwards."""
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("precious")
    (folder / "sub" / "data.csv").write_text("x")
    return _contents(folder)


def _contents(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every simulation or bound computation started (there must be none)."""
    import sim.bounds
    import sim.runner

    started: list[str] = []
    real_simulate, real_bounds = sim.runner.simulate, sim.bounds.bounds_summary
    monkeypatch.setattr(sim.runner, "simulate", lambda *a, **k: started.append("simulate") or real_simulate(*a, **k))
    monkeypatch.setattr(sim.bounds, "bounds_summary", lambda *a, **k: started.append("bounds") or real_bounds(*a, **k))
    return started


COMMAND_ARGV = {
    "run": ["run", "{s}"],
    "compare": ["compare", "{s}", "{t}"],
    "size": ["size", "{s}", "--vary", "fleets.planes.count", "--range", "1:2"],
    "sweep": ["sweep", "{s}", "--set", "requirements.stuff.quantity=1000:2000:1000"],
    "bound": ["bound", "{s}"],
}


def _argv(command: str, tmp_path: Path, out: Path | str) -> list[str]:
    s, t = _small(tmp_path), _small(tmp_path, "t")
    jobs = [] if command == "bound" else ["--jobs", "1"]
    return [a.format(s=s, t=t) for a in COMMAND_ARGV[command]] + [*jobs, "--out", str(out), "--quiet"]


@pytest.mark.parametrize("command", sorted(COMMAND_ARGV))
def test_out_that_is_not_a_results_folder_is_refused_before_running(command: str, tmp_path: Path, nothing_runs: list[str],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim"
    before = _victim(victim)
    assert main(_argv(command, tmp_path, victim)) == 2
    err = capsys.readouterr().err
    assert f"--out {victim}: exists and is not a surge-sim results folder" in err
    assert "choose another --out or remove it" in err and "Traceback" not in err
    assert _contents(victim) == before and not list(tmp_path.glob(".tmp-surge-sim-*"))
    assert nothing_runs == []


@pytest.mark.parametrize("command", ["compare", "size", "sweep"])
def test_a_study_never_replaces_a_run_folder(command: str, tmp_path: Path, nothing_runs: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    marker = _previous_results(out)
    assert main(_argv(command, tmp_path, out)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out {out}: holds another command's results (summary.json), not {command}.json" in err
    assert marker.read_text() == '{"previous": true}\n' and nothing_runs == []


@pytest.mark.parametrize("command", ["compare", "size", "sweep"])
def test_the_study_api_keeps_the_same_rule_as_the_command_line(command: str, tmp_path: Path) -> None:
    """`atomic_folder` with a study's markers refuses a run's folder even when no CLI check ran before it."""
    from sim.errors import UsageError
    from sim.output import MARKERS, atomic_folder

    out = tmp_path / "res"
    marker = _previous_results(out)
    with pytest.raises(UsageError, match="holds another command's results"):
        with atomic_folder(out, MARKERS[command]):
            pass
    assert marker.read_text() == '{"previous": true}\n'


@pytest.mark.parametrize("where", ["cwd", "parent", "home"])
def test_out_is_never_the_current_folder_one_above_it_or_home(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              nothing_runs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _small(tmp_path)
    home, here = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    here.mkdir()
    (home / "summary.json").write_text("{}")  # looks like results, but is still the home folder
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)  # empty: only the rule about the current folder refuses it
    out = {"cwd": ".", "parent": "..", "home": str(home)}[where]
    assert main(["run", str(scenario), "--out", out, "--quiet", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: " in err
    assert ("is your home folder" if where == "home" else "is the current folder or one above it") in err
    assert [p.name for p in home.iterdir()] == ["summary.json"] and not list(here.iterdir())
    assert nothing_runs == []


@pytest.mark.parametrize("command", ["run", "bound", "sweep"])
@pytest.mark.parametrize("target, message", [
    ("file.txt/sub", "file.txt is not a folder"),
    ("file.txt/sub/deeper", "file.txt is not a folder"),
    ("/proc/surge-sim-out", "cannot write in /proc"),  # refused even to root
    ("link", "is a symbolic link"),
])
def test_out_below_a_file_unwritable_or_a_link_exits_2_before_running(command: str, target: str, message: str, tmp_path: Path,
                                                                      nothing_runs: list[str],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.txt").write_text("keep me")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    out = target if target.startswith("/") else str(tmp_path / target)
    assert main(_argv(command, tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: " in err and message in err and "internal error" not in err
    assert (tmp_path / "file.txt").read_text() == "keep me" and (tmp_path / "link").is_symlink()
    assert nothing_runs == [] and not list(tmp_path.glob(".tmp-surge-sim-*"))


def test_an_empty_folder_or_the_same_commands_results_are_replaced(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_argv("sweep", tmp_path, empty)) == 0 and (empty / "sweep.json").is_file()
    (empty / "stale.txt").write_text("from an earlier sweep")
    assert main(_argv("sweep", tmp_path, empty)) == 0
    assert (empty / "sweep.json").is_file() and not (empty / "stale.txt").exists()  # replaced whole
    bounds_only = tmp_path / "b"
    assert main(_argv("bound", tmp_path, bounds_only)) == 0
    assert main(_argv("run", tmp_path, bounds_only)) == 0 and (bounds_only / "summary.json").is_file()


def test_sim_plot_refuses_a_folder_that_is_not_results_and_writes_nothing(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim"
    before = _victim(victim)
    assert main(["plot", str(victim)]) == 2
    assert "not a results folder" in capsys.readouterr().err
    assert _contents(victim) == before


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_results_folders_get_the_mode_of_the_umask(umask: int, tmp_path: Path) -> None:
    import os

    previous = os.umask(umask)
    try:
        out = tmp_path / "r"
        assert main(_argv("sweep", tmp_path, out)) == 0
        assert os.umask(umask) == umask  # the run left the umask as it found it
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.parametrize("scheduler", ["garbage", "http://[::1"])
def test_a_bad_dask_scheduler_address_exits_2(scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("dask.distributed", reason="installed by the test extra")
    out = tmp_path / "o"
    assert main(["run", str(_small(tmp_path)), "--executor", "dask", "--scheduler", scheduler, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--scheduler {scheduler}: not a scheduler address" in err and "internal error" not in err
    assert not out.exists()


def test_a_value_error_from_the_dask_client_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("dask.distributed", reason="installed by the test extra")
    import sim.runner

    def refuse(*args, **kwargs):
        raise ValueError("no such scheme")

    monkeypatch.setattr(sim.runner, "_check_scheduler_address", lambda address: None)
    monkeypatch.setattr(distributed, "Client", refuse)
    argv = ["run", str(_small(tmp_path)), "--executor", "dask", "--scheduler", "tcp://h:1", "--out", str(tmp_path / "o"), "-q"]
    assert main(argv) == 2
    assert "--scheduler tcp://h:1: cannot connect (no such scheme)" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "compare", "size", "sweep"])
def test_replications_above_the_limit_exit_2_and_the_help_says_so(command: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from sim.runner import MAX_REPLICATIONS

    for n in (str(MAX_REPLICATIONS + 1), "1" + "0" * 24):
        with pytest.raises(SystemExit) as info:
            main(_argv(command, tmp_path, tmp_path / "o") + ["-n", n])
        assert info.value.code == 2
        assert f"must be at most {MAX_REPLICATIONS:,}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"at most {MAX_REPLICATIONS:,}" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "o").exists()


def test_run_refuses_too_many_replications_without_building_them() -> None:
    from sim.errors import UsageError
    from sim.runner import MAX_REPLICATIONS, run

    with pytest.raises(UsageError, match="replications must be between 1 and 10,000,000"):
        run(validate_raw(scenario_raw()), replications=MAX_REPLICATIONS + 1)


def test_executor_choices_come_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.cli

    monkeypatch.setattr(sim.cli, "EXECUTORS", ("process", "dask", "elsewhere"))
    run_parser = sim.cli.build_parser()._subparsers._group_actions[0].choices["run"]
    executor = next(a for a in run_parser._actions if a.dest == "executor")
    assert tuple(executor.choices) == ("process", "dask", "elsewhere") and executor.default == "process"


def test_emoji_codes_in_user_text_are_printed_as_typed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _small(tmp_path, title="Surge :100: :fire:")
    assert main(["run", str(scenario), "--out", str(tmp_path / "r"), "--jobs", "1", "--no-bounds"]) == 0
    out = capsys.readouterr().out
    assert "Surge :100: :fire:" in out and "\N{HUNDRED POINTS SYMBOL}" not in out
    assert main(["sweep", str(scenario), "--set", "requirements.stuff.quantity=0:100:0", "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "=0:100:0'" in err and "\N{HUNDRED POINTS SYMBOL}" not in err


def test_quiet_still_reports_failed_replications_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import fail_replication

    fail_replication(monkeypatch, 1, ZeroDivisionError("model bug"))
    out = tmp_path / "r"
    assert main(["run", str(_small(tmp_path)), "-n", "3", "--jobs", "1", "--out", str(out), "--quiet", "--no-bounds"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "1 replication(s) failed" in captured.err and "replication 1: ZeroDivisionError: model bug" in captured.err
    assert (out / "summary.json").is_file()
