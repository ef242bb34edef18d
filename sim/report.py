"""report.html: the page an analyst hands on, built from a saved results folder only.

`write_report(results)` takes a run's results (its typed summary and tables, in memory from
`sim run` or read back from a folder by `sim.saved.load`), draws any picture that is missing, and writes ONE self-contained HTML file (pictures as
base64 PNG data URIs, inline CSS, no scripts, no fonts or anything else fetched) that reads
top to bottom: the verdict, delivery curves, movements and tonnes, where the time goes,
the fleet timeline, the network map, the bounds (when summary.json has them) and the
assumptions. `redraw(results_dir)` redraws every picture (PNG and SVG) and the report from
the saved files, without re-running the model: it backs `sim plot RESULTS_DIR`.

Every piece of scenario text is HTML-escaped. The page has no timestamp, so the same
folder gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.files import write_bytes
from sim.html_page import esc, fmt_num, html_table, page
from sim.saved import Saved, load
from sim.summary import ClassVerdict, RunSummary, Spread

REPORT = "report.html"
# picture file (PNG; an SVG is written beside each) -> what it shows
FIGURES = {
    "delivery_curves.png": "delivery curves",
    "closure.png": "closure dates",
    "movements.png": "movements and tonnes",
    "utilization.png": "utilization over time",
    "queueing.png": "utilization and queueing per resource",
    "fleet_timeline.png": "fleet timeline",
    "network_map.png": "network map",
}


# --- pictures ----------------------------------------------------------------------------------------


def _drawers(saved: Saved) -> dict[str, Callable[[Path], Any]]:
    from sim import figures, plots

    s, sc = saved.summary, saved.scenario
    drawers: dict[str, Callable[[Path], Any]] = {
        "delivery_curves.png": lambda p: plots.delivery_curves(s, saved.deliveries, p),
        "closure.png": lambda p: plots.closure_histogram(s, saved.closure_days(), p),
        "movements.png": lambda p: figures.movements(s, sc, p),
        "utilization.png": lambda p: figures.utilization_over_time(s, saved.utilization, p),
        "queueing.png": lambda p: figures.queueing(s, sc, p),
        "fleet_timeline.png": lambda p: figures.fleet_timeline(s, sc, saved.trips, p),
        "network_map.png": lambda p: figures.network_map(s, sc, saved.trips, p),
    }
    if not saved.deliveries:
        drawers.pop("delivery_curves.png")
    if not saved.replications:
        drawers.pop("closure.png")
    if not sc.get("nodes"):
        drawers.pop("network_map.png")
    return drawers


def _saved(results: Path | Saved) -> Saved:
    """The results themselves, or read from their folder."""
    return results if isinstance(results, Saved) else load(results)


def draw_figures(results: Path | Saved, only_missing: bool = False) -> list[Path]:
    """Draw every picture of a run (PNG, and SVG beside it) into its folder; return the PNGs.

    `results` is a folder (read with `sim.saved.load`) or results already in memory (`sim.output.saved_of`).
    With `only_missing`, pictures whose PNG and SVG both exist are left as they are.
    """
    saved = _saved(results)
    written = []
    for name, draw in _drawers(saved).items():
        png = saved.folder / name
        if only_missing and png.is_file() and png.with_suffix(".svg").is_file():
            continue
        draw(png)
        written.append(png)
    return written


def publish(saved: Saved) -> list[Path]:
    """Draw every picture (PNG + SVG) and report.html of `saved` into its folder; return the files written."""
    pngs = draw_figures(saved)
    report = write_report(saved, draw_missing=False)
    return [f for p in pngs for f in (p, p.with_suffix(".svg"))] + [report]


def redraw(results_dir: Path) -> list[Path]:
    """Redraw every picture (PNG + SVG) and report.html from the saved files only; return the files written."""
    return publish(load(results_dir))


def redraw_saved(results_dir: Path) -> list[Path]:
    """`redraw` for a folder the user points at (`sim plot`): a saved file that was edited or damaged so that
    its values no longer parse is a `UsageError` naming the folder, not an internal error."""
    try:
        return redraw(results_dir)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise UsageError(f"{results_dir}: a saved file is damaged or was edited and cannot be drawn "
                         f"({type(exc).__name__}: {exc}); rerun sim run to write the folder again") from None


# --- the page ----------------------------------------------------------------------------------------


def write_report(results: Path | Saved, draw_missing: bool = True) -> Path:
    """Write report.html into a run's folder (drawing missing pictures first); return its path."""
    saved = _saved(results)
    if draw_missing:
        draw_figures(saved, only_missing=True)
    page = render(saved)
    target = saved.folder / REPORT
    write_bytes(target, page.encode("utf-8"))  # a fresh private temporary (O_EXCL), then moved over the old page
    return target


