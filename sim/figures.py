"""The pictures of a results folder beyond the delivery curves: movements and tonnes, resource
use over time, where the queueing goes, the fleet timeline and the network map.

Each function draws one figure from saved data only (summary.json, scenario_resolved.json,
utilization_daily.csv, trips.csv, as plain dicts and rows of text or numbers) and writes it
as PNG at `path` and SVG beside it, in the shared style of `sim.style`. Nothing here runs
the model.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim import style
from sim.plots import shown_days
from sim.summary import RunSummary, Spread

GROUP_TITLES = {"flights": "Flights by aircraft type", "sailings": "Sailings by vessel type",
                "land_trips": "Land trips by vehicle type"}
GROUP_MODE = {"flights": "air", "sailings": "sea", "land_trips": "road"}
KIND_TITLES = {"parking_spots": "Airfield parking spots", "berths": "Berths",
               "handling": "Land handling (port rail/road loading, border transloading)"}
KIND_ORDER = ("parking_spots", "berths", "handling")
# lines of several resources in one panel; no red, which marks the bottleneck
RESOURCE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
TIMELINE_ROWS = 60
LAND_DATA = "land_110m.json"


# --- small helpers --------------------------------------------------------------------------


def _num(value: Any, default: float = 0.0) -> float:
    """A number from a CSV cell or JSON value ('' and None give `default`)."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _start(summary: RunSummary) -> dt.date:
    return dt.date.fromisoformat(summary.start_date)


def _origin(summary: RunSummary) -> float:
    """Matplotlib date number of the scenario start (hours / 24 are added to it)."""
    return float(mdates.date2num(dt.datetime.combine(_start(summary), dt.time())))


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=style.MUTED, fontsize=9.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _carrier_modes(scenario: dict[str, Any]) -> dict[str, str]:
    return {cid: str(c.get("mode", "")) for cid, c in scenario.get("carriers", {}).items()}


def _fleet_modes(scenario: dict[str, Any]) -> dict[str, str]:
    modes = _carrier_modes(scenario)
    return {fid: modes.get(f.get("carrier", ""), "") for fid, f in scenario.get("fleets", {}).items()}


def _title(summary: RunSummary) -> str:
    return style.short(summary.display_title, 70)


# --- movements and tonnes ---------------------------------------------------------------------


def movements(summary: RunSummary, scenario: dict[str, Any], path: Path) -> list[Path]:
    """Bars of loaded movements per carrier type (flights, sailings, land trips) and of tonnes by mode.

    Bars are the P50 over replications with P10-P90 whiskers, coloured by the carrier's mode.
    """
    modes = _carrier_modes(scenario)
    many = summary.many
    with style.style():
        fig, axes = plt.subplots(2, 2, figsize=(style.WIDTH_IN, 7.4))
        panels = [("flights", axes[0][0]), ("sailings", axes[0][1]), ("land_trips", axes[1][0])]
        for group, ax in panels:
            stats = summary.movements.get(group) or {}
            ax.set_title(GROUP_TITLES[group])
            if not stats:
                _empty(ax, "none in this scenario")
                continue
            types = list(stats)
            colours = [style.mode_colour(modes.get(t, GROUP_MODE[group])) for t in types]
            _bars(ax, types, [stats[t] for t in types], colours, many)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            style.thousands(ax.yaxis)
            ax.set_ylabel("loaded movements")
        ax = axes[1][1]
        tonnes = summary.tonnes_by_mode
        shown = [m for m in style.MODE_ORDER if m in tonnes] + [m for m in tonnes if m not in style.MODE_ORDER]
        ax.set_title("Tonnes moved by mode (each leg counted)")
        if shown:
            _bars(ax, shown, [tonnes[m] for m in shown], [style.mode_colour(m) for m in shown], many)
            ax.set_ylabel("tonnes")
        else:
            _empty(ax, "no tonnes recorded")
        present = sorted({modes.get(t, GROUP_MODE[g]) for g, _ in panels for t in (summary.movements.get(g) or {})} | set(shown),
                         key=lambda m: style.MODE_ORDER.index(m) if m in style.MODE_ORDER else 99)
        handles = [Patch(color=style.mode_colour(m), label=m) for m in present]
        if many:
            handles.append(Line2D([], [], color="#333333", linewidth=1.2, label="P10-P90 over replications"))
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
        reps = summary.replications_completed
        fig.suptitle(f"{_title(summary)}: movements and tonnes "
                     f"({'P50 of ' if many else ''}{reps} replication{'s' if reps != 1 else ''})", fontsize=11)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        return style.save(fig, path)


