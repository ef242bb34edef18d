"""Aggregate outcomes of many replications as they arrive, into the figures the user reads.

Per-replication scalars (closure day, delivered by the deadline, movement counts) are
kept as small arrays for exact percentiles; daily delivery curves go into a fixed-size
`BandSketch`, so memory stays flat as the number of replications grows. Outcomes are
folded in replication order (a reorder buffer absorbs out-of-order arrival), so the
same seed gives the same bytes whatever the executor or the number of jobs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.measure import MET_TOLERANCE, Outcome, horizon_days, movements_by_mode
from sim.schema import Mode, Scenario
from sim.stats import BandSketch, describe, wilson_interval
from sim.summary import ClassVerdict, DateSpread, FailedReplication, ResourceUse, RunSummary, Spread


@dataclass(frozen=True)
class Failure:
    """A replication that raised: its index (rerun it with `--replication K`) and the error."""

    index: int
    error: str


@dataclass
class Aggregate:
    """Running aggregation of the outcomes of one scenario."""

    scenario: Scenario
    replications: int
    seed: int
    first_index: int = 0  # index of the first replication folded (non-zero when rerunning one alone)
    outcomes_seen: int = 0
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.scenario
        self.days = horizon_days(s)
        self.classes = list(s.requirements)
        self.bands = {c: BandSketch(self.days + 1, s.requirements[c].quantity) for c in self.classes}
        self.closure: dict[str, list[float]] = {c: [] for c in self.classes}
        self.by_deadline: dict[str, list[float]] = {c: [] for c in self.classes}
        self.met_count = {c: 0 for c in self.classes}
        self.all_met_count = 0
        self.carrier_types = sorted({f.carrier for f in s.fleets.values()})
        self.movements: dict[str, list[int]] = {c: [] for c in self.carrier_types}
        self.tonnes: dict[str, list[float]] = {m.value: [] for m in Mode}
        self.resource_info: dict[str, tuple[str, str, float]] = {}
        self.resource_util: dict[str, float] = defaultdict(float)
        self.resource_queue: dict[str, float] = defaultdict(float)
        self.resource_daily: dict[str, np.ndarray] = {}
        self.last_closure: list[float] = []
        self.conservation_error = 0.0
        self._pending: dict[int, Outcome | Failure] = {}
        self._next = self.first_index

    def add(self, item: Outcome | Failure) -> None:
        """Take one replication's outcome (or failure), in any order."""
        self._pending[item.index] = item
        while self._next in self._pending:
            self._fold(self._pending.pop(self._next))
            self._next += 1

    def _fold(self, item: Outcome | Failure) -> None:
        if isinstance(item, Failure):
            self.failures.append(item)
            return
        self.outcomes_seen += 1
        for c in self.classes:
            self.bands[c].add(item.cumulative[c])
            self.closure[c].append(item.closure_day[c])
            self.by_deadline[c].append(item.delivered_by_deadline[c])
            self.met_count[c] += item.met[c]
        self.all_met_count += item.all_met
        self.last_closure.append(max(item.closure_day.values()))
        for ctype in self.carrier_types:
            self.movements[ctype].append(item.movements.get(ctype, 0))
        for mode in self.tonnes:
            self.tonnes[mode].append(item.tonnes_by_mode.get(mode, 0.0))
        for r in item.resources:
            self.resource_info[r.resource] = (r.kind, r.where, r.capacity)
            self.resource_util[r.resource] += r.utilization
            self.resource_queue[r.resource] += r.queue_h
            if r.daily_busy_h:
                daily = self.resource_daily.setdefault(r.resource, np.zeros(self.days + 1))
                daily[: len(r.daily_busy_h)] += r.daily_busy_h
        self.conservation_error = max(self.conservation_error, item.conservation_error)

    def representative_index(self) -> int | None:
        """The replication whose last class closed nearest the median (earliest on a tie)."""
        if not self.last_closure:
            return None
        values = np.array(self.last_closure)
        finite = np.where(np.isfinite(values), values, 1e12)
        median = float(np.percentile(finite, 50, method="inverted_cdf"))
        failed = {f.index for f in self.failures}
        ok = [i for i in range(self.first_index, self._next) if i not in failed]
        distances = np.abs(finite - median)
        return ok[int(np.argmin(distances))]

    def resources(self) -> list[dict[str, Any]]:
        """Constrained resources ranked by mean utilization over replications (the bottleneck first)."""
        n = max(self.outcomes_seen, 1)
        rows = []
        for name, (kind, where, capacity) in self.resource_info.items():
            rows.append({
                "resource": name, "kind": kind, "where": where, "capacity": capacity,
                "utilization": round(self.resource_util[name] / n, 6),
                "queue_h": round(self.resource_queue[name] / n, 3),
            })
        return sorted(rows, key=lambda r: (-r["utilization"], -r["queue_h"], r["resource"]))

    def summary(self) -> RunSummary:
        """The run's typed summary (before the representative replication, bounds and reproduction details)."""
        s = self.scenario
        n = self.outcomes_seen
        start = s.start_date
        classes = {}
        for c in self.classes:
            req, cargo = s.requirements[c], s.cargo[c]
            closure = np.array(self.closure[c])
            closure_stats = describe(closure)
            lo, hi = wilson_interval(self.met_count[c], n)
            classes[c] = ClassVerdict(
                name=cargo.name or c, unit=cargo.unit, target=req.quantity,
                delivered_by_deadline=_spread(describe(self.by_deadline[c]), 3),
                fraction_by_deadline=_spread(describe(np.array(self.by_deadline[c]) / req.quantity), 6),
                closure_day=_spread(closure_stats, 3),
                closure_date=DateSpread(*(_date(start, closure_stats[k]) for k in ("p10", "p50", "p90"))),
                closed_within_horizon=round(float(np.mean(np.isfinite(closure))), 6) if n else None,
                p_met=round(self.met_count[c] / n, 6) if n else None,
                p_met_ci95=(round(lo, 6), round(hi, 6)),
            )
        lo, hi = wilson_interval(self.all_met_count, n)
        groups = movements_by_mode(s)
        resources = self.resources()
        return RunSummary(
            scenario=s.name, title=s.title, start_date=start.isoformat(), deadline_day=s.deadline_days,
            deadline_date=(start + dt.timedelta(days=s.deadline_days)).isoformat(), horizon_days=s.horizon,
            replications=self.replications, replications_completed=n, seed=self.seed,
            failed_replications=tuple(FailedReplication(f.index, f.error) for f in self.failures),
            classes=classes,
            all_met_probability=round(self.all_met_count / n, 6) if n else None,
            all_met_ci95=(round(lo, 6), round(hi, 6)),
            movements={group: {t: _spread(describe(self.movements[t]), 3) for t in types} for group, types in groups.items()},
            tonnes_by_mode={m: _spread(describe(v), 3) for m, v in self.tonnes.items()},
            utilization=tuple(ResourceUse(**r) for r in resources),
            bottleneck=resources[0]["resource"] if resources else None,
            max_conservation_error=self.conservation_error,
        )

    def delivery_rows(self) -> list[dict[str, Any]]:
        """Rows of deliveries.csv: per class per day, cumulative delivered (mean, p10, p50, p90)."""
        s = self.scenario
        rows = []
        for c in self.classes:
            band = self.bands[c]
            mean, p10, p50, p90 = band.mean(), band.percentile(10), band.percentile(50), band.percentile(90)
            for d in range(self.days + 1):
                rows.append({
                    "class": c, "unit": s.cargo[c].unit, "day": d,
                    "date": (s.start_date + dt.timedelta(days=d)).isoformat(),
                    "target": s.requirements[c].quantity,
                    "cumulative_mean": mean[d], "cumulative_p10": p10[d], "cumulative_p50": p50[d], "cumulative_p90": p90[d],
                })
        return rows


    def utilization_rows(self) -> list[dict[str, Any]]:
        """Rows of utilization_daily.csv: per constrained node resource per day, mean unit-hours in use and utilization."""
        n = max(self.outcomes_seen, 1)
        start = self.scenario.start_date
        rows = []
        for name in sorted(self.resource_daily):
            kind, where, capacity = self.resource_info[name]
            for d, busy in enumerate(self.resource_daily[name] / n):
                rows.append({"resource": name, "kind": kind, "where": where, "capacity": capacity, "day": d,
                             "date": (start + dt.timedelta(days=d)).isoformat(), "busy_h_mean": busy,
                             "utilization_mean": busy / (24.0 * capacity) if capacity else 0.0})
        return rows

    def replication_rows(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows and columns of replications.csv: the headline figures of every completed replication."""
        failed = {f.index for f in self.failures}
        indices = [i for i in range(self.first_index, self._next) if i not in failed]
        columns = ["replication", "all_met"]
        for c in self.classes:
            columns += [f"{c}_closure_day", f"{c}_by_deadline", f"{c}_met"]
        columns += [f"{t}_movements" for t in self.carrier_types]
        rows = []
        for k, index in enumerate(indices):
            row: dict[str, Any] = {"replication": index}
            met_all = True
            for c in self.classes:
                closure = self.closure[c][k]
                met = self.by_deadline[c][k] >= self.scenario.requirements[c].quantity * (1 - MET_TOLERANCE)
                met_all &= met
                row[f"{c}_closure_day"] = round(closure, 4) if np.isfinite(closure) else None
                row[f"{c}_by_deadline"] = self.by_deadline[c][k]
                row[f"{c}_met"] = int(met)
            row["all_met"] = int(met_all)
            for t in self.carrier_types:
                row[f"{t}_movements"] = self.movements[t][k]
            rows.append(row)
        return rows, columns


def _spread(stats: dict[str, float | None], digits: int) -> Spread:
    """`describe`'s figures rounded to `digits`, as a `Spread`."""
    return Spread(*((round(v, digits) if v is not None else None) for v in (stats[k] for k in ("mean", "p10", "p50", "p90"))))


def _date(start: dt.date, day: float | None) -> str | None:
    return (start + dt.timedelta(days=int(day))).isoformat() if day is not None else None