def render(saved: Saved) -> str:
    """The whole page as text."""
    s = saved.summary
    sections = [
        ("verdict", "Verdict", _verdict(saved)),
        ("deliveries", "Deliveries over time", _deliveries(saved)),
        ("movements", "Flights, sailings, land trips and tonnes", _movements(saved)),
        ("time", "Where the time goes", _where_time_goes(saved)),
        ("fleet", "Fleet timeline", _fleet(saved)),
        ("map", "Network map", _map(saved)),
        ("bounds", "Bounds beside the simulated figures", _bounds(saved)),
        ("assumptions", "Assumptions", _assumptions(saved)),
        ("reproduce", "Reproducing these results", _reproduce(saved)),
    ]
    title = s.display_title
    nav = " · ".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, _ in sections)
    body = "\n".join(f'<section id="{sid}">\n<h2>{esc(name)}</h2>\n{content}\n</section>' for sid, name, content in sections)
    description = saved.scenario.get("description", "")
    return page(f"{title}: can it arrive by {_date_text(s.deadline_date)}?", f"""<header>
<h1>{esc(title)}</h1>
<p class="sub">Scenario <code>{esc(s.scenario)}</code> · start {esc(_date_text(s.start_date))} ·
deadline {esc(_date_text(s.deadline_date))} (day {fmt_num(s.deadline_day)}) ·
{esc(_reps(s))} · seed {esc(str(s.seed))}</p>
{f'<p class="description">{esc(description)}</p>' if description else ""}
<nav>{nav}</nav>
</header>
{body}""", generator=str((s.reproduce or {}).get("version", "")))


# --- small formatting helpers -------------------------------------------------------------------------


def _plural(n: Any, word: str, plural: str | None = None) -> str:
    one = n is not None and float(n) == 1
    return f"{fmt_num(n)} {word if one else plural or word + 's'}"


def _pct(value: Any) -> str:
    if value is None:
        return "–"
    return esc(f"{100 * float(value):.0f}%")


def _date_text(iso: Any) -> str:
    if not iso:
        return "–"
    try:
        return dt.date.fromisoformat(str(iso)).strftime("%d %b %Y")
    except ValueError:
        return str(iso)


def _reps(s: RunSummary) -> str:
    n = s.replications_completed
    return f"{n} replication{'s' if n != 1 else ''}"


def _status(p: float | None, many: bool = True) -> tuple[str, str]:
    """Plain words and a CSS class for a probability of meeting a target (over one run: met or not)."""
    if p is None:
        return "no data", ""
    if not many:
        return ("met", "good") if p >= 1 else ("not met", "bad")
    if p >= 0.9:
        return "likely met", "good"
    if p >= 0.5:
        return "at risk", "warn"
    return "unlikely", "bad"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _figure(saved: Saved, name: str, alt: str, caption: str) -> str:
    """The picture `name` of the folder embedded as a PNG data URI, or a note that it is missing."""
    path = saved.folder / name
    if not path.is_file():
        return f'<p class="note">(No picture: {esc(name)} is not in this results folder.)</p>'
    data = path.read_bytes()
    size = _png_size(data)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f'<figure>\n<img src="{uri}" alt="{esc(alt)}"{dims}>\n'
            f'<figcaption>{caption} <span class="muted">({esc(name)}; SVG beside it)</span></figcaption>\n</figure>')