def _bars(ax: Any, labels: list[str], stats: list[Spread], colours: list[str], whiskers: bool) -> None:
    x = list(range(len(labels)))
    mid = [_num(s.p50) for s in stats]
    ax.bar(x, mid, color=colours, width=0.65)
    if whiskers:
        lo = [max(m - _num(s.p10, m), 0) for m, s in zip(mid, stats)]
        hi = [max(_num(s.p90, m) - m, 0) for m, s in zip(mid, stats)]
        ax.errorbar(x, mid, yerr=[lo, hi], fmt="none", ecolor="#333333", elinewidth=1.2, capsize=4)
    top = max([_num(s.p90, m) for m, s in zip(mid, stats)] + [1.0])
    for xi, m in zip(x, mid):
        ax.text(xi, m + top * 0.02, f"{m:,.0f}", ha="center", va="bottom", fontsize=8.5)
    ax.set_ylim(0, top * 1.18)
    ax.set_xticks(x, [style.short(t, 18) for t in labels], rotation=20 if len(labels) > 3 else 0,
                  ha="right" if len(labels) > 3 else "center")
    ax.grid(axis="x", visible=False)
    style.thousands(ax.yaxis)


# --- resource use over time -------------------------------------------------------------------


def utilization_over_time(summary: RunSummary, rows: Sequence[dict[str, Any]], path: Path) -> list[Path]:
    """Daily utilization of each constrained node resource (mean over replications), one panel per kind.

    Resources never used are listed under the panels instead of drawn; the bottleneck named in
    summary.json is drawn thick and named in the title.
    """
    start = _start(summary)
    end = start + dt.timedelta(days=shown_days(summary))
    deadline = start + dt.timedelta(days=summary.deadline_day)
    bottleneck = summary.bottleneck
    series: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = series.setdefault(r["resource"], {"kind": r["kind"], "capacity": _num(r["capacity"]), "dates": [], "util": []})
        s["dates"].append(dt.date.fromisoformat(r["date"]))
        s["util"].append(100 * _num(r["utilization_mean"]))
    unused = sorted(name for name, s in series.items() if not any(u > 0 for u in s["util"]))
    kinds = [k for k in KIND_ORDER if any(s["kind"] == k and n not in unused for n, s in series.items())]
    kinds += sorted({s["kind"] for n, s in series.items() if n not in unused} - set(kinds))
    header = textwrap.wrap(_bottleneck_line(summary), 125)
    with style.style():
        n = max(len(kinds), 1)
        fig_h = 2.6 * n + 0.9 + 0.2 * len(header)
        fig, axes = plt.subplots(n, 1, figsize=(style.WIDTH_IN, fig_h), squeeze=False, sharex=True)
        if not kinds:
            _empty(axes[0][0], "no constrained node resource was used" if series else
                   "no constrained node resources (parking spots, berths, land handling) in this scenario")
        top = 100.0
        for ax_row, kind in zip(axes, kinds):
            ax = ax_row[0]
            names = [name for name in sorted(series) if series[name]["kind"] == kind and name not in unused]
            for j, name in enumerate(names):
                s = series[name]
                is_bottleneck = name == bottleneck
                colour = style.HIGHLIGHT if is_bottleneck else RESOURCE_COLOURS[j % len(RESOURCE_COLOURS)]
                ax.plot(s["dates"], s["util"], color=colour,
                        linewidth=2.6 if is_bottleneck else 1.5, drawstyle="steps-post",
                        label=f"{style.short(name, 34)} ({s['capacity']:g}){' - bottleneck' if is_bottleneck else ''}")
                top = max(top, max(s["util"], default=0))
            style.deadline_line(ax, deadline, label=f"deadline {deadline:%d %b %Y}")
            ax.set_title(KIND_TITLES.get(kind, kind), loc="left")
            ax.set_ylabel("% of capacity in use")
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), title="resource (capacity)", title_fontsize=8)
        for ax_row in axes:
            ax_row[0].set_ylim(0, top * 1.05)
            ax_row[0].set_xlim(start, end)
        if kinds:
            style.format_date_axis(axes[-1][0], start, end)
        reps = summary.replications_completed
        fig.suptitle(f"Utilization over time of each constrained node resource: daily mean over {reps} "
                     f"replication{'s' if reps != 1 else ''}", fontsize=11, x=0.01, y=1 - 0.08 / fig_h, ha="left", va="top")
        fig.text(0.01, 1 - 0.36 / fig_h, "\n".join(header), fontsize=9.5, color=style.HIGHLIGHT, ha="left", va="top")
        note = ("not used: " + ", ".join(unused)) if unused else ""
        if note:
            fig.text(0.01, 0.01, style.short(note, 180), fontsize=8, color=style.MUTED, ha="left")
        fig.tight_layout(rect=(0, 0.25 / fig_h if note else 0, 1, 1 - (0.3 + 0.17 * len(header)) / fig_h))
        return style.save(fig, path)


