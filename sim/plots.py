"""Pictures of a run's deliveries, drawn from saved tables only (never by re-running the model).

The style (fonts, a colour per cargo class, calendar dates on time axes, the deadline as a
dashed red vertical line and the target as a dashed grey horizontal one) comes from
`sim.style`, shared by every picture; each is written as PNG and as SVG beside it.
The other pictures of a results folder are in `sim.figures`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from sim import style
from sim.summary import RunSummary


def grid(n: int) -> tuple[int, int]:
    """Rows and columns of a panel grid for n panels (one column for a single panel, else two)."""
    cols = 1 if n == 1 else 2
    return math.ceil(n / cols), cols


def shown_days(summary: RunSummary) -> float:
    """Days to show on time axes: past the deadline and the latest P90 closure, within the horizon, and at
    least one day (the axes count whole calendar dates, so a shorter span would have no width)."""
    closures = [c.closure_day.p90 for c in summary.classes.values()]
    latest = summary.horizon_days if any(c is None for c in closures) else max((c for c in closures if c is not None), default=0)
    return max(1.0, min(summary.horizon_days, max(summary.deadline_day, latest) * 1.1 + 3))


def _p(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "n/a"


def delivery_curves(summary: RunSummary, rows: Sequence[dict[str, Any]], path: Path) -> None:
    """One panel per class: cumulative delivered against date (median and P10-P90 band), target and deadline."""
    classes = list(summary.classes)
    start = dt.date.fromisoformat(summary.start_date)
    deadline = start + dt.timedelta(days=summary.deadline_day)
    end = start + dt.timedelta(days=shown_days(summary))
    many = summary.replications > 1
    with style.style():
        nrows, ncols = grid(len(classes))
        width = style.WIDTH_IN if ncols > 1 else style.WIDTH_IN * 0.75
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, 3.3 * nrows + 0.5), squeeze=False)
        for i, cls in enumerate(classes):
            ax = axes[i // ncols][i % ncols]
            info = summary.classes[cls]
            mine = [r for r in rows if r["class"] == cls]
            dates = [dt.date.fromisoformat(r["date"]) for r in mine]
            colour = style.class_colour(i)
            ax.fill_between(dates, [float(r["cumulative_p10"]) for r in mine], [float(r["cumulative_p90"]) for r in mine],
                            color=colour, alpha=0.2, linewidth=0, label="P10-P90" if many else None)
            ax.plot(dates, [float(r["cumulative_p50"]) for r in mine], color=colour, linewidth=2,
                    label="median" if many else "delivered")
            style.target_line(ax, info.target, label=f"target {info.target:,.0f}")
            style.deadline_line(ax, deadline, label=f"deadline {deadline:%d %b %Y}")
            closure = info.closure_day.p50
            closed = f"closes {info.closure_date.p50}" if closure is not None else "not closed in horizon"
            ax.set_title(style.short(info.name, 56))
            ax.text(0.02, 0.96, f"P(met by deadline) = {_p(info.p_met)}\n{closed}", transform=ax.transAxes,
                    va="top", ha="left", fontsize=8.5, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})
            ax.set_ylabel(f"cumulative {info.unit}")
            ax.set_ylim(0, info.target * 1.12)
            ax.set_xlim(start, end)
            style.thousands(ax.yaxis)
            style.format_date_axis(ax, start, end)
            ax.legend(loc="best")
        for j in range(len(classes), nrows * ncols):
            axes[j // ncols][j % ncols].set_visible(False)
        reps = summary.replications_completed
        fig.suptitle(f"{style.short(summary.display_title, 70)}: deliveries to hand-over "
                     f"({reps} replication{'s' if reps != 1 else ''}, seed {summary.seed})", fontsize=11)
        fig.tight_layout()
        style.save(fig, path)


def closure_histogram(summary: RunSummary, closure_days: dict[str, Sequence[float]], path: Path) -> None:
    """Distribution of the closure date of each class over replications (half-day bins), deadline marked."""
    classes = list(summary.classes)
    start = dt.date.fromisoformat(summary.start_date)
    origin = mdates.date2num(dt.datetime.combine(start, dt.time()))
    deadline = start + dt.timedelta(days=summary.deadline_day)
    horizon = summary.horizon_days
    shown = shown_days(summary)
    end = start + dt.timedelta(days=shown)
    with style.style():
        nrows, ncols = grid(len(classes))
        width = style.WIDTH_IN if ncols > 1 else style.WIDTH_IN * 0.75
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.9 * nrows + 0.5), squeeze=False)
        for i, cls in enumerate(classes):
            ax = axes[i // ncols][i % ncols]
            info = summary.classes[cls]
            values = [float(d) for d in closure_days.get(cls, ()) if math.isfinite(float(d))]
            never = len(closure_days.get(cls, ())) - len(values)
            colour = style.class_colour(i)
            if values:
                ax.hist([origin + v for v in values], bins=[origin + 0.5 * k for k in range(int(2 * shown) + 2)],
                        color=colour, alpha=0.85)
            style.deadline_line(ax, deadline, label=f"deadline {deadline:%d %b %Y}")
            ax.set_xlim(start, end)
            ax.set_title(style.short(info.name, 56))
            ax.set_ylabel("replications")
            ax.yaxis.get_major_locator().set_params(integer=True)
            note = f"P(met) = {_p(info.p_met)}" + (f"\n{never} not closed by day {horizon:g}" if never else "")
            ax.text(0.02, 0.95, note, transform=ax.transAxes, va="top", fontsize=8.5)
            style.format_date_axis(ax, start, end)
            ax.legend(loc="upper right")
        for j in range(len(classes), nrows * ncols):
            axes[j // ncols][j % ncols].set_visible(False)
        fig.suptitle(f"{style.short(summary.display_title, 70)}: when each class closes "
                     "(closure date per replication, half-day bins)", fontsize=11)
        fig.tight_layout()
        style.save(fig, path)
