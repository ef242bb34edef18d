"""The HTML both pages share (report.html and compare.html): the self-contained page shell with its
inline CSS, and the escaping and number helpers every piece of scenario text and every figure goes through."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any


def page(title: str, main: str, generator: str = "") -> str:
    """A whole self-contained HTML page: `title` (plain text, escaped here) and `main` (HTML, already escaped)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="surge-sim {esc(generator)}">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{main}
</main>
</body>
</html>
"""


CSS = """
:root { --ink: #1d2329; --muted: #5f6b76; --line: #d9dee3; --good: #1e7b34; --warn: #a86500; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: var(--ink);
       font: 15px/1.5 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.sub, p.note, figcaption, .muted { color: var(--muted); }
p.sub { margin: 0 0 8px; }
nav { font-size: 13.5px; margin-top: 10px; }
nav a { color: #1a5fa8; text-decoration: none; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; background: #f1f3f5;
       padding: 0 3px; border-radius: 3px; }
.headline { font-size: 18px; padding: 12px 16px; border-left: 6px solid var(--muted); background: #f7f8fa; margin: 8px 0 14px; }
.headline.good { border-color: var(--good); } .headline.warn { border-color: var(--warn); }
.headline.bad { border-color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 13.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.status { font-weight: 600; white-space: nowrap; }
table.verdict td:last-child { white-space: nowrap; }
.status.good { color: var(--good); } .status.warn { color: var(--warn); } .status.bad { color: var(--bad); }
figure { margin: 14px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 13px; margin-top: 4px; }
details { margin: 8px 0; } summary { cursor: pointer; color: #1a5fa8; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12.5px; }
.warning { background: #fff4e5; border-left: 6px solid var(--warn); padding: 8px 12px; }
@media print { body { background: #fff; } main { padding: 0; } h2 { break-before: auto; } figure { break-inside: avoid; } }
"""


def esc(text: Any) -> str:
    """HTML-escaped text (quotes too): every piece of scenario text goes through this."""
    return html.escape("" if text is None else str(text), quote=True)


def fmt_num(value: Any, digits: int | None = None) -> str:
    """A number with thousands separators, '–' when absent.

    Without `digits`: whole numbers and numbers of 100 or more without decimals, others with up to two.
    """
    if value is None or value == "" or isinstance(value, bool):
        return "–" if not isinstance(value, bool) else esc(str(value).lower())
    try:
        x = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if not math.isfinite(x):
        return "–"
    if digits is not None:
        return esc(f"{x:,.{digits}f}")
    if abs(x - round(x)) < 1e-9 or abs(x) >= 100:
        return esc(f"{x:,.0f}")
    return esc(f"{x:,.2f}".rstrip("0").rstrip("."))


def html_table(headers: list[str], rows: Iterable[list[str]], numeric: Iterable[int] = ()) -> str:
    """A table from already-escaped cell HTML; `numeric` columns are right-aligned."""
    nums = set(numeric)
    head = "".join(f'<th{" class=num" if i in nums else ""}>{h}</th>' for i, h in enumerate(headers))
    body = "\n".join("<tr>" + "".join(f'<td{" class=num" if i in nums else ""}>{c}</td>' for i, c in enumerate(r)) + "</tr>"
                     for r in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