def _bottleneck_line(summary: RunSummary) -> str:
    name = summary.bottleneck
    if not name:
        return "No constrained resource was measured."
    row = summary.busiest(name)
    if row is None:
        return f"Bottleneck: {name}"
    extra = " (a fleet: its daily use is not in utilization_daily.csv)" if row.kind == "fleet" else ""
    return (f"Bottleneck: {name}, {100 * _num(row.utilization):.0f}% utilized over the active period, "
            f"{_num(row.queue_h):,.0f} carrier-hours queueing{extra}")


def queueing(summary: RunSummary, scenario: dict[str, Any], path: Path, limit: int = 20) -> list[Path]:
    """Where the time goes: mean utilization and the queueing it caused, per constrained resource (fleets too)."""
    rows = list(summary.utilization)
    shown = rows[:limit]
    fleet_modes = _fleet_modes(scenario)
    bottleneck = summary.bottleneck
    with style.style():
        height = 0.32 * max(len(shown), 3) + 1.6
        fig, (left, right) = plt.subplots(1, 2, figsize=(style.WIDTH_IN, height), sharey=True,
                                          gridspec_kw={"width_ratios": (1, 1)})
        if not shown:
            _empty(left, "no constrained resources measured")
            _empty(right, "")
        else:
            y = list(range(len(shown)))[::-1]
            colours = []
            for r in shown:
                if r.resource == bottleneck:
                    colours.append(style.HIGHLIGHT)
                elif r.kind == "fleet":
                    colours.append(style.mode_colour(fleet_modes.get(r.where, "")))
                else:
                    colours.append("#6b7b8c")
            util = [100 * _num(r.utilization) for r in shown]
            queue = [_num(r.queue_h) for r in shown]
            left.barh(y, util, color=colours, height=0.7)
            right.barh(y, queue, color=colours, height=0.7)
            for yi, u, q in zip(y, util, queue):
                left.text(u + 1, yi, f"{u:.0f}%", va="center", fontsize=8)
                right.text(q + max(queue + [1]) * 0.01, yi, f"{q:,.0f}", va="center", fontsize=8)
            left.set_yticks(y, [style.short(r.resource, 44) for r in shown])
            left.set_xlim(0, max(util + [100]) * 1.12)
            right.set_xlim(0, max(queue + [1]) * 1.15)
            left.set_xlabel("mean utilization over the active period (%)")
            right.set_xlabel("carrier-hours queueing for it (mean per replication)")
            style.thousands(right.xaxis)
            for ax in (left, right):
                ax.grid(axis="y", visible=False)
            handles = [Patch(color=style.HIGHLIGHT, label="bottleneck"), Patch(color="#6b7b8c", label="node facility")]
            modes = sorted({fleet_modes.get(r.where, "") for r in shown if r.kind == "fleet"} - {""},
                           key=lambda m: style.MODE_ORDER.index(m) if m in style.MODE_ORDER else 99)
            handles += [Patch(color=style.mode_colour(m), label=f"{m} fleet") for m in modes]
            right.legend(handles=handles, loc="lower right")
        more = f" (the {len(shown)} busiest of {len(rows)})" if len(rows) > len(shown) else ""
        fig.suptitle(f"Where the time goes: utilization and queueing per constrained resource{more}", fontsize=11,
                     x=0.01, ha="left")
        fig.tight_layout()
        return style.save(fig, path)