def _class_label(saved: Saved, cls: str) -> str:
    name = saved.summary.classes[cls].name or cls
    return f"{esc(name)}<br><code>{esc(cls)}</code>" if name != cls else f"<code>{esc(cls)}</code>"


def _range(stats: Spread | None, fmt: Callable[[Any], str], many: bool) -> str:
    stats = stats or Spread()
    mid = fmt(stats.p50)
    if not many:
        return mid
    return f'{mid} <span class="muted">({fmt(stats.p10)}–{fmt(stats.p90)})</span>'


# --- sections ------------------------------------------------------------------------------------------


def _verdict(saved: Saved) -> str:
    s = saved.summary
    many = s.many
    deadline = _date_text(s.deadline_date)
    horizon_end = dt.date.fromisoformat(s.start_date) + dt.timedelta(days=float(s.horizon_days))

    def closure(info: ClassVerdict, key: str, short: bool = False) -> str:
        value = getattr(info.closure_date, key)
        if value:
            return esc(dt.date.fromisoformat(value).strftime("%d %b") if short else _date_text(value))
        return esc(f"after {horizon_end:%d %b %Y}" if horizon_end else "not closed")

    rows = []
    for cls, info in s.classes.items():
        unit = info.unit
        words, css = _status(info.p_met, many)
        ci = info.p_met_ci95
        delivered = _range(info.delivered_by_deadline, fmt_num, many)
        share = info.fraction_by_deadline.p50
        closes = closure(info, "p50")
        if many:
            closes += f'<br><span class="muted">({closure(info, "p10", True)} – {closure(info, "p90", True)})</span>'
        rows.append([
            _class_label(saved, cls),
            f"{fmt_num(info.target)} {esc(unit)}",
            f"{delivered} {esc(unit)}<br><span class=muted>{_pct(share)} of target{' (P50)' if many else ''}</span>",
            f"{_pct(info.p_met)}" + (f' <span class="muted">({_pct(ci[0])}–{_pct(ci[1])})</span>' if many else ""),
            f'<span class="status {css}">{esc(words)}</span>',
            closes,
        ])
    if many:
        headers = ["Cargo class", "Target", f"Delivered by {esc(deadline)}: P50 (P10–P90)", "P(met by deadline) (95% CI)",
                   "Verdict", "Closure date: P50 (P10–P90)"]
    else:
        headers = ["Cargo class", "Target", f"Delivered by {esc(deadline)}", "Met by deadline", "Verdict", "Closure date"]
    table = html_table(headers, rows, numeric=(1, 2, 3)).replace("<table>", '<table class="verdict" id="verdict-table">', 1)
    p = s.all_met_probability
    ci = s.all_met_ci95
    words, css = _status(p, many)
    n_classes = len(s.classes)
    if p is None:
        headline = "No replication completed: there is no verdict."
    elif not many:
        met = sum(1 for i in s.classes.values() if (i.p_met or 0) >= 1)
        headline = (f"In this single run, <strong>{met} of {n_classes}</strong> targets are met by the deadline, "
                    f"{esc(deadline)}: <strong>{'every target met' if met == n_classes else 'not every target met'}</strong>.")
    else:
        headline = (f"Every target ({n_classes} cargo class{'es' if n_classes != 1 else ''}) is met by the deadline, "
                    f"{esc(deadline)}, in <strong>{_pct(p)}</strong> "
                    f"of {esc(_reps(s))}" + (f" (95% CI {_pct(ci[0])}–{_pct(ci[1])})" if many else "") +
                    f": <strong>{esc(words)}</strong>.")
    latest = {c: i.closure_day.p50 for c, i in s.classes.items()}
    extra = ""
    if latest and all(v is not None for v in latest.values()):
        last_cls = max(latest, key=lambda c: latest[c] or 0.0)
        last = s.classes[last_cls]
        extra = (f"<p>The last class to close is {esc(last.name or last_cls)}, "
                 f"on {esc(_date_text(last.closure_date.p50))}{' (P50)' if many else ''}.</p>")
    failed = s.failed_replications
    warn = ""
    if failed:
        warn = (f'<p class="warning">{len(failed)} replication(s) failed and are left out of every figure: '
                + ", ".join(esc(str(f.index)) for f in failed[:20]) + (" …" if len(failed) > 20 else "") + "</p>")
    bottleneck = s.bottleneck
    neck = (f"<p>Bottleneck (highest mean utilization): <strong>{esc(bottleneck)}</strong>; "
            'see <a href="#time">where the time goes</a>.</p>') if bottleneck else ""
    explain = ('<p class="note">P50 is the median over replications, P10–P90 the range that holds 80% of them; '
               "a target is met when the whole quantity has reached the hand-over by the deadline. "
               "The 95% interval is a Wilson interval for the probability.</p>") if many else (
               '<p class="note">One replication: the figures are those of a single run, without a spread.</p>')
    return f'<p class="headline {css}" id="overall">{headline}</p>\n{warn}{table}\n{extra}{neck}{explain}'


