"""Pictures of a run, drawn from saved tables only (never by re-running the model).

All plots share one style: a colour per cargo class, calendar dates on time axes,
the deadline as a dashed red vertical line and the target as a dashed grey horizontal one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
DEADLINE_COLOUR = "#c0392b"
TARGET_COLOUR = "#555555"
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 120,
    "svg.hashsalt": "surge-sim",  # identical SVG bytes run to run
}
METADATA = {"png": {"Software": None}, "svg": {"Date": None}}


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2
    return math.ceil(n / cols), cols


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, metadata=METADATA["png"])
    plt.close(fig)


def _format_date_axis(ax: Any) -> None:
    ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.tick_params(axis="x", labelrotation=45)


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _shown_days(summary: dict[str, Any]) -> float:
    """Days to show on time axes: past the deadline and the latest P90 closure, within the horizon."""
    closures = [c["closure_day"]["p90"] for c in summary["classes"].values()]
    latest = summary["horizon_days"] if any(c is None for c in closures) else max(closures, default=0)
    return min(summary["horizon_days"], max(summary["deadline_day"], latest) * 1.1 + 3)


def delivery_curves(summary: dict[str, Any], rows: Sequence[dict[str, Any]], path: Path) -> None:
    """One panel per class: cumulative delivered against date (median and P10-P90 band), target and deadline."""
    classes = list(summary["classes"])
    start = dt.date.fromisoformat(summary["start_date"])
    deadline = start + dt.timedelta(days=summary["deadline_day"])
    end = start + dt.timedelta(days=_shown_days(summary))
    with plt.rc_context(STYLE):
        nrows, ncols = _grid(len(classes))
        fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 3.4 * nrows), squeeze=False)
        for i, cls in enumerate(classes):
            ax = axes[i // ncols][i % ncols]
            info = summary["classes"][cls]
            mine = [r for r in rows if r["class"] == cls]
            dates = [dt.date.fromisoformat(r["date"]) for r in mine]
            colour = CLASS_COLOURS[i % len(CLASS_COLOURS)]
            ax.fill_between(dates, [float(r["cumulative_p10"]) for r in mine], [float(r["cumulative_p90"]) for r in mine],
                            color=colour, alpha=0.2, linewidth=0, label="P10-P90" if summary["replications"] > 1 else None)
            ax.plot(dates, [float(r["cumulative_p50"]) for r in mine], color=colour, linewidth=2,
                    label="median" if summary["replications"] > 1 else "delivered")
            ax.axhline(info["target"], color=TARGET_COLOUR, linestyle="--", linewidth=1, label=f"target {info['target']:,.0f}")
            ax.axvline(deadline, color=DEADLINE_COLOUR, linestyle="--", linewidth=1.2, label=f"deadline {deadline:%d %b %Y}")
            closure = info["closure_day"]["p50"]
            closed = f"closes {info['closure_date']['p50']}" if closure is not None else "not closed in horizon"
            ax.set_title(_short(info["name"]))
            ax.text(0.02, 0.96, f"P(met by deadline) = {info['p_met']:.2f}\n{closed}", transform=ax.transAxes,
                    va="top", ha="left", fontsize=8.5, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#cccccc"})
            ax.set_ylabel(f"cumulative {info['unit']}")
            ax.set_ylim(0, info["target"] * 1.12)
            ax.set_xlim(start, end)
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            _format_date_axis(ax)
            ax.legend(loc="lower right", fontsize=7.5)
        for j in range(len(classes), nrows * ncols):
            axes[j // ncols][j % ncols].set_visible(False)
        reps = summary["replications_completed"]
        fig.suptitle(f"{summary['title'] or summary['scenario']}: deliveries to hand-over "
                     f"({reps} replication{'s' if reps != 1 else ''}, seed {summary['seed']})", fontsize=11)
        fig.tight_layout()
        _save(fig, path)


def closure_histogram(summary: dict[str, Any], closure_days: dict[str, Sequence[float]], path: Path) -> None:
    """Distribution of the closure day of each class over replications, deadline marked."""
    classes = list(summary["classes"])
    deadline = summary["deadline_day"]
    horizon = summary["horizon_days"]
    shown = _shown_days(summary)
    with plt.rc_context(STYLE):
        nrows, ncols = _grid(len(classes))
        fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.8 * nrows), squeeze=False)
        for i, cls in enumerate(classes):
            ax = axes[i // ncols][i % ncols]
            info = summary["classes"][cls]
            values = [d for d in closure_days[cls] if math.isfinite(d)]
            never = len(closure_days[cls]) - len(values)
            colour = CLASS_COLOURS[i % len(CLASS_COLOURS)]
            if values:
                ax.hist(values, bins=[0.5 * k for k in range(int(2 * shown) + 2)], color=colour, alpha=0.85)
            ax.axvline(deadline, color=DEADLINE_COLOUR, linestyle="--", linewidth=1.2, label=f"deadline day {deadline:g}")
            ax.set_xlim(0, shown)
            ax.set_title(_short(info["name"]))
            ax.set_xlabel("closure day (days after start; bins of half a day)")
            ax.set_ylabel("replications")
            note = f"P(met) = {info['p_met']:.2f}" + (f"\n{never} not closed by day {horizon:g}" if never else "")
            ax.text(0.02, 0.95, note, transform=ax.transAxes, va="top", fontsize=8.5)
            ax.legend(loc="upper right", fontsize=7.5)
        for j in range(len(classes), nrows * ncols):
            axes[j // ncols][j % ncols].set_visible(False)
        fig.suptitle(f"{summary['title'] or summary['scenario']}: when each class closes", fontsize=11)
        fig.tight_layout()
        _save(fig, path)