# --- fleet timeline ----------------------------------------------------------------------------


def fleet_timeline(summary: RunSummary, scenario: dict[str, Any], trips: Sequence[dict[str, Any]], path: Path,
                   max_rows: int = TIMELINE_ROWS) -> list[Path]:
    """One row per carrier of the representative replication: loading, moving, unloading, and between loads.

    With more than `max_rows` carriers, the busiest (hours loading, moving and unloading) are shown,
    and the figure says so.
    """
    origin = _origin(summary)
    start = _start(summary)
    deadline = start + dt.timedelta(days=summary.deadline_day)
    by_carrier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trips:
        by_carrier[t["carrier_id"]].append(t)
    busy = {c: sum(_num(t["unload_end_h"]) - _num(t["load_start_h"]) for t in ts) for c, ts in by_carrier.items()}
    chosen = sorted(busy, key=lambda c: (-busy[c], c))[:max_rows]

    def order(c: str) -> tuple[Any, ...]:
        first = by_carrier[c][0]
        mode = first.get("mode", "")
        return (style.MODE_ORDER.index(mode) if mode in style.MODE_ORDER else 99, first.get("fleet", ""), c)

    chosen.sort(key=order)
    rep = summary.representative_replication
    total = len(by_carrier)
    capped = (f"Showing the {len(chosen)} busiest of {total} carriers (by hours loading, moving and unloading)."
              if total > len(chosen) else f"All {total} carriers.")
    with style.style():
        rows = max(len(chosen), 4)
        fig_h = 0.17 * rows + 2.3
        fig, ax = plt.subplots(figsize=(style.WIDTH_IN, fig_h))
        if not chosen:
            _empty(ax, "no loaded movements recorded (trips.csv is missing or empty)")
        end_h = 0.0
        for i, c in enumerate(chosen):
            y = len(chosen) - 1 - i
            ts = by_carrier[c]
            colour = style.mode_colour(ts[0].get("mode", ""))
            first = min(_num(t["load_start_h"]) for t in ts)
            last = max(_num(t["unload_end_h"]) for t in ts)
            end_h = max(end_h, last)
            ax.broken_barh([(origin + first / 24, (last - first) / 24)], (y - 0.08, 0.16), facecolors="#cfcfcf")
            load, move, unload = [], [], []
            for t in ts:
                a, b, c_, d = (_num(t[k]) for k in ("load_start_h", "departure_h", "arrival_h", "unload_end_h"))
                load.append((origin + a / 24, (b - a) / 24))
                move.append((origin + b / 24, (c_ - b) / 24))
                unload.append((origin + c_ / 24, (d - c_) / 24))
            ax.broken_barh(load, (y - 0.38, 0.76), facecolors=colour, alpha=0.35, linewidth=0)
            ax.broken_barh(move, (y - 0.38, 0.76), facecolors=colour, linewidth=0)
            ax.broken_barh(unload, (y - 0.38, 0.76), facecolors="#222222", alpha=0.75, linewidth=0)
        legend_rows = 0
        if chosen:
            ax.set_yticks(range(len(chosen)), [style.short(c, 26) for c in reversed(chosen)],
                          fontsize=7 if len(chosen) > 30 else 8.5)
            ax.set_ylim(-0.8, len(chosen) - 0.2)
            shown_end = start + dt.timedelta(days=max(end_h / 24, summary.deadline_day) + 1.5)
            ax.set_xlim(start, shown_end)
            style.format_date_axis(ax, start, shown_end)
            style.deadline_line(ax, deadline)
            ax.grid(axis="y", visible=False)
            modes = sorted({by_carrier[c][0].get("mode", "") for c in chosen},
                           key=lambda m: style.MODE_ORDER.index(m) if m in style.MODE_ORDER else 99)
            sample = style.mode_colour(modes[0]) if modes else style.MODE_FALLBACK
            handles = [Patch(facecolor=sample, alpha=0.35, label="loading (pale; incl. hold for cargo)"),
                       Patch(facecolor=sample, label="moving loaded (mode colour)"),
                       Patch(facecolor="#222222", alpha=0.75, label="unloading (dark)"),
                       Line2D([], [], color="#cfcfcf", linewidth=3, label="between loads (returning, waiting, queueing)")]
            handles += [Patch(facecolor=style.mode_colour(m), label=f"{m}") for m in modes]
            handles.append(Line2D([], [], label=f"deadline {deadline:%d %b %Y}", **style.DEADLINE_LINE))
            legend_rows = math.ceil(len(handles) / 5)
            fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False)
        fig.suptitle(f"Fleet timeline of the representative replication{f' ({rep})' if rep is not None else ''}",
                     fontsize=11, x=0.01, y=1 - 0.08 / fig_h, ha="left", va="top")
        fig.text(0.01, 1 - 0.36 / fig_h, f"{capped} A scheduled train is one row per departure.", fontsize=9,
                 color="#444444", ha="left", va="top")
        fig.tight_layout(rect=(0, (0.1 + 0.22 * legend_rows) / fig_h, 1, 1 - 0.55 / fig_h))
        return style.save(fig, path)