def _deliveries(saved: Saved) -> str:
    return (_figure(saved, "delivery_curves.png", "Cumulative deliveries per cargo class against date, with target and deadline",
                    "Cumulative quantity delivered to the hand-over per class: median line, P10–P90 band, target (grey dashed) "
                    "and deadline (red dashed).")
            + _figure(saved, "closure.png", "Distribution of the closure date of each cargo class",
                      "When each class closes (its last unit delivered), per replication, in half-day bins."))


def _movements(saved: Saved) -> str:
    s = saved.summary
    carriers = saved.scenario.get("carriers", {})
    many = s.many
    rows = []
    for group, label in (("flights", "flights"), ("sailings", "sailings"), ("land_trips", "land trips")):
        for ctype, stats in s.movements.get(group, {}).items():
            name = carriers.get(ctype, {}).get("name", "")
            rows.append([esc(label), f"<code>{esc(ctype)}</code>" + (f" {esc(name)}" if name else ""),
                         _range(stats, fmt_num, many)])
    table = html_table(["Kind", "Carrier type", "Loaded movements: P50" + (" (P10–P90)" if many else "")], rows, numeric=(2,))
    tonnes = s.tonnes_by_mode
    trows = [[esc(m), _range(v, fmt_num, many)] for m, v in tonnes.items()]
    ttable = html_table(["Mode", "Tonnes moved: P50" + (" (P10–P90)" if many else "")], trows, numeric=(1,))
    return (_figure(saved, "movements.png", "Bar charts of flights, sailings and land trips per carrier type, and tonnes by mode",
                    "Loaded movements per carrier type and tonnes moved per mode (bars: P50; whiskers: P10–P90). "
                    "Tonnes count each leg, so cargo that flies and then goes by road counts under both.")
            + table + ttable)


def _where_time_goes(saved: Saved) -> str:
    s = saved.summary
    rows = s.utilization
    neck = s.bottleneck
    parts = []
    if neck:
        row = s.busiest(neck)
        parts.append(f'<p class="headline warn">Bottleneck: <strong>{esc(neck)}</strong>, '
                     f"{_pct(row.utilization if row else None)} utilized over the active period, "
                     f"{fmt_num(row.queue_h if row else None)} carrier-hours of queueing for it per replication (mean).</p>")
    else:
        parts.append('<p class="note">No constrained resource was measured.</p>')
    total_queue = sum(float(r.queue_h or 0) for r in rows)
    top_queue = max(rows, key=lambda r: float(r.queue_h or 0), default=None)
    if top_queue and float(top_queue.queue_h or 0) > 0:
        parts.append(f"<p>Carriers spent {fmt_num(total_queue)} carrier-hours queueing in all (mean per replication); "
                     f"the most at <strong>{esc(top_queue.resource)}</strong> ({fmt_num(top_queue.queue_h)} h).</p>")
    parts.append(_figure(saved, "utilization.png", "Daily utilization of each airfield, berth and land-handling resource",
                         "Share of each node resource's capacity in use per day (mean over replications). "
                         "Fleets are in the next picture and the table."))
    parts.append(_figure(saved, "queueing.png", "Utilization and queueing hours per constrained resource",
                         "Mean utilization over the active period and the carrier-hours spent queueing, per resource; "
                         "the bottleneck in red."))
    table_rows = [[("<strong>" + esc(r.resource) + "</strong>") if r.resource == neck else esc(r.resource),
                   esc(r.kind.replace("_", " ")), esc(r.where), fmt_num(r.capacity),
                   _pct(r.utilization), fmt_num(r.queue_h)] for r in rows]
    parts.append("<details><summary>Every constrained resource (table)</summary>" +
                 html_table(["Resource", "Kind", "Where", "Capacity", "Utilization", "Queueing (carrier-h)"], table_rows,
                        numeric=(3, 4, 5)) + "</details>")
    return "\n".join(parts)


