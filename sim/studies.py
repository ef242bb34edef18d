"""The `sim compare`, `sim size` and `sim sweep` commands: run the studies, print and write their results."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.budget import check_size
from sim.compare import Comparison, markdown_table
from sim.compare_report import write_compare_report
from sim.errors import UsageError
from sim.loader import load_scenario
from sim.output import MARKERS, atomic_folder, write_csv, write_json
from sim.overrides import load_raw
from sim.runner import DEFAULT_REPLICATIONS, RunResult, run
from sim.schema import Scenario
from sim.sizing import parse_range, parse_set, size, sweep
from sim.study_plots import compare_counts, compare_delivery, probability_curve, sweep_grid
from sim.terminal import make_console, safe, show_table


def _replications(args: argparse.Namespace, scenarios: list[Scenario]) -> int:
    if args.replications is not None:
        return args.replications
    return 1 if all(s.uncertainty.empty for s in scenarios) else DEFAULT_REPLICATIONS


def _runner(args: argparse.Namespace, replications: int) -> Callable[[Scenario], RunResult]:
    """Run one scenario with the command's replications, seed and jobs (checked beforehand by `_checker`)."""
    def run_one(scenario: Scenario) -> RunResult:
        return run(scenario, replications=replications, seed=args.seed, jobs=args.jobs)
    return run_one


def _checker(args: argparse.Namespace, replications: int) -> Callable[[Scenario], None]:
    """Refuse a scenario too large to run (unless --force), before anything runs."""
    def check(scenario: Scenario) -> None:
        check_size(scenario, replications, args.force)
    return check


def shared_classes(scenarios: list[Scenario]) -> list[str]:
    """Cargo classes every scenario has, in the first scenario's order (as `Comparison.shared_classes`)."""
    return [c for c in scenarios[0].requirements if all(c in s.requirements for s in scenarios)]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:80]


def default_out(command: str, raw: dict[str, Any] | None = None) -> Path:
    """The default results folder of a study: results/compare, or results/<command>-<scenario name>."""
    if command == "compare":
        return Path("results") / "compare"
    return Path("results") / f"{command}-{_safe(str((raw or {}).get('name', 'scenario')))}"


def compare_command(args: argparse.Namespace) -> int:
    """Run every scenario on the same seeds; write compare.csv, compare.md and the comparison plots."""
    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenario files")
    scenarios = [load_scenario(p) for p in args.scenarios]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError(f"two scenarios share a name ({', '.join(names)}): give each its own `name`")
    if not shared_classes(scenarios):
        raise UsageError("these scenarios share no cargo class: nothing to compare")
    replications = _replications(args, scenarios)
    check = _checker(args, replications)
    for scenario in scenarios:  # every check before the first run
        check(scenario)
    run_one = _runner(args, replications)
    comparison = Comparison([run_one(s) for s in scenarios])
    rows = comparison.rows()
    out = args.out or default_out("compare")
    with atomic_folder(out, MARKERS["compare"]) as tmp:
        write_csv(tmp / "compare.csv", rows, ("metric", "unit", "scenario", "value", "diff_vs_first", "diff_ci95_low", "diff_ci95_high"))
        (tmp / "compare.md").write_text(markdown_table(comparison, rows), encoding="utf-8")
        summaries = [r.summary() for r in comparison.results]
        write_json(tmp / "compare.json", {"scenarios": names, "replications": replications, "seed": args.seed,
                                           "shared_classes": comparison.shared_classes(),
                                           "not_shared": comparison.unshared_classes(),
                                           "summaries": [s.to_dict() for s in summaries]})
        compare_delivery(names, summaries, [r.aggregate.delivery_rows() for r in comparison.results],
                         comparison.shared_classes(), tmp / "compare_delivery.png")
        compare_counts(names, summaries, tmp / "compare_counts.png")
        write_compare_report(tmp)
    if not args.quiet:
        console = make_console()
        by_metric: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            by_metric.setdefault(row["metric"], {})[row["scenario"]] = row
        table = []
        for metric, cells in by_metric.items():
            line = [metric]
            for i, name in enumerate(names):
                row = cells[name]
                text = row["value"] if isinstance(row["value"], str) else _fmt(row["value"])
                if i and not isinstance(row["value"], str) and row["diff_vs_first"] == row["diff_vs_first"]:
                    text += f" ({_fmt(row['diff_vs_first'], signed=True)} [{_fmt(row['diff_ci95_low'])}, {_fmt(row['diff_ci95_high'])}])"
                line.append(text)
            table.append(line)
        show_table(f"Comparison on common seeds ({replications} replications, seed {args.seed}); "
                   f"differences against {names[0]} with 95% intervals", ["metric", *names], table, console)
        for name, classes in comparison.unshared_classes().items():
            if classes:
                console.print(f"Not compared (not in every scenario): {safe(name)}: {safe(', '.join(classes))}")
        console.print(f"Results written to {safe(out)}")
    return 0