# --- network map -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def land_rings() -> tuple[tuple[tuple[float, float], ...], ...]:
    """Coarse land outlines (lon, lat): Natural Earth 1:110m, public domain; see sim/data/README.md."""
    text = resources.files("sim").joinpath("data", LAND_DATA).read_text(encoding="utf-8")
    return tuple(tuple((p[0], p[1]) for p in ring) for ring in json.loads(text)["rings"])


def leg_tonnes(trips: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Tonnes moved per leg id in the trips given (the representative replication)."""
    out: dict[str, float] = defaultdict(float)
    for t in trips:
        out[t["leg"]] += _num(t.get("tonnes"))
    return dict(out)


def network_map(summary: RunSummary, scenario: dict[str, Any], trips: Sequence[dict[str, Any]], path: Path) -> list[Path]:
    """Nodes at their coordinates over a coarse land outline; legs coloured by mode, width by tonnes moved.

    When the nodes fall into two groups far apart (say, US ports and Europe), a second panel
    zooms into the larger group so that close nodes stay readable.
    """
    nodes = scenario.get("nodes", {})
    legs = scenario.get("legs", {})
    tonnes = leg_tonnes(trips)
    # legs between the same two nodes by the same mode are drawn as one line
    links: dict[tuple[str, str, str], float] = {}
    for lid, leg in legs.items():
        key = (leg["from"], leg["to"], str(leg["mode"]))
        if key[0] in nodes and key[1] in nodes:
            links[key] = links.get(key, 0.0) + tonnes.get(lid, 0.0)
    peak = max(links.values(), default=0.0)
    panels = [_extent([(n["lon"], n["lat"]) for n in nodes.values()], pad=(8, 5), minimum=(20, 12))]
    zoom = _zoom_group(nodes)
    if zoom:
        panels.append(_extent([(nodes[n]["lon"], nodes[n]["lat"]) for n in zoom], pad=(1.5, 1.0), minimum=(5, 3.5)))
    with style.style():
        ratios = [_aspect_width(e) for e in panels]
        height = min(max((style.WIDTH_IN - 0.9 * len(panels)) / sum(ratios) + 1.75, 4.0), 9.0)
        fig, axes = plt.subplots(1, len(panels), figsize=(style.WIDTH_IN, height), squeeze=False,
                                 gridspec_kw={"width_ratios": ratios})
        to_label = []
        for k, (ax, extent) in enumerate(zip(axes[0], panels)):
            only = None if len(panels) == 1 or k == 1 else [n for n in nodes if n not in zoom]
            to_label.append(_draw_map(ax, extent, nodes, links, peak, only))
            if len(panels) > 1:
                ax.set_title("Overview" if k == 0 else "Detail", loc="left")
        if len(panels) > 1:
            x0, x1, y0, y1 = panels[1]
            axes[0][0].add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#555555",
                                               linewidth=0.8, linestyle=":"))
        handles = [Line2D([], [], color=style.mode_colour(m), linewidth=3, label=m)
                   for m in style.MODE_ORDER if any(k[2] == m for k in links)]
        for t in _width_samples(peak):
            handles.append(Line2D([], [], color="#555555", linewidth=_width(t, peak), label=f"{t:,.0f} t"))
        handles.append(Line2D([], [], color="#555555", linewidth=0.8, linestyle=":", label="no cargo moved"))
        kinds = sorted({str(n.get("kind", "")) for n in nodes.values()})
        handles += [Line2D([], [], marker=style.NODE_MARKERS.get(k, "o"), color="white", markerfacecolor="#333333",
                           markersize=7, label=k.replace("_", " ")) for k in kinds]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 7), frameon=False)
        rep = summary.representative_replication
        fig.suptitle(f"Network: routes by mode, line width by tonnes moved in the representative replication"
                     f"{f' ({rep})' if rep is not None else ''}", fontsize=11, x=0.01, ha="left")
        fig.text(0.99, 0.005, "Land outline: Natural Earth 1:110m (public domain)", fontsize=7, color=style.MUTED, ha="right")
        fig.tight_layout(rect=(0, 0.7 / height, 1, 1 - 0.1 / height))
        for ax, names in zip(axes[0], to_label):
            _place_labels(ax, nodes, names)
        return style.save(fig, path)


Extent = tuple[float, float, float, float]  # lon0, lon1, lat0, lat1


def _extent(points: list[tuple[float, float]], pad: tuple[float, float], minimum: tuple[float, float]) -> Extent:
    lons = [p[0] for p in points] or [0.0]
    lats = [p[1] for p in points] or [0.0]
    x0, x1, y0, y1 = min(lons) - pad[0], max(lons) + pad[0], min(lats) - pad[1], max(lats) + pad[1]
    if x1 - x0 < minimum[0]:
        c = (x0 + x1) / 2
        x0, x1 = c - minimum[0] / 2, c + minimum[0] / 2
    if y1 - y0 < minimum[1]:
        c = (y0 + y1) / 2
        y0, y1 = c - minimum[1] / 2, c + minimum[1] / 2
    return max(x0, -180.0), min(x1, 180.0), max(y0, -85.0), min(y1, 85.0)


def _aspect(extent: tuple[float, float, float, float]) -> float:
    """Data aspect of an equirectangular map, true to scale at its middle latitude."""
    return 1 / max(math.cos(math.radians((extent[2] + extent[3]) / 2)), 0.2)


def _aspect_width(extent: tuple[float, float, float, float]) -> float:
    x0, x1, y0, y1 = extent
    return (x1 - x0) / ((y1 - y0) * _aspect(extent))


def _zoom_group(nodes: dict[str, Any]) -> list[str]:
    """The larger of two groups of nodes split by the widest gap in longitude, if that gap is wide (> 25 degrees)."""
    if len(nodes) < 3:
        return []
    ordered = sorted(nodes, key=lambda n: (nodes[n]["lon"], n))
    gaps = [(nodes[b]["lon"] - nodes[a]["lon"], i) for i, (a, b) in enumerate(zip(ordered, ordered[1:]))]
    gap, i = max(gaps)
    if gap < 25:
        return []
    west, east = ordered[: i + 1], ordered[i + 1:]
    group = east if len(east) >= len(west) else west
    return group if len(group) >= 2 else []


def _width(tonnes: float, peak: float) -> float:
    return 1.0 + 8.0 * tonnes / peak if peak > 0 else 1.0


def _width_samples(peak: float) -> list[float]:
    if peak <= 0:
        return []
    magnitude = 10 ** math.floor(math.log10(peak))
    top = math.floor(peak / magnitude) * magnitude
    return sorted({top, _nice(top / 4)} - {0})[::-1]


def _nice(value: float) -> float:
    if value <= 0:
        return 0
    magnitude = 10 ** math.floor(math.log10(value))
    return min((1, 2, 5, 10), key=lambda m: abs(m * magnitude - value)) * magnitude


def _great_circle(lon0: float, lat0: float, lon1: float, lat1: float, n: int = 48) -> tuple[list[float], list[float]]:
    p0, p1 = (math.radians(v) for v in (lat0, lat1))
    l0, l1 = (math.radians(v) for v in (lon0, lon1))
    a = [math.cos(p0) * math.cos(l0), math.cos(p0) * math.sin(l0), math.sin(p0)]
    b = [math.cos(p1) * math.cos(l1), math.cos(p1) * math.sin(l1), math.sin(p1)]
    omega = math.acos(max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b)))))
    if omega < 1e-9:
        return [lon0, lon1], [lat0, lat1]
    xs, ys = [], []
    for k in range(n + 1):
        f = k / n
        w0, w1 = math.sin((1 - f) * omega) / math.sin(omega), math.sin(f * omega) / math.sin(omega)
        x, y, z = (w0 * u + w1 * v for u, v in zip(a, b))
        xs.append(math.degrees(math.atan2(y, x)))
        ys.append(math.degrees(math.atan2(z, math.hypot(x, y))))
    return xs, ys


def _draw_map(ax: Any, extent: tuple[float, float, float, float], nodes: dict[str, Any],
              links: dict[tuple[str, str, str], float], peak: float, label_nodes: list[str] | None) -> list[str]:
    """Draw land, legs and nodes; return the ids of the nodes to label once the layout is fixed."""
    x0, x1, y0, y1 = extent
    ax.set_facecolor(style.SEA)
    rings = [ring for ring in land_rings()
             if max(p[0] for p in ring) >= x0 and min(p[0] for p in ring) <= x1
             and max(p[1] for p in ring) >= y0 and min(p[1] for p in ring) <= y1]
    ax.add_collection(PolyCollection(rings, facecolors=style.LAND, edgecolors=style.LAND_EDGE, linewidths=0.5, zorder=1))
    for (a, b, mode), t in sorted(links.items(), key=lambda kv: (kv[1], kv[0])):
        na, nb = nodes[a], nodes[b]
        if mode == "air":
            xs, ys = _great_circle(na["lon"], na["lat"], nb["lon"], nb["lat"])
        else:
            xs, ys = [na["lon"], nb["lon"]], [na["lat"], nb["lat"]]
        if t > 0:
            ax.plot(xs, ys, color=style.mode_colour(mode), linewidth=_width(t, peak), alpha=0.85,
                    solid_capstyle="round", zorder=2)
        else:
            ax.plot(xs, ys, color=style.mode_colour(mode), linewidth=0.8, linestyle=":", zorder=2)
    for nid in sorted(nodes):
        n = nodes[nid]
        ax.plot(n["lon"], n["lat"], marker=style.NODE_MARKERS.get(str(n.get("kind", "")), "o"), markersize=7,
                color="#222222", markeredgecolor="white", markeredgewidth=0.8, linestyle="none", zorder=4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(_aspect(extent))
    ax.grid(True, color="white", alpha=0.6, linewidth=0.5)
    ax.tick_params(labelsize=7.5)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):g}°{'W' if v < 0 else 'E' if v > 0 else ''}"))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):g}°{'S' if v < 0 else 'N' if v > 0 else ''}"))
    return [nid for nid in sorted(nodes, key=lambda k: (-nodes[k]["lat"], nodes[k]["lon"], k))
            if x0 <= nodes[nid]["lon"] <= x1 and y0 <= nodes[nid]["lat"] <= y1
            and (label_nodes is None or nid in label_nodes)]


CANDIDATES = ((7, 5, "left", "bottom"), (7, -5, "left", "top"), (-7, 5, "right", "bottom"), (-7, -5, "right", "top"),
              (0, 9, "center", "bottom"), (0, -9, "center", "top"), (10, 0, "left", "center"), (-10, 0, "right", "center"),
              (14, 14, "left", "bottom"), (-14, -14, "right", "top"), (14, -14, "left", "top"), (-14, 14, "right", "bottom"))


MAX_LABELS = 150  # per map panel; past this many nodes labels would only cover each other (and the map)
LABEL_CELL_PX = 48.0  # side of the grid cells that index placed labels and node markers


def _place_labels(ax: Any, nodes: dict[str, Any], names: list[str]) -> int:
    """Label nodes by id, trying a few offsets each so labels overlap neither each other nor other nodes.

    Placed labels and node markers are kept in a grid of `LABEL_CELL_PX` cells, so each candidate is
    compared only with what lies in the cells it covers: the work grows with the number of nodes, not its
    square. Past `MAX_LABELS` nodes the panel says so instead of labelling them. Returns the number of
    comparisons made (labels and markers looked at), the measure of the placement's work.
    """
    if len(names) > MAX_LABELS:
        ax.text(0.01, 0.01, f"{len(names):,} nodes: too many to label (labels are shown up to {MAX_LABELS})",
                transform=ax.transAxes, fontsize=7, color=style.MUTED, ha="left", va="bottom", zorder=6)
        return 0
    fig = ax.figure
    fig.canvas.draw()  # fixes the layout so that extents are known
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    points: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for n in nodes.values():
        x, y = ax.transData.transform((n["lon"], n["lat"]))
        points[_cell(x, y)].append((x, y))
    taken: list[Any] = []
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    work = 0
    for nid in names:
        n = nodes[nid]
        best, best_cost = None, math.inf
        for dx, dy, ha, va in CANDIDATES:
            text = ax.annotate(nid, (n["lon"], n["lat"]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                               fontsize=8, zorder=5, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                                           "edgecolor": "none", "alpha": 0.75})
            ext = text.get_window_extent(renderer).expanded(1.05, 1.1)
            cells = _cells(ext)
            near = sorted({i for c in cells for i in grid.get(c, ())})  # placement order, as a sum over all would add
            cost = sum(_overlap(ext, taken[i]) for i in near)
            marks = [p for c in cells for p in points.get(c, ())]
            cost += sum(40.0 for p in marks if ext.contains(*p))
            work += len(near) + len(marks)
            if not (box.contains(ext.x0, ext.y0) and box.contains(ext.x1, ext.y1)):
                cost += 500.0
            if cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (text, ext), cost
            else:
                text.remove()
            if cost == 0:
                break
        if best is not None:
            taken.append(best[1])
            for c in _cells(best[1]):
                grid[c].append(len(taken) - 1)
    return work


def _cell(x: float, y: float) -> tuple[int, int]:
    return int(math.floor(x / LABEL_CELL_PX)), int(math.floor(y / LABEL_CELL_PX))


def _cells(ext: Any) -> list[tuple[int, int]]:
    """The grid cells a box (in display pixels) covers."""
    (i0, j0), (i1, j1) = _cell(ext.x0, ext.y0), _cell(ext.x1, ext.y1)
    return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0