def _fleet(saved: Saved) -> str:
    rep = saved.summary.representative_replication
    if not saved.trips:
        return '<p class="note">No trip log in this results folder (trips.csv is missing or empty).</p>' + \
            _figure(saved, "fleet_timeline.png", "Fleet timeline", "")
    return (f"<p>One row per carrier in the representative replication (number {esc(rep)}: the one whose last class "
            "closed nearest the median); each loaded trip shows loading, moving and unloading.</p>"
            + _figure(saved, "fleet_timeline.png", "Timeline of each aircraft, vessel and vehicle: loading, moving, unloading",
                      "Bars: loading (pale), moving loaded (mode colour), unloading (dark); the thin grey line spans the "
                      "time between loads (returning empty, waiting for cargo, queueing)."))


def _map(saved: Saved) -> str:
    if not saved.scenario.get("nodes"):
        return '<p class="note">No map: scenario_resolved.json is not in this results folder.</p>'
    from sim.figures import leg_tonnes

    tonnes = leg_tonnes(saved.trips)
    legs = saved.scenario.get("legs", {})
    rows = [[f"<code>{esc(lid)}</code>", esc(leg.get("mode")), esc(leg.get("from")), esc(leg.get("to")),
             fmt_num(tonnes.get(lid, 0.0))] for lid, leg in legs.items()]
    return (_figure(saved, "network_map.png", "Map of the network: nodes, and routes by mode with width by tonnes moved",
                    "Nodes at their coordinates; legs coloured by mode, line width by tonnes moved in the representative "
                    "replication (dotted: nothing moved). Air legs are drawn as great circles, others as straight lines.")
            + "<details><summary>Tonnes moved per leg (representative replication)</summary>"
            + html_table(["Leg", "Mode", "From", "To", "Tonnes"], rows, numeric=(4,)) + "</details>")


