"""The `sim` command: validate and run scenario files.

Exit status: 0 success, 1 internal error, 2 bad input (scenario or options),
130 interrupted (SIGINT), 143 terminated (SIGTERM). Bad input never shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from sim.errors import ScenarioError, UsageError
from sim.runner import DEFAULT_REPLICATIONS, EXECUTORS, MAX_REPLICATIONS
from sim.schema import DISPATCH_POLICIES
from sim.terminal import safe as escape  # user text on the terminal: no markup, no control characters

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143


class Terminated(BaseException):
    """Raised in the main process when SIGTERM arrives, so cleanup runs as for Ctrl-C."""


def _int_at_least(low: int, high: int | None = None):
    """An argparse type: a whole number >= `low` (and <= `high`), with a message saying which rule failed."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}, got {value:,}")
        return value
    return parse


_positive_int = _int_at_least(1)
CORES = os.cpu_count() or 1
MAX_JOBS = 4 * CORES  # more worker processes than this only thrash (each is a whole Python with the model)


def _job_count(text: str) -> int:
    """An argparse type: worker processes, 1 to `MAX_JOBS` (4 x the cores), saying why more is refused."""
    value = _positive_int(text)
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_JOBS:,} (4 x the {CORES} core(s) of this machine; "
                                         f"more processes only slow the run down), got {value:,}")
    return value


