"""The one style every picture shares: fonts, colours per mode and per cargo class, date axes,
deadline and target lines, and deterministic PNG + SVG saving.

Figures are drawn at 120 dpi and about 10-11 inches wide, so they are legible at the
width they appear in report.html (about 1,000 pixels). Saving writes PNG and SVG side by
side, each byte-identical run to run (no dates or software versions in the metadata,
a fixed SVG id salt), through a temporary file so a picture is never half-written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

from sim.files import replacing  # noqa: E402

RC = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs on every machine
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 120,
    "svg.hashsalt": "surge-sim",  # identical SVG ids run to run
    "svg.fonttype": "path",  # text as outlines: the SVG looks the same without the font installed
}
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
DPI = 120
WIDTH_IN = 10.5  # full report width

# One colour per mode, used for bars, routes on the map and the fleet timeline.
MODE_COLOURS = {"air": "#1f77b4", "sea": "#17607d", "rail": "#8c564b", "road": "#e08a1e"}
MODE_FALLBACK = "#7f7f7f"
MODE_ORDER = ("air", "sea", "rail", "road")
# One colour per cargo class, by the class's position in the scenario.
CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

# Reference lines.
DEADLINE_COLOUR = "#c0392b"
TARGET_COLOUR = "#555555"
DEADLINE_LINE = {"color": DEADLINE_COLOUR, "linestyle": "--", "linewidth": 1.2}
TARGET_LINE = {"color": TARGET_COLOUR, "linestyle": "--", "linewidth": 1.0}
HIGHLIGHT = "#c0392b"  # the bottleneck
MUTED = "#9a9a9a"
LAND = "#e8e4da"
LAND_EDGE = "#b9b2a3"
SEA = "#f3f7fa"

# Node markers on the map, by node kind.
NODE_MARKERS = {"airbase": "^", "seaport": "s", "railhead": "P", "border_crossing": "D", "depot": "o"}


def mode_colour(mode: str) -> str:
    """The colour of a transport mode (air, sea, rail, road) on every picture."""
    return MODE_COLOURS.get(mode, MODE_FALLBACK)


def class_colour(index: int) -> str:
    """The colour of the index-th cargo class, in scenario order (the palette repeats after its end)."""
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def style() -> Any:
    """Context manager applying the shared rcParams: `with style(): ...`."""
    return plt.rc_context(RC)


def short(text: str, limit: int = 48) -> str:
    """`text` cut to `limit` characters with an ellipsis, safe to draw ("$" is not taken as maths)."""
    text = str(text)
    text = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return text.replace("$", r"\$")


def thousands(ax_axis: Any) -> None:
    """Tick labels with thousands separators on one axis (ax.xaxis or ax.yaxis)."""
    ax_axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))


def format_date_axis(ax: Any, start: dt.date | None = None, end: dt.date | None = None) -> None:
    """Calendar dates on the x axis: weekly (Mondays) ticks, or daily/monthly ones for short/long spans."""
    span = (end - start).days if start is not None and end is not None else 60
    if span <= 12:
        ax.xaxis.set_major_locator(mdates.DayLocator())
    elif span <= 120:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=1 if span <= 70 else 2))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b" if span <= 300 else "%b %Y"))
    ax.tick_params(axis="x", labelrotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")


def deadline_line(ax: Any, deadline: dt.date | float, label: str | None = None) -> None:
    """The deadline as a vertical line in the shared deadline style."""
    ax.axvline(deadline, label=label, **DEADLINE_LINE)


def target_line(ax: Any, target: float, label: str | None = None) -> None:
    """A target quantity as a horizontal line in the shared target style."""
    ax.axhline(target, label=label, **TARGET_LINE)


def svg_path(path: Path) -> Path:
    """The SVG written beside a PNG."""
    return Path(path).with_suffix(".svg")


def save(fig: Any, path: Path) -> list[Path]:
    """Write `fig` as PNG at `path` and as SVG beside it, deterministically; close it; return both paths."""
    path = Path(path)
    written = []
    try:
        for target, fmt in ((path, "png"), (svg_path(path), "svg")):
            with replacing(target) as fh:  # a fresh private temporary (O_EXCL), then moved over the old picture
                fig.savefig(fh, format=fmt, metadata=METADATA[fmt], dpi=DPI)
            written.append(target)
    finally:
        plt.close(fig)
    return written