def _assumptions(saved: Saved) -> str:
    sc = saved.scenario
    if not sc:
        return '<p class="note">scenario_resolved.json is not in this results folder: the assumptions cannot be shown.</p>'
    parts = [f"<p>The resolved scenario <code>{esc(sc.get('name', ''))}</code> (after library and <code>extends</code> merges): "
             f"start {esc(_date_text(sc.get('start_date')))}, deadline day {fmt_num(sc.get('deadline_days'))}, horizon "
             f"{fmt_num(sc.get('horizon_days'))} days. Each item's <code>source</code> is shown where the scenario gives one; "
             "the comments in the scenario file give line-by-line sources where its author wrote them.</p>"]

    def src(item: dict[str, Any]) -> str:
        return esc(item.get("source", "")) or '<span class="muted">–</span>'

    nodes = sc.get("nodes", {})
    rows = []
    for nid, n in nodes.items():
        caps = []
        if n.get("parking_spots") is not None:
            caps.append(_plural(n["parking_spots"], "parking spot"))
        if n.get("berths") is not None:
            caps.append(_plural(n["berths"], "berth"))
        if n.get("handling_rate_t_per_day") is not None:
            caps.append(f"{fmt_num(n['handling_rate_t_per_day'])} t/day per berth")
        if n.get("throughput_t_per_day") is not None:
            caps.append(f"{fmt_num(n['throughput_t_per_day'])} t/day land handling")
        hours = n.get("operating_hours_per_day")
        if hours is not None and float(hours) < 24:
            caps.append(f"open {fmt_num(hours)} h/day from {fmt_num(n.get('opens_at_h'))} h")
        for c in n.get("closures") or []:
            caps.append(f"closed days {fmt_num(c.get('start_day'))}–{fmt_num(c.get('end_day'))}" +
                        (f" ({esc(c.get('reason'))})" if c.get("reason") else ""))
        rows.append([f"<code>{esc(nid)}</code><br>{esc(n.get('name', ''))}", esc(str(n.get("kind", "")).replace("_", " ")),
                     esc(f"{float(n.get('lat', 0)):.2f}, {float(n.get('lon', 0)):.2f}"),
                     "<br>".join(caps) or '<span class="muted">not constrained</span>', src(n)])
    parts.append("<h3>Nodes and capacities</h3>" + html_table(["Node", "Kind", "Lat, lon", "Capacities", "Source"], rows))

    carriers = sc.get("carriers", {})
    rows = []
    for fid, f in sc.get("fleets", {}).items():
        size = (_plural(f["count"], "carrier") if f.get("count") is not None
                else f"{fmt_num(f.get('departures_per_day'))} departures/day (scheduled)")
        ctype = f.get("carrier", "")
        rows.append([f"<code>{esc(fid)}</code>", f"<code>{esc(ctype)}</code><br>{esc(carriers.get(ctype, {}).get('name', ''))}",
                     size, fmt_num(f.get("available_from_day")), ", ".join(esc(x) for x in f.get("legs", [])), src(f)])
    parts.append("<h3>Fleets</h3>" + html_table(["Fleet", "Carrier type", "Size", "Available from day", "Legs", "Source"], rows,
                                            numeric=(3,)))

    rows = []
    for cid, c in carriers.items():
        speed = next(((k, c[k]) for k in ("block_speed_kn", "speed_kn", "speed_kmh") if c.get(k) is not None), None)
        speed_text = f"{fmt_num(speed[1])} {'kn' if speed[0] != 'speed_kmh' else 'km/h'}" if speed else "–"
        ground = "–" if c.get("load_time_h") is None else f"{fmt_num(c.get('load_time_h'))} / {fmt_num(c.get('unload_time_h'))} h"
        rows.append([f"<code>{esc(cid)}</code><br>{esc(c.get('name', ''))}", esc(c.get("mode", "")), fmt_num(c.get("payload_t")),
                     fmt_num(c.get("pallet_positions")), speed_text, ground, src(c)])
    parts.append("<h3>Carrier types</h3>" + html_table(["Carrier type", "Mode", "Payload (t)", "Pallet positions", "Speed",
                                                    "Load / unload", "Source"], rows, numeric=(2, 3, 4)))

    cargo = sc.get("cargo", {})
    routes = sc.get("routes", {})
    rows = []
    for cls, req in sc.get("requirements", {}).items():
        c = cargo.get(cls, {})
        releases = []
        for r in req.get("release") or []:
            q = fmt_num(r.get("quantity")) if r.get("quantity") is not None else "the rest"
            rate = f" at {fmt_num(r.get('per_day'))}/day" if r.get("per_day") is not None else ""
            releases.append(f"{q} at {esc(r.get('node'))} from day {fmt_num(r.get('start_day'))}{rate}")
        route_names = [f"<code>{esc(r)}</code> {esc(routes.get(r, {}).get('name', ''))}".rstrip()
                       for r in req.get("routes") or []]
        rows.append([f"<code>{esc(cls)}</code><br>{esc(c.get('name', ''))}", f"{fmt_num(req.get('quantity'))} {esc(c.get('unit', ''))}",
                     fmt_num(c.get("unit_weight_t")), "<br>".join(releases), "<br>".join(route_names), src(c)])
    parts.append("<h3>Cargo targets</h3>" + html_table(["Class", "Target", "Unit weight (t)", "Released", "Routes", "Source"],
                                                   rows, numeric=(1, 2)))

    rows = [[f"<code>{esc(lid)}</code>", esc(leg.get("mode")), esc(leg.get("from")), esc(leg.get("to")),
             (f"{fmt_num(leg['distance_nm'])} nm" if leg.get("distance_nm") is not None else
              f"{fmt_num(leg['distance_km'])} km" if leg.get("distance_km") is not None else "great circle"),
             fmt_num(leg.get("routing_factor"), 2)] for lid, leg in sc.get("legs", {}).items()]
    parts.append("<h3>Legs</h3>" + html_table(["Leg", "Mode", "From", "To", "Distance", "Routing factor"], rows, numeric=(4, 5)))

    unc = sc.get("uncertainty") or {}
    if any(unc.values()):
        text = json.dumps(unc, indent=2, ensure_ascii=False)
        parts.append("<h3>Uncertainty</h3><p>Distributions drawn in every replication: "
                     + ", ".join(f"<code>{esc(k)}</code> ({len(v)})" for k, v in unc.items() if v) + ".</p>"
                     + f"<details><summary>The uncertainty block as resolved</summary><pre>{esc(text)}</pre></details>")
    else:
        parts.append("<h3>Uncertainty</h3><p>None: every replication runs at the planned values.</p>")
    return "\n".join(parts)