_non_negative_int = _int_at_least(0)
_replication_count = _int_at_least(1, MAX_REPLICATIONS)
OUT_HELP = "; an existing folder is replaced only when it is empty or holds this command's results"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `sim` command."""
    parser = argparse.ArgumentParser(prog="sim", description="surge-sim: can the stated volumes arrive by the deadline?")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>/)" + OUT_HELP)
    run.add_argument("--replications", "-n", type=_replication_count, default=None,
                     help=f"number of replications, at most {MAX_REPLICATIONS:,} (default {DEFAULT_REPLICATIONS} "
                          "when the scenario has an uncertainty block, else 1)")
    run.add_argument("--deterministic", action="store_true",
                     help="ignore the scenario's uncertainty block: one run at planned values")
    run.add_argument("--seed", type=_non_negative_int, default=0, help="root seed (default 0)")
    run.add_argument("--jobs", "-j", type=_job_count, default=CORES,
                     help=f"worker processes, at most {MAX_JOBS} (default: all cores)")
    run.add_argument("--replication", type=_non_negative_int, default=None, metavar="K",
                     help="run only replication K of the seed (to rerun a failed one)")
    run.add_argument("--executor", choices=EXECUTORS, default=EXECUTORS[0],
                     help="where replications run: local processes (default) or a Dask cluster")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                     help="Dask scheduler address (with --executor dask; default: a local cluster)")
    run.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    run.add_argument("--force", action="store_true", help="run even a scenario estimated too large to finish")

    run.add_argument("--no-bounds", action="store_true", help="skip the planning-factor and LP bounds")
    run.add_argument("--dispatch", choices=DISPATCH_POLICIES, default=None,
                     help="how carriers choose their cargo, overriding the scenario's `dispatch` "
                          "(default earliest_arrival; greedy is the rule of surge-sim 0.1; see docs/model.md)")

    bound = sub.add_parser("bound", help="planning-factor and linear-programming bounds of a scenario (no simulation)")
    bound.add_argument("scenario", type=Path, help="scenario file (TOML)")
    bound.add_argument("--out", type=Path, help="write bounds.json into this folder (missing, empty, "
                       "or holding a run's results or earlier bounds)")
    bound.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+", help="scenario files (TOML)")

    plot = sub.add_parser("plot", help="redraw every picture and report.html of a results folder from its saved files")
    plot.add_argument("results", type=Path, help="results folder written by sim run")
    plot.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    compare = sub.add_parser("compare", help="run scenarios on the same seeds and compare them")
    compare.add_argument("scenarios", type=Path, nargs="+", help="two or more scenario files; the first is the reference")
    _study_options(compare, "results/compare/")

    size = sub.add_parser("size", help="smallest fleet count (or other integer key) that meets every target in time")
    size.add_argument("scenario", type=Path)
    size.add_argument("--vary", required=True, metavar="KEY", help="integer key path, e.g. fleets.c17_airlift.count")
    size.add_argument("--range", required=True, metavar="LO:HI", help="whole numbers, e.g. 4:40")
    size.add_argument("--target-probability", type=_probability, default=0.9, metavar="P",
                      help="probability that all targets are met by the deadline (default 0.9)")
    _study_options(size, "results/size-<scenario>/")

    sweep = sub.add_parser("sweep", help="run a grid over one or two keys")
    sweep.add_argument("scenario", type=Path)
    sweep.add_argument("--set", required=True, action="append", metavar="KEY=LO:HI:STEP", dest="sets",
                       help="a key and its grid, e.g. requirements.rounds_155.quantity=100000:900000:100000 (once or twice)")
    sweep.add_argument("--target-probability", type=_probability, default=0.9, metavar="P",
                       help="probability for the deliverable value (one key only; default 0.9)")
    _study_options(sweep, "results/sweep-<scenario>/")
    return parser


def _study_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--replications", "-n", type=_replication_count, default=None,
                        help=f"replications per run, at most {MAX_REPLICATIONS:,} "
                             f"(default {DEFAULT_REPLICATIONS} with an uncertainty block, else 1)")
    parser.add_argument("--seed", type=_non_negative_int, default=0, help="root seed (default 0), the same for every run")
    parser.add_argument("--jobs", "-j", type=_job_count, default=CORES,
                        help=f"worker processes, at most {MAX_JOBS} (default: all cores)")
    parser.add_argument("--out", type=Path, help=f"results folder (default {default_out})" + OUT_HELP)
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--force", action="store_true", help="run even scenarios estimated too large to finish")


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, got {value:g}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sim` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, emoji=False)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if args.command == "validate":
            return _validate(args, err)
        if args.command == "run":
            return _run(args, err)
        if args.command == "plot":
            return _plot(args)
        if args.command == "bound":
            return _bound(args)
        return _study(args)
    except ScenarioError as exc:
        err.print(f"[red]error:[/red] {len(exc.problems)} problem(s) in the scenario:")
        for problem in exc.problems:
            err.print(f"  {escape(str(problem))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted: previous results left as they were")
        return EXIT_SIGINT
    except Terminated:
        err.print("terminated: previous results left as they were")
        return EXIT_SIGTERM
    except Exception as exc:  # an internal error, not the user's: say so briefly
        if os.environ.get("SIM_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {escape(type(exc).__name__)}: {escape(str(exc))} "
                  "(set SIM_DEBUG=1 for the traceback, and please report it)", soft_wrap=True)
        return EXIT_INTERNAL
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _validate(args: argparse.Namespace, err: Console) -> int:
    from sim.loader import load_scenario
    from sim.terminal import make_console

    out = make_console()
    status = EXIT_OK
    for path in args.scenarios:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            status = EXIT_BAD_INPUT
            err.print(f"[red]{escape(str(path))}: {len(exc.problems)} problem(s)[/red]", soft_wrap=True)
            for problem in exc.problems:
                err.print(f"  {escape(str(problem))}", soft_wrap=True)
            continue
        out.print(f"{escape(str(path))}: ok ({escape(scenario.name)}: {len(scenario.requirements)} classes, "
                  f"{len(scenario.nodes)} nodes, {len(scenario.fleets)} fleets)", soft_wrap=True)
    return status


def _run(args: argparse.Namespace, err: Console) -> int:
    from sim.budget import check_size
    from sim.loader import load_scenario
    from sim.output import MARKERS, check_target, write_results
    from sim.runner import run
    from sim.terminal import show_failures, show_summary

    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if args.replication is not None and args.replications is not None:
        raise UsageError("--replication K runs replication K alone (the same run whatever the number of "
                         "replications): leave out --replications")
    scenario = load_scenario(args.scenario)
    if args.dispatch is not None:
        scenario = scenario.model_copy(update={"dispatch": args.dispatch})
    if args.deterministic:
        scenario = scenario.planned()
    replications = args.replications or (1 if scenario.uncertainty.empty else DEFAULT_REPLICATIONS)
    out_dir = args.out if args.out is not None else Path("results") / scenario.name
    check_target(out_dir, MARKERS["run"])
    check_size(scenario, replications, args.force)
    total = 1 if args.replication is not None else replications
    with _progress(total, quiet=args.quiet) as tick:
        result = run(scenario, replications=replications, seed=args.seed, jobs=args.jobs,
                     only=args.replication, progress=tick, executor=args.executor, scheduler=args.scheduler)
    if result.aggregate.outcomes_seen == 0:  # nothing to write: say which replications failed and why
        err.print(f"[red]every replication failed[/red] ({len(result.aggregate.failures)}); nothing written. "
                  "This is a model error, please report it with the scenario:", soft_wrap=True)
        for failure in result.aggregate.failures[:10]:
            err.print(f"  replication {failure.index} (seed {args.seed}): {escape(failure.error)}", soft_wrap=True)
        return EXIT_INTERNAL
    if not args.no_bounds:
        result.bounds = _bounds_or_note(scenario)
    written = write_results(result, out_dir)
    summary = result.summary()
    if not args.quiet:
        from sim.terminal import make_console

        show_summary(summary, make_console(), str(written))
    show_failures(summary, err)  # an error, so shown on stderr even with --quiet
    return EXIT_OK


def _bounds_or_note(scenario) -> dict:
    """The scenario's bounds, or a note saying why they could not be computed (the run itself stands)."""
    from sim.bounds import bounds_summary

    try:
        return bounds_summary(scenario)
    except Exception as exc:  # a solver failure must not lose the simulated results
        return {"error": f"bounds not computed: {type(exc).__name__}: {exc}"}


