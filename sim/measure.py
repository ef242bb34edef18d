"""Measure one run: from its record to the outcome figures the user asks about.

Per class: delivered by the deadline, closure time, whether the target was met, and
the cumulative delivered at each day boundary. Per carrier type: loaded movements.
Per constrained resource (parking spots, berths, land handling, fleets): utilization
and queueing time over the active period (until everything is delivered, or the
horizon).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.record import RunRecord
from sim.schema import Mode, Scenario

MET_TOLERANCE = 1e-6  # relative: a target counts as met within rounding of divisible cargo


@dataclass(frozen=True)
class ResourceUse:
    """Utilization (0..1) and queueing caused by one constrained resource in one run."""

    resource: str
    kind: str  # parking_spots | berths | handling | fleet
    where: str  # node id, or fleet id
    capacity: float
    utilization: float
    queue_h: float
    daily_busy_h: tuple[float, ...] = ()  # unit-hours in use per day (node facilities only)


@dataclass(frozen=True)
class Outcome:
    """The measured figures of one replication; small, so thousands can be aggregated."""

    index: int
    end_day: float
    delivered_by_deadline: dict[str, float]
    closure_day: dict[str, float]  # inf when not closed within the horizon
    met: dict[str, bool]
    cumulative: dict[str, np.ndarray]  # delivered by day d (d = 0..horizon), at t = 24 d hours
    movements: dict[str, int]  # carrier type -> loaded movements
    tonnes_by_mode: dict[str, float]
    resources: tuple[ResourceUse, ...]
    conservation_error: float  # max over classes of |released - delivered - in transit - waiting|

    @property
    def all_met(self) -> bool:
        return all(self.met.values())


def horizon_days(scenario: Scenario) -> int:
    """Whole days reported in the delivery curves (0 .. this)."""
    return int(math.ceil(scenario.horizon))


def measure(scenario: Scenario, record: RunRecord, index: int = 0) -> Outcome:
    """Turn one run's record into its outcome figures."""
    deadline_h = scenario.deadline_days * 24.0
    days = horizon_days(scenario)
    edges = np.arange(days + 1, dtype=float) * 24.0
    delivered_by_deadline, closure, met, cumulative = {}, {}, {}, {}
    for cls, req in scenario.requirements.items():
        events = record.deliveries[cls]
        times = np.array([t for t, _ in events], dtype=float)
        running = np.cumsum([q for _, q in events], dtype=float) if events else np.zeros(0)
        # cumulative at each day boundary: deliveries at or before t
        idx = np.searchsorted(times, edges, side="right")
        curve = np.where(idx > 0, running[np.maximum(idx - 1, 0)] if len(running) else 0.0, 0.0)
        cumulative[cls] = curve
        k = int(np.searchsorted(times, deadline_h, side="right"))
        by_deadline = float(running[k - 1]) if k > 0 else 0.0
        delivered_by_deadline[cls] = by_deadline
        done = np.nonzero(running >= req.quantity * (1 - MET_TOLERANCE))[0]
        closure[cls] = float(times[done[0]]) / 24.0 if len(done) else math.inf
        met[cls] = by_deadline >= req.quantity * (1 - MET_TOLERANCE)
    window_h = max(record.end_h, 1e-9)
    resources = [
        ResourceUse(f.name, f.kind, f.node, f.capacity, f.busy_h / (f.capacity * window_h) if f.capacity else 0.0, f.wait_h,
                    tuple(f.daily_busy_h[: days + 1]))
        for f in record.facilities
    ]
    resources += [
        ResourceUse(f"{f.fleet} fleet ({f.carriers} x {f.carrier_type})", "fleet", f.fleet, f.carriers,
                    f.working_h / (f.carriers * window_h), f.queue_h)
        for f in record.fleets if f.carriers > 0
    ]
    resources.sort(key=lambda r: (-r.utilization, r.resource))
    conservation = max(
        abs(record.released[c] - record.delivered[c] - record.in_transit[c] - record.waiting[c]) for c in scenario.requirements
    )
    return Outcome(
        index=index,
        end_day=record.end_h / 24.0,
        delivered_by_deadline=delivered_by_deadline,
        closure_day=closure,
        met=met,
        cumulative=cumulative,
        movements=dict(record.movements),
        tonnes_by_mode=dict(record.tonnes_by_mode),
        resources=tuple(resources),
        conservation_error=conservation,
    )


def movements_by_mode(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """Carrier type ids used by fleets, grouped as flights (air), sailings (sea) and land trips (rail, road)."""
    groups: dict[str, list[str]] = {"flights": [], "sailings": [], "land_trips": []}
    used = {f.carrier for f in scenario.fleets.values()}
    for cid, carrier in sorted(scenario.carriers.items()):
        if cid not in used:
            continue
        key = {Mode.air: "flights", Mode.sea: "sailings"}.get(carrier.mode, "land_trips")
        groups[key].append(cid)
    return {k: tuple(v) for k, v in groups.items()}
