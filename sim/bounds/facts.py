"""What the bounds know of a scenario: best-case inputs, periods and opening hours, and each fleet on each leg.

Shared by the fluid LP (`sim.bounds.fluid`) and the planning factors (`sim.bounds.planning`).
Units: tonnes (metric) and hours. This package knows nothing of SimPy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim import rules
from sim.distributions import Exponential, Fixed, LogNormal, Normal, Triangular, Uniform
from sim.network import Network, release_schedule
from sim.packing import EPS, floor_share
from sim.rules import travel_time_h
from sim.schema import CarrierType, Mode, Scenario

INF = math.inf
PERIOD_CHOICES_H = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
MAX_PERIODS = 400  # the automatic period is the finest of PERIOD_CHOICES_H that keeps the horizon within this
UNBOUNDED_RELEASE_FACTOR = 1e12  # a per-day release factor without an upper limit: everything at the first release
ROUNDING = 1e-9  # relative guard when a time is cut into whole periods (always towards the optimistic side)

Basis = Literal["auto", "planned", "best_case"]


# --- the inputs the bound may assume -------------------------------------------------------------


def support(dist: Any) -> tuple[float, float]:
    """Smallest and largest value a distribution can draw (inf where unbounded)."""
    if isinstance(dist, Fixed):
        return dist.value, dist.value
    if isinstance(dist, (Uniform, Triangular)):
        return dist.low, dist.high
    if isinstance(dist, (Normal, LogNormal)):
        return (dist.mean_, dist.mean_) if dist.sd == 0 else (0.0, INF)
    if isinstance(dist, Exponential):
        return 0.0, INF
    raise TypeError(f"unknown distribution {dist!r}")


@dataclass(frozen=True)
class Inputs:
    """The values the fluid bound assumes: planned, or the best case of every uncertain input.

    `best_case` keeps the bound valid for every replication: each time factor at the smallest
    value its distribution can draw (0 for normal, lognormal and exponential, which reach down
    to zero), release delays at their minimum, per-day release factors at their maximum (no
    upper limit: everything released at the first release), no breakdowns, no weather
    closures, every carrier activated on time. `planned` is valid for the deterministic run.
    """

    basis: str
    travel_factor: dict[Mode, float]
    handling_factor: dict[Mode, float]
    release_delay_days: dict[str, float]
    release_factor: dict[str, float | None]  # None: releases as planned

    @classmethod
    def of(cls, scenario: Scenario, basis: Basis = "auto") -> Inputs:
        """Inputs for `basis`; "auto" is planned without an uncertainty block, best case with one."""
        u = scenario.uncertainty
        if basis == "auto":
            basis = "planned" if u.empty else "best_case"
        ones = {m: 1.0 for m in Mode}
        if basis == "planned":
            return cls("planned", ones, dict(ones), {c: 0.0 for c in scenario.requirements}, {c: None for c in scenario.requirements})
        if basis != "best_case":
            raise ValueError(f"basis must be auto, planned or best_case, not {basis!r}")
        # every draw of a time factor is at least its distribution's low end (which may be above 1)
        travel = {m: support(u.travel_time_factor[m])[0] if m in u.travel_time_factor else 1.0 for m in Mode}
        handling = {m: support(u.handling_time_factor[m])[0] if m in u.handling_time_factor else 1.0 for m in Mode}
        delay, factor = {}, {}
        for c in scenario.requirements:
            var = u.release.get(c)
            delay[c] = support(var.start_delay_days)[0] if var is not None and var.start_delay_days is not None else 0.0
            if var is not None and var.per_day_factor is not None:
                hi = support(var.per_day_factor)[1]
                factor[c] = UNBOUNDED_RELEASE_FACTOR if math.isinf(hi) else hi
            else:
                factor[c] = None
        return cls("best_case", travel, handling, delay, factor)


# --- time: periods, opening hours ---------------------------------------------------------------


def choose_period_h(scenario: Scenario) -> float:
    """The finest period (hours dividing a day) that keeps the horizon within MAX_PERIODS periods."""
    hours = scenario.horizon * 24.0
    for p in PERIOD_CHOICES_H:
        if hours / p + 1 <= MAX_PERIODS:
            return p
    return PERIOD_CHOICES_H[-1]


def closed_intervals(scenario: Scenario, node_id: str, horizon_h: float) -> list[tuple[float, float]]:
    """Merged closed periods [start, end) of a node in hours: the simulation's calendar without random weather (the best case)."""
    return rules.closed_intervals(scenario.nodes[node_id], horizon_h)


