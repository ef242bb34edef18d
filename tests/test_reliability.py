"""Reliability: inputs and situations that used to hang, lose results, reach the terminal raw or exit 1 (issue #16)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import ScenarioError

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


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the sim command in a child process with 4 GB of address space (a hang or a runaway read fails the test)."""
    import os
    import resource
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


@pytest.mark.filterwarnings("ignore:Glyph")  # the pictures draw the title too
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


# --- 4. the results folder is swapped in one step ---------------------------------------------------------


def _small_run(tmp_path: Path, out: Path) -> Path:
    path = write_toml(tmp_path / "s.toml", scenario_raw())
    assert main(["run", str(path), "--out", str(out), "-q", "--jobs", "1", "--no-bounds"]) == 0
    return path


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_second_writer_racing_for_the_same_folder_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import sim.output

    out = tmp_path / "results" / "r"
    planted = []

    class RacingOs:
        """os, but another writer puts its results folder in place just before ours is renamed there."""

        def __getattr__(self, name: str):
            return getattr(os, name)

        def _race(self, dst) -> None:
            if Path(dst) == out and not planted:
                out.mkdir()
                (out / "summary.json").write_text('{"other": true}\n')
                planted.append(True)

        def rename(self, src, dst) -> None:
            self._race(dst)
            os.rename(src, dst)

        def replace(self, src, dst) -> None:
            self._race(dst)
            os.replace(src, dst)

    monkeypatch.setattr(sim.output, "os", RacingOs())
    _small_run(tmp_path, out)
    assert planted
    assert json.loads((out / "summary.json").read_text())["scenario"] == "base"
    assert (out / "deliveries.csv").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["r"]


def test_the_swap_exchanges_both_folders_in_one_step(tmp_path: Path) -> None:
    import sys

    from sim.output import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "name").write_text(folder.name)
    swapped = _exchange(a, b)
    if swapped is None and not sys.platform.startswith("linux"):
        pytest.skip("no renameat2 here: the fallback is tested below")
    assert swapped is True
    assert (a / "name").read_text() == "b" and (b / "name").read_text() == "a"


