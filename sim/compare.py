"""Compare scenarios on common random numbers: counts, tonnes, p_met, closure, with paired intervals.

Every scenario runs with the same root seed, so replication k of each draws from the same
named streams (sim.variation) and differences are not noise. Differences against the first
scenario come with a 95% interval from a paired bootstrap over replications (a fixed
bootstrap seed, so the table is reproducible); with one deterministic replication the
interval is the difference itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.measure import MET_TOLERANCE, movements_by_mode
from sim.runner import RunResult

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20241212


@dataclass(frozen=True)
class Metric:
    """One compared figure: per-replication values of each scenario and the statistic shown."""

    name: str
    unit: str
    values: tuple[np.ndarray | None, ...]  # per scenario: one value per replication (None: not in that scenario)
    statistic: Callable[[np.ndarray], float]


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def _percentile(p: float) -> Callable[[np.ndarray], float]:
    def stat(x: np.ndarray) -> float:
        value = float(np.percentile(x, p, method="inverted_cdf"))
        return value if np.isfinite(value) else float("nan")
    return stat


@dataclass
class Comparison:
    """Results of several scenarios run on the same seeds, and the figures that compare them."""

    results: list[RunResult]

    @property
    def names(self) -> list[str]:
        return [r.scenario.name for r in self.results]

    def shared_classes(self) -> list[str]:
        """Cargo classes every scenario has, in the first scenario's order."""
        first = list(self.results[0].scenario.requirements)
        return [c for c in first if all(c in r.scenario.requirements for r in self.results)]

    def unshared_classes(self) -> dict[str, list[str]]:
        """Per scenario, its classes that are not in every scenario (compared nowhere)."""
        shared = set(self.shared_classes())
        return {r.scenario.name: [c for c in r.scenario.requirements if c not in shared] for r in self.results}

    def _paired(self, result: RunResult, values: Any) -> np.ndarray:
        """A scenario's per-replication values restricted to the replications every scenario completed, in order."""
        done = sorted(self._completed(result))
        common = set.intersection(*(self._completed(r) for r in self.results))
        keep = [k for k, i in enumerate(done) if i in common]
        return np.asarray(values, dtype=float)[keep]

    @staticmethod
    def _completed(result: RunResult) -> set[int]:
        agg = result.aggregate
        failed = {f.index for f in agg.failures}
        return {i for i in range(agg.first_index, agg.first_index + agg.replications) if i not in failed}

    def metrics(self) -> list[Metric]:
        """Every compared figure, in table order, paired by replication index (common random numbers)."""
        out: list[Metric] = []
        for group, label in (("flights", "flights"), ("sailings", "sailings"), ("land_trips", "land trips")):
            types = sorted({t for r in self.results for t in movements_by_mode(r.scenario)[group]})
            for t in types:
                out.append(Metric(f"{label}: {t}", "movements",
                                  tuple(self._paired(r, r.aggregate.movements.get(t, [0] * r.aggregate.outcomes_seen))
                                        for r in self.results), _mean))
        for mode in ("air", "sea", "rail", "road"):
            out.append(Metric(f"tonnes moved: {mode}", "t", tuple(self._paired(r, r.aggregate.tonnes[mode]) for r in self.results), _mean))
        for c in self.shared_classes():
            met = tuple(self._paired(r, self._met(r, c)) for r in self.results)
            closure = tuple(self._paired(r, r.aggregate.closure[c]) for r in self.results)
            out.append(Metric(f"{c}: p_met", "probability", met, _mean))
            out.append(Metric(f"{c}: closure day p50", "day", closure, _percentile(50)))
            out.append(Metric(f"{c}: closure day p90", "day", closure, _percentile(90)))
        out.append(Metric("all met: probability", "probability", tuple(self._paired(r, self._all_met(r)) for r in self.results), _mean))
        return out

    def _met(self, result: RunResult, cls: str) -> np.ndarray:
        target = result.scenario.requirements[cls].quantity
        return (np.array(result.aggregate.by_deadline[cls]) >= target * (1 - MET_TOLERANCE)).astype(float)

    def _all_met(self, result: RunResult) -> np.ndarray:
        flags = [self._met(result, c) for c in result.scenario.requirements]
        return np.all(np.array(flags), axis=0).astype(float)

    def rows(self) -> list[dict[str, Any]]:
        """Long table (compare.csv): one row per metric and scenario, with the paired difference to the first."""
        rows = []
        for metric in self.metrics():
            base = metric.values[0]
            for name, values in zip(self.names, metric.values):
                value = metric.statistic(values) if values is not None and len(values) else float("nan")
                row = {"metric": metric.name, "unit": metric.unit, "scenario": name, "value": value,
                       "diff_vs_first": float("nan"), "diff_ci95_low": float("nan"), "diff_ci95_high": float("nan")}
                if name != self.names[0] and base is not None and values is not None:
                    diff, lo, hi = paired_difference(base, values, metric.statistic)
                    row.update(diff_vs_first=diff, diff_ci95_low=lo, diff_ci95_high=hi)
                rows.append(row)
        for name, result in zip(self.names, self.results):
            rows.append({"metric": "top bottleneck", "unit": "", "scenario": name,
                         "value": result.aggregate.resources()[0]["resource"] if result.aggregate.resources() else ""})
        return rows


def paired_difference(base: np.ndarray, other: np.ndarray, statistic: Callable[[np.ndarray], float]) -> tuple[float, float, float]:
    """statistic(other) - statistic(base) and its 95% paired-bootstrap interval over replications."""
    diff = statistic(other) - statistic(base)
    n = min(len(base), len(other))
    if n <= 1 or not np.isfinite(diff):
        return diff, diff, diff
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    samples = np.array([statistic(other[idx]) - statistic(base[idx]) for idx in picks])
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return diff, float("nan"), float("nan")
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return diff, float(lo), float(hi)


def markdown_table(comparison: Comparison, rows: Sequence[dict[str, Any]]) -> str:
    """compare.md: metrics down, scenarios across; later scenarios show their difference to the first."""
    names = comparison.names
    by_metric: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_metric.setdefault(row["metric"], {})[row["scenario"]] = row
    header = "| metric | " + " | ".join(_md(n) for n in names) + " |"
    lines = [header, "| --- |" + " ---: |" * len(names)]
    for metric, cells in by_metric.items():
        out = []
        for i, name in enumerate(names):
            row = cells.get(name, {})
            value = row.get("value", "")
            text = _md(value) if isinstance(value, str) else _num(value)
            if i > 0 and not isinstance(value, str) and np.isfinite(row.get("diff_vs_first", float("nan"))):
                text += f" ({_signed(row['diff_vs_first'])} [{_num(row['diff_ci95_low'])}, {_num(row['diff_ci95_high'])}])"
            out.append(text)
        lines.append(f"| {_md(metric)} | " + " | ".join(out) + " |")
    notes = [f"Differences against {_md(names[0])} in brackets, with 95% paired-bootstrap intervals over replications "
             "(common random numbers)."]
    for name, classes in comparison.unshared_classes().items():
        if classes:
            notes.append(f"Not compared (not in every scenario): {_md(name)}: {', '.join(_md(c) for c in classes)}.")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:,.2f}" if abs(x) < 10 else f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + _num(x)


def _md(text: Any) -> str:
    """Escape text for a Markdown table cell (pipes, HTML angle brackets, line breaks)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
