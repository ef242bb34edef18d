"""The typed summary of a run: what summary.json holds, as frozen dataclasses.

`RunSummary` is what the terminal, the report, the figures, compare, size and sweep read;
`to_dict()` is the one function that turns it into summary.json's document, and
`from_dict()` reads such a document back (for `sim plot` and the report of a saved folder).
Units: days since the scenario's start (closure), the class's own unit (delivered, target),
movements (counts), tonnes (tonnes moved by mode), probabilities in 0..1, hours (queueing).

Blocks that other features add to summary.json (lateness, levers, ...) live in `blocks`,
keyed by their summary.json name, written after the fixed fields in insertion order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

MOVEMENT_GROUPS = ("flights", "sailings", "land_trips")  # summary.json keys of movement counts, by mode family


@dataclass(frozen=True)
class Spread:
    """Mean and P10/P50/P90 of a figure over replications; None where a figure is undefined (never happened)."""

    mean: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None

    @classmethod
    def from_dict(cls, doc: Mapping[str, float | None]) -> Spread:
        """A spread from a {mean, p10, p50, p90} table (missing entries are None)."""
        return cls(doc.get("mean"), doc.get("p10"), doc.get("p50"), doc.get("p90"))

    def to_dict(self) -> dict[str, float | None]:
        """The {mean, p10, p50, p90} table of summary.json."""
        return {"mean": self.mean, "p10": self.p10, "p50": self.p50, "p90": self.p90}

    def get(self, key: str, default: float | None = None) -> float | None:
        """A figure by its summary.json name ("mean", "p10", "p50", "p90")."""
        value = getattr(self, key, None) if key in ("mean", "p10", "p50", "p90") else None
        return default if value is None else value


@dataclass(frozen=True)
class DateSpread:
    """P10/P50/P90 of a closure as calendar dates (ISO text), None when not closed."""

    p10: str | None = None
    p50: str | None = None
    p90: str | None = None

    @classmethod
    def from_dict(cls, doc: Mapping[str, str | None]) -> DateSpread:
        return cls(doc.get("p10"), doc.get("p50"), doc.get("p90"))

    def to_dict(self) -> dict[str, str | None]:
        return {"p10": self.p10, "p50": self.p50, "p90": self.p90}


@dataclass(frozen=True)
class ClassVerdict:
    """The verdict on one cargo class: delivered by the deadline, closure day and the probability of meeting it."""

    name: str
    unit: str
    target: float
    delivered_by_deadline: Spread
    fraction_by_deadline: Spread
    closure_day: Spread
    closure_date: DateSpread
    closed_within_horizon: float | None
    p_met: float | None
    p_met_ci95: tuple[float, float]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ClassVerdict:
        ci = doc.get("p_met_ci95") or (0.0, 1.0)
        return cls(doc.get("name") or "", doc["unit"], doc["target"], Spread.from_dict(doc["delivered_by_deadline"]),
                   Spread.from_dict(doc["fraction_by_deadline"]), Spread.from_dict(doc["closure_day"]),
                   DateSpread.from_dict(doc["closure_date"]), doc.get("closed_within_horizon"), doc.get("p_met"),
                   (ci[0], ci[1]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "unit": self.unit, "target": self.target,
            "delivered_by_deadline": self.delivered_by_deadline.to_dict(),
            "fraction_by_deadline": self.fraction_by_deadline.to_dict(),
            "closure_day": self.closure_day.to_dict(), "closure_date": self.closure_date.to_dict(),
            "closed_within_horizon": self.closed_within_horizon, "p_met": self.p_met,
            "p_met_ci95": list(self.p_met_ci95),
        }


@dataclass(frozen=True)
class ResourceUse:
    """One constrained resource (fleet, airfield spots, berths, land handling, crossing) and its mean use."""

    resource: str
    kind: str
    where: str
    capacity: float | None
    utilization: float  # mean share of capacity busy over the active period, 0..1
    queue_h: float | None  # mean carrier-hours spent queueing for it per replication

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ResourceUse:
        return cls(doc["resource"], doc["kind"], doc["where"], doc.get("capacity"), doc["utilization"], doc.get("queue_h"))

    def to_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "kind": self.kind, "where": self.where, "capacity": self.capacity,
                "utilization": self.utilization, "queue_h": self.queue_h}


@dataclass(frozen=True)
class FailedReplication:
    """A replication that raised, left out of the figures: rerun it with `sim run --replication K`."""

    index: int
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "error": self.error}


@dataclass(frozen=True)
class RunSummary:
    """Everything summary.json says about a run, typed."""

    scenario: str
    title: str
    start_date: str  # ISO date of day 0
    deadline_day: float
    deadline_date: str | None
    horizon_days: float
    replications: int
    replications_completed: int
    seed: int
    failed_replications: tuple[FailedReplication, ...]
    classes: dict[str, ClassVerdict]
    all_met_probability: float | None
    all_met_ci95: tuple[float, float]
    movements: dict[str, dict[str, Spread]]  # MOVEMENT_GROUPS -> carrier type -> loaded movements
    tonnes_by_mode: dict[str, Spread]
    utilization: tuple[ResourceUse, ...]  # busiest first
    bottleneck: str | None
    max_conservation_error: float | None = None
    representative_replication: int | None = None
    bounds: dict[str, Any] | None = None  # sim.bounds.bounds_summary, when computed (its own JSON shape)
    reproduce: dict[str, Any] | None = None  # tool, version, scenario hash, dispatch, seed: how to get the same bytes
    blocks: dict[str, Any] = field(default_factory=dict)  # further summary.json blocks, by name

    @property
    def flights(self) -> dict[str, Spread]:
        """Loaded flights per aircraft type."""
        return self.movements.get("flights", {})

    @property
    def sailings(self) -> dict[str, Spread]:
        """Loaded sailings per vessel type."""
        return self.movements.get("sailings", {})

    @property
    def land_trips(self) -> dict[str, Spread]:
        """Loaded train and truck trips per carrier type."""
        return self.movements.get("land_trips", {})

    @property
    def display_title(self) -> str:
        """The title to show: the scenario's title, or its name when it has none."""
        return self.title or self.scenario

    @property
    def many(self) -> bool:
        """More than one replication completed: figures are spreads, not single values."""
        return self.replications_completed > 1

    def busiest(self, name: str | None = None) -> ResourceUse | None:
        """The resource called `name` (default: the bottleneck), or None."""
        name = self.bottleneck if name is None else name
        return next((r for r in self.utilization if r.resource == name), None)

    def all_movements(self) -> Iterator[tuple[str, str, Spread]]:
        """(group, carrier type, spread) for every carrier type, flights first."""
        for group in MOVEMENT_GROUPS:
            for ctype, spread in self.movements.get(group, {}).items():
                yield group, ctype, spread

    def with_(self, **changes: Any) -> RunSummary:
        """A copy with some fields changed (bounds, reproduce, representative replication, blocks)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """summary.json's document, in its fixed key order."""
        doc: dict[str, Any] = {
            "scenario": self.scenario, "title": self.title, "start_date": self.start_date,
            "deadline_day": self.deadline_day, "deadline_date": self.deadline_date, "horizon_days": self.horizon_days,
            "replications": self.replications, "replications_completed": self.replications_completed, "seed": self.seed,
            "failed_replications": [f.to_dict() for f in self.failed_replications],
            "classes": {c: v.to_dict() for c, v in self.classes.items()},
            "all_met_probability": self.all_met_probability, "all_met_ci95": list(self.all_met_ci95),
            **{g: {t: s.to_dict() for t, s in self.movements.get(g, {}).items()} for g in MOVEMENT_GROUPS},
            "tonnes_by_mode": {m: s.to_dict() for m, s in self.tonnes_by_mode.items()},
            "utilization": [r.to_dict() for r in self.utilization],
            "bottleneck": self.bottleneck,
            "max_conservation_error": self.max_conservation_error,
            "representative_replication": self.representative_replication,
        }
        if self.bounds is not None:
            doc["bounds"] = self.bounds
        if self.reproduce is not None:
            doc["reproduce"] = self.reproduce
        doc.update(self.blocks)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunSummary:
        """Read summary.json's document (already checked against `sim.saved.SUMMARY`) back into the typed form."""
        known = {"scenario", "title", "start_date", "deadline_day", "deadline_date", "horizon_days", "replications",
                 "replications_completed", "seed", "failed_replications", "classes", "all_met_probability", "all_met_ci95",
                 *MOVEMENT_GROUPS, "tonnes_by_mode", "utilization", "bottleneck", "max_conservation_error",
                 "representative_replication", "bounds", "reproduce"}
        ci = doc.get("all_met_ci95") or (0.0, 1.0)
        return cls(
            scenario=doc.get("scenario", ""), title=doc.get("title") or "", start_date=doc["start_date"],
            deadline_day=doc["deadline_day"], deadline_date=doc.get("deadline_date"), horizon_days=doc["horizon_days"],
            replications=doc.get("replications", 1), replications_completed=doc.get("replications_completed", 1),
            seed=doc.get("seed", 0),
            failed_replications=tuple(FailedReplication(f.get("index", -1), str(f.get("error", "")))
                                      for f in doc.get("failed_replications", [])),
            classes={c: ClassVerdict.from_dict(v) for c, v in doc["classes"].items()},
            all_met_probability=doc.get("all_met_probability"), all_met_ci95=(ci[0], ci[1]),
            movements={g: {t: Spread.from_dict(s) for t, s in (doc.get(g) or {}).items()} for g in MOVEMENT_GROUPS},
            tonnes_by_mode={m: Spread.from_dict(s) for m, s in (doc.get("tonnes_by_mode") or {}).items()},
            utilization=tuple(ResourceUse.from_dict(r) for r in doc.get("utilization", [])),
            bottleneck=doc.get("bottleneck"), max_conservation_error=doc.get("max_conservation_error"),
            representative_replication=doc.get("representative_replication"),
            bounds=doc.get("bounds"), reproduce=doc.get("reproduce"),
            blocks={k: v for k, v in doc.items() if k not in known},
        )
