"""compare.html: one self-contained page for a `sim compare` folder, drawn from its saved files only.

The same look as report.html: the verdict per scenario first, then the comparison table with
paired differences, the delivery curves and the movement counts. Every piece of scenario
text is escaped; pictures are embedded as data URIs, so the page opens from disk offline.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.html_page import esc, fmt_num, html_table, page

COMPARE_REPORT = "compare.html"
COMPARE_FIGURES = {"compare_delivery.png": "Deliveries to hand-over by scenario: median line and P10-P90 band, same seeds",
                   "compare_counts.png": "Flights by aircraft type and sailings by vessel type (mean over replications)"}


def write_compare_report(folder: Path) -> Path:
    """Write compare.html into a folder holding compare.json, compare.csv and the comparison pictures."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / "compare.json").read_text(encoding="utf-8"))
        with open(folder / "compare.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: not a comparison folder written by sim compare ({exc})") from None
    path = folder / COMPARE_REPORT
    path.write_text(render(doc, rows, folder), encoding="utf-8")
    return path


def render(doc: dict[str, Any], rows: list[dict[str, str]], folder: Path) -> str:
    """The whole page as text."""
    names = doc["scenarios"]
    summaries = {s["scenario"]: s for s in doc["summaries"]}
    verdict = html_table(
        ["scenario", "title", "P(all targets met by the deadline)", "95% interval", "bottleneck"],
        [[f"<code>{esc(n)}</code>", esc(summaries[n].get("title", "")), fmt_num(summaries[n]["all_met_probability"]),
          f"{fmt_num(summaries[n]['all_met_ci95'][0])}-{fmt_num(summaries[n]['all_met_ci95'][1])}", esc(summaries[n].get("bottleneck") or "-")]
         for n in names], numeric=[2, 3])
    by_metric: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        by_metric.setdefault(row["metric"], {})[row["scenario"]] = row
    table_rows = []
    for metric, cells in by_metric.items():
        line = [esc(metric)]
        for i, name in enumerate(names):
            cell = cells.get(name, {})
            value = cell.get("value", "")
            text = esc(value) if metric == "top bottleneck" else _number_text(value)
            if i and metric != "top bottleneck" and cell.get("diff_vs_first"):
                text += (f' <span class="muted">({_signed(cell["diff_vs_first"])} '
                         f'[{_number_text(cell["diff_ci95_low"])}, {_number_text(cell["diff_ci95_high"])}])</span>')
            line.append(text)
        table_rows.append(line)
    comparison = html_table(["metric", *(f"<code>{esc(n)}</code>" for n in names)], table_rows,
                        numeric=range(1, len(names) + 1))
    unshared = [f"<code>{esc(n)}</code>: {', '.join(esc(c) for c in classes)}" for n, classes in doc.get("not_shared", {}).items() if classes]
    figures = "\n".join(_figure(folder, name, caption) for name, caption in COMPARE_FIGURES.items())
    title = "Comparison: " + ", ".join(names)
    return page(title, f"""<header>
<h1>{esc(title)}</h1>
<p class="sub">{esc(str(doc["replications"]))} replication(s) per scenario on the same seeds (root seed {esc(str(doc["seed"]))}):
common random numbers, so differences are not noise.</p>
</header>
<section id="verdict"><h2>Verdict by scenario</h2>
{verdict}
</section>
<section id="table"><h2>Flights, sailings, tonnes, P(met) and closure</h2>
<p class="note">Differences against <code>{esc(names[0])}</code> in brackets, with 95% paired-bootstrap intervals over replications.</p>
{comparison}
{('<p class="note">Not compared (not in every scenario): ' + '; '.join(unshared) + '.</p>') if unshared else ''}
</section>
<section id="pictures"><h2>Deliveries and movements</h2>
{figures}
</section>""")


def _number_text(value: str) -> str:
    try:
        return fmt_num(float(value))
    except (TypeError, ValueError):
        return "–"


def _signed(value: str) -> str:
    text = _number_text(value)
    return "+" + text if text != "–" and float(value) > 0 else text


def _figure(folder: Path, name: str, caption: str) -> str:
    path = folder / name
    if not path.is_file():
        return f'<p class="note">(No picture: {esc(name)} is not in this folder.)</p>'
    uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure>\n<img src="{uri}" alt="{esc(caption)}">\n<figcaption>{esc(caption)}</figcaption>\n</figure>'