def size_command(args: argparse.Namespace) -> int:
    """Find the smallest value of an integer key meeting every target with the target probability."""
    raw = load_raw(args.scenario)
    lo, hi = parse_range(args.range, integer=True)
    replications = _replications(args, [load_scenario(args.scenario)])
    result = size(raw, args.vary, int(lo), int(hi), args.target_probability, _runner(args, replications),
                  _checker(args, replications))
    out = args.out or default_out("size", raw)
    rows = [{"value": p.value, "all_met_probability": p.all_met_probability, "ci95_low": p.ci95[0], "ci95_high": p.ci95[1],
             "bottleneck": p.bottleneck} for p in result.points]
    with atomic_folder(out, MARKERS["size"]) as tmp:
        write_csv(tmp / "size.csv", rows, ("value", "all_met_probability", "ci95_low", "ci95_high", "bottleneck"))
        write_json(tmp / "size.json", {"key": args.vary, "range": [int(lo), int(hi)], "target_probability": args.target_probability,
                                        "answer": result.answer, "message": result.message(), "monotone": result.monotone,
                                        "monotonicity_violations": result.violations, "replications": replications,
                                        "seed": args.seed, "points": rows})
        probability_curve([p.value for p in result.points], [p.all_met_probability for p in result.points], args.vary,
                          args.target_probability, result.answer, tmp / "size.png", f"Sizing {args.vary}")
    if not args.quiet:
        console = make_console()
        show_table(f"P(all targets met by the deadline) against {args.vary} ({replications} replications, seed {args.seed})",
                   ["value", "P(all met)", "95% CI", "bottleneck"],
                   [[f"{p.value:g}", f"{p.all_met_probability:.2f}", f"{p.ci95[0]:.2f}-{p.ci95[1]:.2f}", p.bottleneck or "-"]
                    for p in result.points], console)
        console.print(safe(result.message()))
        if not result.monotone:
            console.print(f"[yellow]warning:[/yellow] the probability fell as {safe(args.vary)} grew between "
                          + ", ".join(f"{a:g} and {b:g}" for a, b in result.violations)
                          + ": bisection assumes it does not; check the curve")
        console.print(f"Results written to {safe(out)}")
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    """Run a grid over one or two keys; with one key, report the value deliverable with the target probability."""
    raw = load_raw(args.scenario)
    grid = [parse_set(text) for text in args.sets]
    replications = _replications(args, [load_scenario(args.scenario)])
    result = sweep(raw, grid, args.target_probability, _runner(args, replications), _checker(args, replications))
    rows = result.rows()
    out = args.out or default_out("sweep", raw)
    with atomic_folder(out, MARKERS["sweep"]) as tmp:
        columns = list(rows[0]) if rows else result.keys
        write_csv(tmp / "sweep.csv", rows, columns)
        write_json(tmp / "sweep.json", {"keys": result.keys, "target_probability": args.target_probability,
                                         "deliverable": result.deliverable, "reading": result.reading,
                                         "message": result.deliverable_note,
                                         "replications": replications, "seed": args.seed, "points": rows})
        if len(result.keys) == 1:
            probability_curve([r[result.keys[0]] for r in rows], [r["all_met_probability"] for r in rows], result.keys[0],
                              args.target_probability, result.deliverable, tmp / "sweep.png", f"Sweep of {result.keys[0]}",
                              answer_label="smallest value met" if result.reading == "smallest_met" else "deliverable")
        else:
            sweep_grid(rows, result.keys, tmp / "sweep.png", "P(all targets met by the deadline)")
    if not args.quiet:
        console = make_console()
        classes = [k[: -len("_p_met")] for k in rows[0] if k.endswith("_p_met")] if rows else []
        show_table(f"Sweep ({replications} replications per point, seed {args.seed})",
                   [*result.keys, "P(all met)", *[f"{c} closure P50" for c in classes]],
                   [[*(f"{r[k]:,.6g}" for k in result.keys), f"{r['all_met_probability']:.2f}",
                     *(_fmt(r[f"{c}_closure_day_p50"]) for c in classes)] for r in rows], console)
        if result.deliverable_note:
            console.print(safe(result.deliverable_note))
        console.print(f"Results written to {safe(out)}")
    return 0


def _fmt(x: Any, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    text = f"{x:,.2f}" if abs(x) < 10 else f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
    return ("+" + text) if signed and x > 0 else text