def _bound(args: argparse.Namespace) -> int:
    from sim.files import cannot_write, write_bytes
    from sim.loader import load_scenario
    from sim.output import MARKERS, check_same_scenario, check_target, json_bytes
    from sim.terminal import make_console, show_bounds

    scenario = load_scenario(args.scenario)
    if args.out is not None:
        check_target(args.out, MARKERS["bound"])
        check_same_scenario(args.out, scenario)
    bounds = _bounds_or_note(scenario)
    if args.out is not None:  # one file into the folder (which may hold a run's results): written whole, then moved
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(args.out, exc) from None
        write_bytes(args.out / "bounds.json", json_bytes({"scenario": scenario.name, "scenario_sha256": scenario.fingerprint(), **bounds}))
    if not args.quiet:
        show_bounds(bounds, make_console())
    return EXIT_OK if "error" not in bounds else EXIT_INTERNAL


def _study(args: argparse.Namespace) -> int:
    """Run `sim compare`, `size` or `sweep`, once their results folder is known to be safe to replace."""
    from sim import studies
    from sim.output import MARKERS, check_target

    if args.out is None:
        from sim.overrides import load_raw

        args.out = studies.default_out(args.command, None if args.command == "compare" else load_raw(args.scenario))
    check_target(args.out, MARKERS[args.command])
    return {"compare": studies.compare_command, "size": studies.size_command, "sweep": studies.sweep_command}[args.command](args)


def _plot(args: argparse.Namespace) -> int:
    from sim.report import redraw_saved
    from sim.terminal import make_console

    written = redraw_saved(args.results)
    if not args.quiet:
        make_console().print(f"{len(written)} files redrawn in {escape(str(args.results))}; the report is "
                             f"{escape(str(written[-1]))}", soft_wrap=True)
    return EXIT_OK


class _progress:
    """A progress bar on stderr (replications done, rate, time left), silent unless stderr is a terminal."""

    def __init__(self, total: int, quiet: bool):
        self.total = total
        self.enabled = not quiet and total > 1 and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("replications"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=Console(stderr=True, emoji=False),
                            transient=True)
        self.bar.start()
        self.task = self.bar.add_task("run", total=self.total, rate="")
        return self._tick

    def _tick(self, done: int) -> None:
        assert self.bar is not None
        elapsed = self.bar.tasks[0].elapsed or 0.0
        self.bar.update(self.task, completed=done, rate=f"{done / elapsed:.1f}/s" if elapsed > 0 else "")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


if __name__ == "__main__":
    raise SystemExit(main())
