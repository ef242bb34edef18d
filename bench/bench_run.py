"""Measure speed and memory of `sim run` on demand (never part of the test suite).

    python bench/bench_run.py scale      # one deterministic baseline run, and with all quantities x3 and x10
    python bench/bench_run.py mc         # 1,000 replications with --jobs 1 and 2 (speedup, peak memory)
    python bench/bench_run.py memory     # peak memory at 1,000 and 10,000 replications (--jobs 2)
    python bench/bench_run.py dispatch   # cost of one baseline replication under each dispatch policy, and the ratio to greedy
    python bench/bench_run.py bounds     # seconds to solve the baseline's fluid LP bound (planned and best case)

Each case runs `sim run` in a fresh process; wall time is measured around it and peak
memory is the largest summed resident size of its process tree, sampled every 50 ms
from /proc (Linux). `bounds` solves in this process (the bound's own `solve_s`). Figures
are printed as a Markdown table to paste into notes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "surge_dec2024.toml"


def _tree_rss_mb(pid: int) -> float:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak process-tree memory (MB) of one `sim` command."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sim {' '.join(args)} failed: {proc.stderr.read().decode()}")
    return wall, peak


def scaled_scenario(factor: int, folder: Path) -> Path:
    """A scenario extending the baseline with every requirement (and release) multiplied by `factor`."""
    from sim.loader import resolve_raw

    raw = resolve_raw(BASELINE)
    lines = [f'extends = "{BASELINE}"', f'name = "bench_x{factor}"']
    for cls, req in raw["requirements"].items():
        lines.append(f"[requirements.{cls}]")
        lines.append(f"quantity = {req['quantity'] * factor}")
        releases = []
        for rel in req["release"]:
            parts = [f'node = "{rel["node"]}"', f'start_day = {rel.get("start_day", 0)}']
            if "quantity" in rel:
                parts.append(f"quantity = {rel['quantity'] * factor}")
            if "per_day" in rel:
                parts.append(f"per_day = {rel['per_day'] * factor}")
            releases.append("{ " + ", ".join(parts) + " }")
        lines.append(f"release = [{', '.join(releases)}]")
    path = folder / f"bench_x{factor}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def model_seconds(path: Path, repeats: int = 7) -> tuple[float, int]:
    """Median in-process seconds of one deterministic simulation (no files, no plots), and its movements."""
    import numpy as np

    from sim import load_scenario, simulate

    scenario = load_scenario(path).planned()
    times, moves = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        record = simulate(scenario, np.random.default_rng(0))
        times.append(time.perf_counter() - start)
        moves = sum(record.movements.values())
    return sorted(times)[len(times) // 2], moves


def bench_scale(out: Path) -> None:
    print("| case | loaded movements | model only, median (s) | whole `sim run --deterministic` (s) | peak memory (MB) |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    base = None
    for factor in (1, 3, 10):
        path = BASELINE if factor == 1 else scaled_scenario(factor, out)
        model, moves = model_seconds(path)
        wall, peak = measure(["run", str(path), "--deterministic", "--out", str(out / f"x{factor}"), "--quiet", "--jobs", "1"])
        base = base or model
        print(f"| quantities x{factor} | {moves:,} | {model:.3f} ({model / base:.2f}x) | {wall:.2f} | {peak:.0f} |", flush=True)


def bench_mc(out: Path) -> None:
    print("| replications | jobs | wall time (s) | replications/s | speedup | peak memory (MB) |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
    serial = None
    for jobs in (1, 2):
        wall, peak = measure(["run", str(BASELINE), "-n", "1000", "--jobs", str(jobs), "--out", str(out / f"j{jobs}"), "--quiet"])
        serial = serial or wall
        print(f"| 1000 | {jobs} | {wall:.1f} | {1000 / wall:.1f} | {serial / wall:.2f} | {peak:.0f} |", flush=True)


def bench_memory(out: Path) -> None:
    print("| replications | jobs | wall time (s) | peak memory (MB) |\n| ---: | ---: | ---: | ---: |")
    for n in (1000, 10000):
        wall, peak = measure(["run", str(BASELINE), "-n", str(n), "--jobs", "2", "--out", str(out / f"n{n}"), "--quiet"])
        print(f"| {n} | 2 | {wall:.1f} | {peak:.0f} |", flush=True)


def bench_bounds(out: Path, repeats: int = 3) -> None:
    """The fluid LP bound of the baseline, at planned values and at its best case: median solve seconds."""
    from sim import load_scenario
    from sim.bounds.fluid import fluid_bound

    print("| scenario | basis | LP solves | columns x rows | solve, median of 3 (s) |\n| --- | --- | ---: | ---: | ---: |")
    scenario = load_scenario(BASELINE)
    for case in (scenario.planned(), scenario):
        bounds = [fluid_bound(case) for _ in range(repeats)]
        seconds = sorted(b.solve_s for b in bounds)[len(bounds) // 2]
        b = bounds[0]
        print(f"| {BASELINE.stem} | {b.basis} | {b.lp_solves} | {b.lp_size[0]:,} x {b.lp_size[1]:,} | {seconds:.2f} |", flush=True)


def bench_dispatch(out: Path, replications: int = 20, rounds: int = 3) -> None:
    """Median seconds per baseline replication (with uncertainty) under each policy, interleaved in one process."""
    from sim.loader import load_scenario
    from sim.model import simulate
    from sim.model.policies import POLICIES
    from sim.runner import generator_for

    scenario = load_scenario(BASELINE)
    seconds: dict[str, list[float]] = {p: [] for p in POLICIES}
    for _ in range(rounds):  # interleaved, so a busy spell on a shared machine hits every policy alike
        for policy in POLICIES:
            started = time.perf_counter()
            for k in range(replications):
                simulate(scenario, generator_for(0, k), policy=policy)
            seconds[policy].append((time.perf_counter() - started) / replications)
    greedy = sorted(seconds["greedy"])[rounds // 2]
    print("| policy | ms per replication (median of rounds) | ratio to greedy |")
    print("| --- | ---: | ---: |")
    for policy, values in seconds.items():
        median = sorted(values)[rounds // 2]
        print(f"| {policy} | {median * 1000:.1f} | {median / greedy:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("scale", "mc", "memory", "bounds", "dispatch"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        {"scale": bench_scale, "mc": bench_mc, "memory": bench_memory, "bounds": bench_bounds, "dispatch": bench_dispatch}[args.what](Path(tmp))


if __name__ == "__main__":
    main()