def test_a_writer_killed_between_its_two_renames_leaves_the_old_folder_to_be_put_back(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from sim.output import TMP_PREFIX, clean_stale_temporaries

    out = tmp_path / "r"
    out.mkdir()
    (out / "summary.json").write_text('{"previous": true}\n')
    new = tmp_path / f"{TMP_PREFIX}new"
    new.mkdir()
    (new / "summary.json").write_text('{"new": true}\n')
    # without RENAME_EXCHANGE, killed outright (SIGKILL) after the old folder is moved aside
    script = f"""
import os, signal, sim.output as o
from pathlib import Path
o._RENAMEAT2 = None
real = os.rename
def rename(src, dst):
    if Path(src) == Path({str(new)!r}):
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
o.os = type("Os", (), {{"__getattr__": lambda self, n: getattr(os, n), "rename": staticmethod(rename)}})()
o._replace_dir(Path({str(new)!r}), Path({str(out)!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == -9
    assert not out.exists()
    kept = [p.name for p in tmp_path.glob(TMP_PREFIX + "*") if p != new]
    assert len(kept) == 1 and kept[0].endswith("-r") and "-old-" in kept[0]
    clean_stale_temporaries(tmp_path)
    assert (out / "summary.json").read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # the dead writer's half is gone too


def test_without_exchange_the_old_folder_stays_until_the_new_one_is_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.output

    monkeypatch.setattr(sim.output, "_RENAMEAT2", None)
    out = tmp_path / "results" / "r"
    _small_run(tmp_path, out)
    first = _listing(out)
    _small_run(tmp_path, out)
    assert _listing(out) == first and sorted(p.name for p in out.parent.iterdir()) == ["r"]


# --- 6 and 7. writing fails cleanly, temporaries are private ------------------------------------------------


def test_disk_full_while_writing_results_exits_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    import sim.output

    out = tmp_path / "results" / "r"
    path = _small_run(tmp_path, out)
    before = _listing(out)
    real = sim.output.write_csv

    def full(target: Path, rows, columns) -> None:
        if Path(target).name == "trips.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real(target, rows, columns)

    monkeypatch.setattr(sim.output, "write_csv", full)
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "-q", "--jobs", "1", "--no-bounds"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'trips.csv'}: cannot write it (No space left on device)" in err and "internal error" not in err
    assert _listing(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["r"]


def test_sim_plot_on_a_read_only_folder_exits_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import tempfile

    out = tmp_path / "r"
    _small_run(tmp_path, out)
    before = _listing(out)

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    capsys.readouterr()
    assert main(["plot", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'delivery_curves.png'}: cannot write it (Read-only file system)" in err
    assert "internal error" not in err and _listing(out) == before


def test_sim_plot_never_follows_a_link_planted_at_a_temporary_name(tmp_path: Path) -> None:
    out = tmp_path / "r"
    _small_run(tmp_path, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for name in (".report.html.tmp", ".delivery_curves.png.tmp", ".network_map.svg.tmp"):
        (out / name).symlink_to(victim)
    assert main(["plot", str(out), "-q"]) == 0
    assert victim.read_text() == "precious\n"
    assert (out / "report.html").is_file() and not (out / "report.html").is_symlink()
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    links = sorted(p.name for p in out.iterdir() if p.is_symlink())
    assert links == [".delivery_curves.png.tmp", ".network_map.svg.tmp", ".report.html.tmp"]  # left alone, never written


def test_sim_bound_disk_full_exits_2_and_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import os

    import sim.files

    out = tmp_path / "r"
    path = _small_run(tmp_path, out)
    before = _listing(out)
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(sim.files.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    assert main(["bound", str(path), "--out", str(out), "-q"]) == 2
    assert f"{out / 'bounds.json'}: cannot write it (No space left on device)" in capsys.readouterr().err
    assert _listing(out) == before


# --- 6. a tampered results folder ---------------------------------------------------------------------


@pytest.mark.parametrize("file, key, value, message", [
    ("summary.json", "deadline_day", 1e308, "deadline_day must be a number from -36500 to 36500"),
    ("summary.json", "utilization", {"planes": 1.0}, "utilization must be a list"),
    ("scenario_resolved.json", "nodes", ["a", "b"], "nodes must be a table (JSON object)"),
    ("summary.json", "classes", {"stuff": [1]}, "classes.stuff must be a table (JSON object)"),
    ("scenario_resolved.json", "nodes", {"a": {"lat": "north", "lon": 1}}, "nodes.a.lat must be a number"),
])
def test_sim_plot_on_a_tampered_folder_exits_2_naming_file_and_key(file: str, key: str, value: object, message: str,
                                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    _small_run(tmp_path, out)
    doc = json.loads((out / file).read_text())
    doc[key] = value
    (out / file).write_text(json.dumps(doc))
    before = _listing(out)
    capsys.readouterr()
    assert main(["plot", str(out), "-q"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out / file}: {message}" in err and "internal error" not in err
    assert _listing(out) == before  # nothing redrawn from the damaged file


# --- 10. map labels: near-linear placement, none past a count ----------------------------------------------


def _map_axes(nodes: dict[str, dict[str, float]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    ax.plot([n["lon"] for n in nodes.values()], [n["lat"] for n in nodes.values()], "o", linestyle="none")
    ax.set_xlim(-1, 41)
    ax.set_ylim(-1, 31)
    return fig, ax


def test_label_placement_compares_each_label_with_its_neighbours_only() -> None:
    import matplotlib.pyplot as plt

    from sim.figures import MAX_LABELS, _place_labels

    # a 14 x 10 lattice of nodes, 3 degrees apart: 140 labels, each with room beside its node
    nodes = {f"n{i}-{j}": {"lon": 3.0 * i, "lat": 3.0 * j} for i in range(14) for j in range(10)}
    assert len(nodes) <= MAX_LABELS
    fig, ax = _map_axes(nodes)
    work = _place_labels(ax, nodes, sorted(nodes))
    assert len(ax.texts) == len(nodes)
    # comparing every candidate with every placed label and every node would be over 140 x 140 = 19,600
    assert 0 < work <= 20 * len(nodes)
    plt.close(fig)


def test_past_the_label_count_the_map_says_so_and_places_none() -> None:
    import matplotlib.pyplot as plt

    from sim.figures import MAX_LABELS, _place_labels

    nodes = {f"n{k}": {"lon": (k % 60) * 0.6, "lat": (k // 60) * 0.6} for k in range(3000)}
    fig, ax = _map_axes(nodes)
    assert _place_labels(ax, nodes, sorted(nodes)) == 0
    assert [t.get_text() for t in ax.texts] == [f"3,000 nodes: too many to label (labels are shown up to {MAX_LABELS})"]
    plt.close(fig)


# --- 3. a Dask scheduler lost mid-run -------------------------------------------------------------------


def test_a_dask_scheduler_killed_mid_run_ends_the_run_with_a_message(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed", reason="installed by the test extra")
    import os
    import subprocess
    import sys
    import time

    from dask.distributed import Client

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    address_file = tmp_path / "scheduler.json"
    started: list[subprocess.Popen] = []
    try:
        started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                         "--port", "0", "--no-dashboard", "--scheduler-file", str(address_file)],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # the file is written whole, then read
        address = json.loads(address_file.read_text())["address"]
        started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                         "--nworkers", "1", "--no-dashboard"],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = tmp_path / "results" / "surge"
        out.mkdir(parents=True)
        (out / "summary.json").write_text('{"previous": true}\n')
        run = subprocess.Popen([sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", "run",
                                str(ROOT / "scenarios" / "surge_dec2024.toml"), "-n", "2000", "--executor", "dask",
                                "--scheduler", address, "--out", str(out), "-q"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started.append(run)
        with Client(address, timeout="10s") as watcher:  # wait until the run's tasks are on the worker
            while not any(watcher.processing().values()) and run.poll() is None:
                time.sleep(0.2)
        assert run.poll() is None, run.communicate()
        started[0].kill()  # the scheduler
        started[0].wait(timeout=30)
        _, err = run.communicate(timeout=60)
        assert run.returncode == 2, err
        assert f"lost the Dask scheduler at {address} after" in err and "previous results are left as they were" in err
        assert "Traceback" not in err
        assert (out / "summary.json").read_text() == '{"previous": true}\n'
        assert sorted(p.name for p in out.parent.iterdir()) == ["surge"]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
