"""The verdict on the terminal: per class target, delivered by deadline, closure, met; counts; bottlenecks.

Everything printed that comes from user data (scenario text, names, file names, error messages
quoting them) goes through `safe`, so it can neither inject Rich markup nor reach the terminal
as escape sequences.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.table import Table

from sim.summary import RunSummary, Spread

# C0 controls (newline and tab included: user text is shown on one line), DEL, C1 controls (0x9b is a
# one-byte CSI), and the bidirectional overrides and isolates that reorder what a reader sees
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` with every control character shown as a visible escape (ESC as \\x1b), safe to write to a terminal."""
    return _CONTROL.sub(_shown, str(text))


def safe(text: object) -> str:
    """`text` for Rich markup: control characters shown as escapes (`printable`) and markup brackets escaped."""
    return _markup_escape(printable(text))


def make_console(stderr: bool = False) -> Console:
    """A console for results: the terminal's width, or 160 columns when writing to a file or pipe; `:name:` stays text."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(highlight=False, emoji=False, stderr=stderr, width=None if stream.isatty() else 160)


def _num(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def _spread(stats: Spread, digits: int = 0, replications: int = 1) -> str:
    if replications <= 1:
        return _num(stats.p50, digits)
    return f"{_num(stats.p50, digits)} ({_num(stats.p10, digits)}-{_num(stats.p90, digits)})"


def show_summary(summary: RunSummary, console: Console, out_dir: str | None = None) -> None:
    """Print the verdict, the movement counts and the busiest resources of a run (failures: `show_failures`)."""
    reps = summary.replications_completed
    title = safe(summary.display_title)
    console.print(f"[bold]{title}[/bold]  start {summary.start_date}, deadline day {summary.deadline_day:g} "
                  f"({summary.deadline_date}), {reps} replication{'s' if reps != 1 else ''}, seed {summary.seed}")
    band = "P50 (P10-P90)" if reps > 1 else ""
    verdict = Table(title="Verdict by cargo class", title_justify="left")
    for col, justify in (("class", "left"), ("target", "right"), (f"by deadline {band}", "right"),
                         ("closure day " + band, "right"), ("closure date (P50)", "left"), ("P(met)" if reps > 1 else "met", "right")):
        verdict.add_column(col, justify=justify)  # type: ignore[arg-type]
    for cls, info in summary.classes.items():
        met = f"{info.p_met:.2f}" if reps > 1 else ("[green]yes[/green]" if info.p_met == 1 else "[red]no[/red]")
        verdict.add_row(safe(f"{cls} ({info.unit})"), _num(info.target),
                        _spread(info.delivered_by_deadline, 0, reps), _spread(info.closure_day, 1, reps),
                        info.closure_date.p50 or "not closed", met)
    console.print(verdict)
    p_all = summary.all_met_probability
    if p_all is not None:
        text = f"{p_all:.2f} (95% CI {summary.all_met_ci95[0]:.2f}-{summary.all_met_ci95[1]:.2f})" if reps > 1 else ("yes" if p_all == 1 else "no")
        console.print(f"All targets met by the deadline: [bold]{text}[/bold]")
    counts = Table(title="Loaded movements by carrier type" + (" (P50, P10-P90)" if reps > 1 else ""), title_justify="left")
    counts.add_column("kind")
    counts.add_column("carrier type")
    counts.add_column("movements", justify="right")
    for group, label in (("flights", "flights"), ("sailings", "sailings"), ("land_trips", "land trips")):
        for ctype, stats in summary.movements.get(group, {}).items():
            counts.add_row(label, safe(ctype), _spread(stats, 0, reps))
    console.print(counts)
    tonnes = ", ".join(f"{m} {_num(s.p50)} t" for m, s in summary.tonnes_by_mode.items() if s.p50)
    console.print(f"Tonnes moved by mode (P50, counting each leg): {tonnes or 'none'}")
    busy = Table(title="Busiest resources (mean utilization over the active period)", title_justify="left")
    busy.add_column("resource")
    busy.add_column("utilization", justify="right")
    busy.add_column("queueing (carrier-h)", justify="right")
    for row in summary.utilization[:6]:
        busy.add_row(safe(row.resource), f"{row.utilization:.0%}", _num(row.queue_h))
    console.print(busy)
    if summary.bottleneck:
        console.print(f"Bottleneck (highest mean utilization): [bold]{safe(summary.bottleneck)}[/bold]")
    if summary.bounds is not None:
        show_bounds(summary.bounds, console, summary)
    if out_dir:
        console.print(f"Results written to {safe(out_dir)}")


def show_failures(summary: RunSummary, console: Console) -> None:
    """Say which replications failed and how to rerun one (nothing when none failed); meant for stderr, even with -q."""
    failed = summary.failed_replications
    if not failed:
        return
    console.print(f"[red]{len(failed)} replication(s) failed[/red] and are left out of the results; "
                  "rerun one with --replication K:", soft_wrap=True)
    for f in failed[:10]:
        console.print(f"  replication {f.index}: {safe(f.error)}", soft_wrap=True)


def show_bounds(bounds: dict[str, Any], console: Console, summary: RunSummary | None = None) -> None:
    """Bounds (`sim.bounds.bounds_summary`), beside the simulated figures of `summary` when given:
    no plan can deliver more by the deadline, or close earlier."""
    if "error" in bounds:
        console.print(f"[yellow]{safe(bounds['error'])}[/yellow]")
        return
    simulated = summary is not None
    table = Table(title="Bounds: no real plan can beat the LP figures; the planning-factor closure is an estimate", title_justify="left")
    table.add_column("class")
    if simulated:
        table.add_column("simulated by deadline (P50)", justify="right")
    table.add_column("LP max by deadline", justify="right")
    if simulated:
        table.add_column("simulated closure day (P50)", justify="right")
    table.add_column("LP earliest closure day", justify="right")
    table.add_column("planning-factor estimate, closure day", justify="right")
    for cls, b in bounds["classes"].items():
        info = summary.classes.get(cls) if summary is not None else None
        row = [safe(cls)]
        if simulated:
            row.append(_num(info.delivered_by_deadline.p50 if info else None))
        row.append(_num(b["max_by_deadline"]))
        if simulated:
            row.append(_num(info.closure_day.p50 if info else None, 1))
        row += [_num(b["earliest_closure_day"], 1), _num(b.get("planning_factor_closure_day"), 1)]
        table.add_row(*row)
    console.print(table)
    if bounds.get("binding"):
        console.print(f"Planning factors: [bold]{safe(bounds['binding'])}[/bold] binds. {safe(bounds.get('explanation') or '')}",
                      soft_wrap=True)


def show_table(title: str, columns: list[str], rows: list[list[str]], console: Console) -> None:
    """Print a plain table: first column left-aligned, the others right-aligned."""
    table = Table(title=safe(title), title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(safe(col), justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(safe(cell) for cell in row))
    console.print(table)