def open_hours_by_period(closed: list[tuple[float, float]], period_h: float, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Open hours in each period, and whether the period lies wholly inside one closure (no event can happen in it).

    A closure [a, b) makes period [s, e) dead only when a < s and b >= e: a handling step may end
    exactly at a closure's start, and a carrier may start work exactly at its end.
    """
    open_h = np.full(periods, period_h)
    dead = np.zeros(periods, dtype=bool)
    for a, b in closed:
        first, last = max(0, int(a // period_h)), min(periods - 1, int(b // period_h))
        for p in range(first, last + 1):
            s, e = p * period_h, (p + 1) * period_h
            open_h[p] -= max(0.0, min(b, e) - max(a, s))
            if a < s and b >= e:
                dead[p] = True
    return np.maximum(open_h, 0.0), dead


def coarser(period_h: float) -> float:
    """The period of PERIOD_CHOICES_H at least twice as long (a day at most)."""
    return next((p for p in PERIOD_CHOICES_H if p >= 2 * period_h), PERIOD_CHOICES_H[-1])


def overlap_after(start_h: float, period_h: float, periods: int) -> np.ndarray:
    """Hours of each period at or after `start_h`."""
    s = np.arange(periods) * period_h
    return np.clip(s + period_h - np.maximum(s, start_h), 0.0, period_h)


def cut(hours: float, period_h: float) -> int:
    """Whole periods in `hours`, rounded down (with a guard against float noise): the optimistic side."""
    return max(0, int(math.floor(hours / period_h * (1 - ROUNDING))))


# --- facts about carriers on legs --------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One fleet on one of its legs, with the best-case times that bound every movement.

    `*_fixed_h` are the carrier's own load or unload time (aircraft ground times, trains, trucks,
    vessels with given times); `*_per_t_h` the berth time per tonne of a vessel whose time comes
    from the port's handling rate. `first_put_h` is the earliest any cargo can be put down at the
    far end; `take_to_put_h` the least time between taking a tonne aboard and putting it down.
    """

    index: int
    fleet: str
    leg: str
    carrier: str
    mode: Mode
    origin: str
    dest: str
    payload_t: float
    service: bool
    count: int
    cycling: bool
    hold: bool
    available_h: float
    travel_h: float
    load_fixed_h: float
    load_per_t_h: float
    unload_fixed_h: float
    unload_per_t_h: float
    flying_hours: float | None
    first_put_h: float
    take_to_put_h: float

    @property
    def cycle_fixed_h(self) -> float:
        """Carrier-hours of one round trip that do not depend on the tonnes aboard."""
        return self.load_fixed_h + 2 * self.travel_h + self.unload_fixed_h

    @property
    def cycle_per_t_h(self) -> float:
        """Carrier-hours per tonne aboard (port-rate berth time at both ends)."""
        return self.load_per_t_h + self.unload_per_t_h


@dataclass(frozen=True)
class Use:
    """How one pair uses one node resource: at the loading ('take') or unloading ('put') end."""

    pair: Pair
    side: Literal["take", "put"]
    fixed_h: float  # unit-hours per load
    per_t_h: float  # unit-hours per tonne
    after_take: bool  # all of the work follows the last take of the load (so none can be done before the cargo is there)


@dataclass(frozen=True)
class Resource:
    """A constrained node resource: parking spots, berths or land handling."""

    name: str
    kind: str  # parking_spots | berths | handling
    node: str
    units: int
    uses: tuple[Use, ...]


class Facts:
    """Everything the fluid model needs from a scenario, computed once per basis and period."""

    def __init__(self, scenario: Scenario, inputs: Inputs, period_h: float):
        s = self.scenario = scenario
        self.inputs = inputs
        self.network = Network(scenario)
        self.period_h = period_h
        self.horizon_h = scenario.horizon * 24.0
        self.periods = int(math.floor(self.horizon_h / period_h)) + 1
        self.deadline_period = min(self.periods - 1, int(math.floor(scenario.deadline_days * 24.0 / period_h)))
        self.open_h: dict[str, np.ndarray] = {}
        self.dead: dict[str, np.ndarray] = {}
        for nid in s.nodes:
            self.open_h[nid], self.dead[nid] = open_hours_by_period(closed_intervals(s, nid, self.horizon_h), period_h, self.periods)
        self.pairs = self._pairs()
        self.resources = self._resources()
        self.after_take_pairs = frozenset(u.pair.index for r in self.resources for u in r.uses if u.after_take)
        self.commodities, self.releases = self._releases()

    # pairs -------------------------------------------------------------------------------------

    def _pairs(self) -> list[Pair]:
        s, inp = self.scenario, self.inputs
        out = []
        for fid, fleet in s.fleets.items():
            if fleet.count == 0:
                continue
            carrier = s.carriers[fleet.carrier]
            mode = carrier.mode
            fh, ft = inp.handling_factor[mode], inp.travel_factor[mode]
            service = fleet.departures_per_day is not None
            for leg_id in fleet.legs:
                leg = s.legs[leg_id]
                lf, lp = self._own_time(carrier, leg.from_, True, fh)
                uf, up = self._own_time(carrier, leg.to, False, fh)
                travel = travel_time_h(s, leg_id, fleet.carrier) * ft
                hold = (not service) and fleet.max_hold_h > 0
                start = fleet.available_from_day * 24.0
                first_put = start + lf + travel + uf
                # a top-up taken at the end of a hold may be loaded in almost no time
                take_to_put = (0.0 if hold else lf) + travel + uf
                out.append(Pair(len(out), fid, leg_id, fleet.carrier, mode, leg.from_, leg.to, carrier.payload_t, service,
                                fleet.count or 0, fleet.cycling, hold, start, travel, lf, lp, uf, up,
                                carrier.daily_flying_hours if mode is Mode.air and not service else None, first_put, take_to_put))
        return out

    def _own_time(self, carrier: CarrierType, node_id: str, loading: bool, factor: float) -> tuple[float, float]:
        """(fixed hours per load, hours per tonne) of a load or unload at a node, at the best-case factor."""
        rate = rules.port_rate_t_per_day(carrier, self.scenario.nodes[node_id], loading)
        if rate is not None:
            return 0.0, 24.0 / rate * factor
        given_h = carrier.load_time_h if loading else carrier.unload_time_h
        return (given_h * factor if given_h is not None else 0.0), 0.0

    def _resources(self) -> list[Resource]:
        s = self.scenario
        uses: dict[tuple[str, str], list[Use]] = defaultdict(list)
        land_arrivals = self.network.land_arrivals
        for pair in self.pairs:
            a, b = s.nodes[pair.origin], s.nodes[pair.dest]
            kind = None if pair.service else rules.facility_kind(pair.mode)
            # a capacity of 0 is no facility, as in the simulation (allowed only where nothing uses it)
            if kind == "parking_spots":
                if a.parking_spots:
                    uses[(pair.origin, kind)].append(Use(pair, "take", pair.load_fixed_h, 0.0, False))
                if b.parking_spots:
                    uses[(pair.dest, kind)].append(Use(pair, "put", pair.unload_fixed_h, 0.0, False))
            if kind == "berths":
                if a.berths:
                    after = pair.load_fixed_h == 0 and not pair.hold  # port-rate loading after one take
                    uses[(pair.origin, kind)].append(Use(pair, "take", pair.load_fixed_h, pair.load_per_t_h, after))
                if b.berths:
                    uses[(pair.dest, kind)].append(Use(pair, "put", pair.unload_fixed_h, pair.unload_per_t_h, False))
            fh = self.inputs.handling_factor[pair.mode]
            if rules.uses_land_handling(pair.mode, a, pair.origin in land_arrivals, loading=True):
                uses[(pair.origin, "handling")].append(Use(pair, "take", 0.0, 24.0 / a.throughput_t_per_day * fh, True))  # type: ignore[operator]
            if rules.uses_land_handling(pair.mode, b, pair.dest in land_arrivals, loading=False):
                uses[(pair.dest, "handling")].append(Use(pair, "put", 0.0, 24.0 / b.throughput_t_per_day * fh, False))  # type: ignore[operator]
        out = []
        for (nid, kind), us in uses.items():
            node = s.nodes[nid]
            units = {"parking_spots": node.parking_spots, "berths": node.berths, "handling": 1}[kind]
            label = {"parking_spots": "parking spots", "berths": "berths", "handling": "land handling"}[kind]
            out.append(Resource(f"{nid} {label}", kind, nid, int(units or 0), tuple(us)))
        return sorted(out, key=lambda r: r.name)

    # cargo ---------------------------------------------------------------------------------------

    def _releases(self) -> tuple[list[tuple[str, str]], dict[tuple[str, str, str], np.ndarray]]:
        """Commodities (class, routing tag) and their tonnes released per period at each node."""
        s, inp = self.scenario, self.inputs
        comms: list[tuple[str, str]] = []
        rel: dict[tuple[str, str, str], np.ndarray] = {}
        for cls in s.requirements:
            w = s.cargo[cls].unit_weight_t
            factor = inp.release_factor[cls]
            events = release_schedule(s, self.network, cls, inp.release_delay_days[cls],
                                      (lambda f=factor: f) if factor is not None else None)
            for t, node, tag, qty in events:
                key = (cls, self.tag_of(cls, tag), node)
                arr = rel.setdefault(key, np.zeros(self.periods))
                arr[min(self.periods - 1, int(t // self.period_h))] += qty * w
            for tag in self.tags(cls):
                comms.append((cls, tag))
        return comms, rel

    def pooled(self, cls: str) -> bool:
        """Whether a class's route tags are merged into one commodity free to take any of its shared routes.

        With route shares, whole units and a random per-day release factor, the split of each
        day's release between routes depends on the day's size (largest remainder), so no one
        schedule per route is earliest; merging the routes is a valid relaxation.
        """
        req = self.scenario.requirements[cls]
        return bool(req.route_shares) and not self.scenario.cargo[cls].divisible and self.inputs.release_factor[cls] is not None

    def tags(self, cls: str) -> tuple[str, ...]:
        """Routing tags of a class in the model."""
        return ("+",) if self.pooled(cls) else self.network.tags[cls]

    def tag_of(self, cls: str, tag: str) -> str:
        return "+" if self.pooled(cls) else tag

    def next_legs(self, cls: str, tag: str, node: str) -> tuple[str, ...]:
        """Legs a commodity may take next from a node."""
        if tag == "+":
            legs: list[str] = []
            for t in self.network.tags[cls]:
                legs += [leg for leg in self.network.next_legs[(cls, t)].get(node, ()) if leg not in legs]
            return tuple(legs)
        return self.network.next_legs[(cls, tag)].get(node, ())

    def packing(self, cls: str, carrier_id: str) -> tuple[float, float, float | None] | None:
        """(floor share per tonne, payload, tonnes cap per load from whole units or None) of a class on a carrier type.

        None when the class cannot board. The cap is given only when whole units bind tighter
        than weight and floor (a C-17 takes 2 Bradleys: 55 t, not its 59 t payload).
        """
        s = self.scenario
        cargo, carrier = s.cargo[cls], s.carriers[carrier_id]
        share = floor_share(cargo, carrier, carrier_id)
        if share is None:
            return None
        w, payload = cargo.unit_weight_t, carrier.payload_t
        per_t = share / w
        cap = None
        if not cargo.divisible:
            units = math.floor(min(payload / w, 1.0 / share if share > 0 else INF) + EPS)
            fluid = min(payload, w / share if share > 0 else INF)
            if units * w < fluid * (1 - 1e-12):
                cap = units * w
        return per_t, payload, cap

    def service_departures(self, pair: Pair) -> tuple[np.ndarray, np.ndarray, bool]:
        """Departures of a scheduled service per period (as the simulation times them) and cumulative.

        With an activation delay drawn for the fleet, departures may shift later: then the
        per-period figure is the most any window of one period can hold, and only the
        cumulative count keeps the planned (earliest) timetable.
        """
        fleet = self.scenario.fleets[pair.fleet]
        interval = 24.0 / float(fleet.departures_per_day)  # type: ignore[arg-type]
        per = np.zeros(self.periods)
        t, guard = pair.available_h, 1e-6
        end = self.periods * self.period_h
        while t < end:
            p = int(t // self.period_h)
            per[p] += 1
            q = int((t - guard) // self.period_h)
            if q != p and q >= 0:  # float noise at a boundary: count it in both periods (optimistic)
                per[q] += 1
            t += interval
        cumulative = np.cumsum(per)
        shifted = self.inputs.basis == "best_case" and pair.fleet in self.scenario.uncertainty.activation
        if shifted:
            per = np.full(self.periods, math.floor(self.period_h / interval) + 1.0)
        return per, cumulative, shifted