def _bounds(saved: Saved) -> str:
    bounds = saved.summary.bounds
    if not bounds:
        return '<p class="note">No bounds in this results folder (summary.json has no <code>bounds</code>).</p>'
    try:
        return _render_bounds(saved, bounds)
    except Exception:  # a shape this page does not know yet: show it as it is rather than fail the report
        return ("<p>The bounds as recorded in summary.json:</p><pre>" + esc(json.dumps(bounds, indent=2, ensure_ascii=False))
                + "</pre>")


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return [(prefix, ", ".join(str(v) for v in value))]
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, value)]


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return esc("–" if value is None else str(value).lower())
    if isinstance(value, (int, float)):
        return fmt_num(value)
    return esc(value)


def _render_bounds(saved: Saved, bounds: Any) -> str:
    """Bounds beside the simulated figures: per class where the bounds are given per class, the rest as a list."""
    classes = saved.summary.classes
    per_class = None
    rest = bounds
    if isinstance(bounds, dict):
        if isinstance(bounds.get("classes"), dict):
            per_class = bounds["classes"]
            rest = {k: v for k, v in bounds.items() if k != "classes"}
        elif bounds and set(bounds) <= set(classes) and all(isinstance(v, dict) for v in bounds.values()):
            per_class, rest = bounds, {}
    parts = []
    if per_class:
        keys: list[str] = []
        flat = {cls: dict(_flatten(v)) for cls, v in per_class.items()}
        for f in flat.values():
            keys += [k for k in f if k not in keys]
        rows = []
        for cls in classes:
            info = classes[cls]
            f = flat.get(cls, {})
            rows.append([_class_label(saved, cls), fmt_num(info.delivered_by_deadline.p50),
                         fmt_num(info.closure_day.p50, 1)] + [_cell(f.get(k)) for k in keys])
        headers = ["Class", "Simulated delivered by deadline (P50)", "Simulated closure day (P50)"] + \
                  [esc(k.replace("_", " ")) for k in keys]
        parts.append(html_table(headers, rows, numeric=range(1, 3 + len(keys))))
        parts.append('<p class="note">A bound is what no real plan can beat: the simulated figures should never be '
                     "better than it.</p>")
    if rest:
        flat_rest = _flatten(rest)
        parts.append(html_table(["Bound", "Value"], [[esc(k), _cell(v)] for k, v in flat_rest], numeric=(1,)))
    return "\n".join(parts) or "<p class=\"note\">The bounds are empty.</p>"


def _reproduce(saved: Saved) -> str:
    r = saved.summary.reproduce or {}
    s = saved.summary
    rows = [[esc(k.replace("_", " ")), f"<code>{esc(v)}</code>"] for k, v in r.items()]
    cmd = f"sim run SCENARIO.toml -n {s.replications} --seed {s.seed}"
    missing = ""
    if saved.missing:
        missing = f'<p class="note">Not in this results folder: {", ".join(esc(m) for m in saved.missing)}.</p>'
    return (f"<p>Run again with <code>{esc(cmd)}</code> on the scenario whose SHA-256 (resolved) is given below; "
            "<code>sim plot RESULTS_DIR</code> redraws the pictures and this page from the saved files.</p>"
            + html_table(["Item", "Value"], rows) + missing)
