"""Pictures of studies across scenarios or values: comparison curves and counts, sizing and sweep curves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim import style  # noqa: E402
from sim.plots import grid, shown_days  # noqa: E402
from sim.summary import RunSummary, Spread  # noqa: E402


def compare_delivery(names: list[str], summaries: list[RunSummary], rows: list[list[dict[str, Any]]],
                     classes: list[str], path: Path) -> None:
    """One panel per shared class: each scenario's median delivery and P10-P90 band, target and deadline."""
    start = dt.date.fromisoformat(summaries[0].start_date)
    deadline = start + dt.timedelta(days=summaries[0].deadline_day)
    end = start + dt.timedelta(days=max(shown_days(s) for s in summaries))
    with style.style():
        nrows, ncols = grid(len(classes))
        fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 3.4 * nrows), squeeze=False)
        for i, cls in enumerate(classes):
            ax = axes[i // ncols][i % ncols]
            for j, (name, summary, table) in enumerate(zip(names, summaries, rows)):
                mine = [r for r in table if r["class"] == cls]
                dates = [dt.date.fromisoformat(r["date"]) for r in mine]
                colour = style.class_colour(j)
                ax.fill_between(dates, [r["cumulative_p10"] for r in mine], [r["cumulative_p90"] for r in mine],
                                color=colour, alpha=0.15, linewidth=0)
                p = summary.classes[cls].p_met or 0.0
                ax.plot(dates, [r["cumulative_p50"] for r in mine], color=colour, linewidth=2, label=f"{name} (P(met) {p:.2f})")
            info = summaries[0].classes[cls]
            style.target_line(ax, info.target, label=f"target {info.target:,.0f}")
            style.deadline_line(ax, deadline, label=f"deadline {deadline:%d %b %Y}")
            ax.set_title(style.short(info.name))
            ax.set_ylabel(f"cumulative {info.unit}")
            ax.set_ylim(0, info.target * 1.12)
            ax.set_xlim(start, end)
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            style.format_date_axis(ax, start, end)
            ax.legend(loc="lower right", fontsize=7)
        for j in range(len(classes), nrows * ncols):
            axes[j // ncols][j % ncols].set_visible(False)
        fig.suptitle("Deliveries to hand-over by scenario (median line, P10-P90 band; same seeds)", fontsize=11)
        fig.tight_layout()
        style.save(fig, path)


def compare_counts(names: list[str], summaries: list[RunSummary], path: Path) -> None:
    """Grouped bars: mean flights per aircraft type and sailings per vessel type, per scenario."""
    with style.style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        for ax, group, title in ((axes[0], "flights", "Flights by aircraft type"), (axes[1], "sailings", "Sailings by vessel type")):
            types = sorted({t for s in summaries for t in s.movements[group]})
            width = 0.8 / max(len(names), 1)
            for j, (name, summary) in enumerate(zip(names, summaries)):
                values = [(summary.movements[group].get(t) or Spread()).mean or 0 for t in types]
                xs = [k + (j - (len(names) - 1) / 2) * width for k in range(len(types))]
                bars = ax.bar(xs, values, width, label=name, color=style.class_colour(j))
                ax.bar_label(bars, fmt="%.0f", fontsize=7)
            ax.set_xticks(range(len(types)), types, rotation=20)
            ax.set_ylabel("loaded movements (mean over replications)")
            ax.set_title(title)
            ax.legend(fontsize=8)
        fig.tight_layout()
        style.save(fig, path)


def probability_curve(xs: list[float], ys: list[float], key: str, target: float, answer: float | None, path: Path,
                      title: str, answer_label: str = "answer") -> None:
    """All-met probability against the varied value, the target probability and the answer (named `answer_label`) marked."""
    with style.style():
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(xs, ys, marker="o", color=style.class_colour(0), label="P(all targets met by deadline)")
        style.target_line(ax, target, label=f"target probability {target:g}")
        if answer is not None:
            ax.axvline(answer, **style.DEADLINE_LINE, label=f"{answer_label} {answer:,.6g}")
        ax.set_xlabel(key)
        ax.set_ylabel("probability")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        style.save(fig, path)


def sweep_grid(rows: list[dict[str, Any]], keys: list[str], path: Path, title: str) -> None:
    """A heat map of all-met probability over two swept keys."""
    xs = sorted({r[keys[0]] for r in rows})
    ys = sorted({r[keys[1]] for r in rows})
    grid = [[next(r["all_met_probability"] for r in rows if r[keys[0]] == x and r[keys[1]] == y) for x in xs] for y in ys]
    with style.style():
        fig, ax = plt.subplots(figsize=(7, 5))
        im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="RdYlGn")
        ax.set_xticks(range(len(xs)), [f"{x:,.6g}" for x in xs], rotation=30)
        ax.set_yticks(range(len(ys)), [f"{y:,.6g}" for y in ys])
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xlabel(keys[0])
        ax.set_ylabel(keys[1])
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label="P(all targets met by deadline)")
        fig.tight_layout()
        style.save(fig, path)
