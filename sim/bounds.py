"""Bounds beside every result: AFPAM 10-1403 planning-factor capacities and a fluid linear-programming bound.

Two kinds of figure, for two jobs:

* **Planning factors** (`planning_factors`): the hand methods of the field, one capacity in
  tonnes per day per resource: fleets (carriers x payload per cycle, within the daily
  flying-hour budget), scheduled services (departures x payload), airfields (AFPAM 10-1403
  formula 9.0, with and without its 0.85 queueing efficiency), berths and land handling.
  Per route the smallest capacity along it binds. These are estimates at planned values,
  not bounds: the 0.85 makes them pessimistic and the steady-state rate ignores start-up.
* **The fluid bound** (`fluid_bound`): a time-expanded linear program in which every real
  run of the simulation is a feasible solution, so its optimum is an upper bound on what any
  plan can deliver by the deadline and its closure day is a lower bound on any plan's closure.
  The formulation and the argument for its validity are in the docstring of `_FluidModel`.

`bounds_summary(scenario)` puts both into one JSON-ready dict. Units: tonnes (metric), hours
inside the model, days in results. This module knows nothing of SimPy.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from sim.distributions import Exponential, Fixed, LogNormal, Normal, Triangular, Uniform
from sim.measure import MET_TOLERANCE
from sim.network import ANY_ROUTE, Network, release_schedule, travel_time_h
from sim.packing import EPS, floor_share
from sim.schema import Mode, Scenario

AFPAM_QUEUEING_EFFICIENCY = 0.85  # AFPAM 10-1403 formula 9.0
LAND_MODES = (Mode.rail, Mode.road)
INF = math.inf
PERIOD_CHOICES_H = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
MAX_PERIODS = 400  # the automatic period is the finest of PERIOD_CHOICES_H that keeps the horizon within this
UNBOUNDED_RELEASE_FACTOR = 1e12  # a per-day release factor without an upper limit: everything at the first release
ROUNDING = 1e-9  # relative guard when a time is cut into whole periods (always towards the optimistic side)
IPM_ABOVE_COLUMNS = 12_000  # HiGHS: dual simplex is faster on the small per-class LPs, interior point on the joint one
CLOSED_TOLERANCE = 2 * MET_TOLERANCE  # a class counts as closable when the LP delivers all but this share

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
    def of(cls, scenario: Scenario, basis: Basis = "auto") -> "Inputs":
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
    """Merged closed periods [start, end) of a node in hours: outside operating hours and explicit closures.

    The same intervals as the simulation's calendar, without random weather (the best case).
    """
    node = scenario.nodes[node_id]
    closed = [(c.start_day * 24.0, c.end_day * 24.0) for c in node.closures]
    if node.operating_hours_per_day < 24:
        for day in range(-1, int(math.ceil(horizon_h / 24.0)) + 2):
            closed.append((day * 24.0 + node.opens_at_h + node.operating_hours_per_day, day * 24.0 + node.opens_at_h + 24.0))
    merged: list[list[float]] = []
    for a, b in sorted(x for x in closed if x[1] > x[0]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


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


def overlap_after(start_h: float, period_h: float, periods: int) -> np.ndarray:
    """Hours of each period at or after `start_h`."""
    s = np.arange(periods) * period_h
    return np.clip(s + period_h - np.maximum(s, start_h), 0.0, period_h)


def _cut(hours: float, period_h: float) -> int:
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
                lf, lp = self._own_time(carrier.load_time_h, leg.from_, mode, fh)
                uf, up = self._own_time(carrier.unload_time_h, leg.to, mode, fh)
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

    def _own_time(self, given_h: float | None, node_id: str, mode: Mode, factor: float) -> tuple[float, float]:
        """(fixed hours per load, hours per tonne) of a load or unload at a node, at the best-case factor."""
        if given_h is not None:
            return given_h * factor, 0.0
        if mode is Mode.sea:
            rate = self.scenario.nodes[node_id].handling_rate_t_per_day
            if rate is not None:
                return 0.0, 24.0 / rate * factor
        return 0.0, 0.0

    def _resources(self) -> list[Resource]:
        s = self.scenario
        uses: dict[tuple[str, str], list[Use]] = defaultdict(list)
        land_arrivals = self.network.land_arrivals
        for pair in self.pairs:
            a, b = s.nodes[pair.origin], s.nodes[pair.dest]
            if not pair.service and pair.mode is Mode.air:
                if a.parking_spots is not None:
                    uses[(pair.origin, "parking_spots")].append(Use(pair, "take", pair.load_fixed_h, 0.0, False))
                if b.parking_spots is not None:
                    uses[(pair.dest, "parking_spots")].append(Use(pair, "put", pair.unload_fixed_h, 0.0, False))
            if not pair.service and pair.mode is Mode.sea:
                if a.berths is not None:
                    after = pair.load_fixed_h == 0 and not pair.hold  # port-rate loading after one take
                    uses[(pair.origin, "berths")].append(Use(pair, "take", pair.load_fixed_h, pair.load_per_t_h, after))
                if b.berths is not None:
                    uses[(pair.dest, "berths")].append(Use(pair, "put", pair.unload_fixed_h, pair.unload_per_t_h, False))
            if pair.mode in LAND_MODES:
                fh = self.inputs.handling_factor[pair.mode]
                if a.throughput_t_per_day is not None and pair.origin not in land_arrivals:
                    uses[(pair.origin, "handling")].append(Use(pair, "take", 0.0, 24.0 / a.throughput_t_per_day * fh, True))
                if b.throughput_t_per_day is not None:  # a land leg's end is always a land arrival
                    uses[(pair.dest, "handling")].append(Use(pair, "put", 0.0, 24.0 / b.throughput_t_per_day * fh, False))
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
        for cls, req in s.requirements.items():
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


# --- the linear program ------------------------------------------------------------------------------


class _LP:
    """A sparse LP assembled column block by column block; rows lo <= a.x <= hi."""

    def __init__(self) -> None:
        self.n = 0
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.rows: list[tuple[list[int], list[float], float, float]] = []

    def block(self, size: int, lo: float | np.ndarray = 0.0, hi: float | np.ndarray = INF) -> np.ndarray:
        """Add `size` columns; returns their indices."""
        idx = np.arange(self.n, self.n + size)
        self.n += size
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (size,)).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (size,)).copy())
        return idx

    def row(self, cols: list[int], vals: list[float], lo: float = -INF, hi: float = INF) -> None:
        self.rows.append((cols, vals, lo, hi))

    def solve(self, cost: np.ndarray) -> tuple[float, np.ndarray]:
        """Minimize cost.x; returns the optimum and the solution (raises if HiGHS does not find one)."""
        ub_r, ub_c, ub_v, ub_b, eq_r, eq_c, eq_v, eq_b = [], [], [], [], [], [], [], []
        nu = ne = 0
        for cols, vals, lo, hi in self.rows:
            if lo == hi:
                eq_r += [ne] * len(cols); eq_c += cols; eq_v += vals; eq_b.append(hi); ne += 1
                continue
            if hi < INF:
                ub_r += [nu] * len(cols); ub_c += cols; ub_v += vals; ub_b.append(hi); nu += 1
            if lo > -INF:
                ub_r += [nu] * len(cols); ub_c += cols; ub_v += [-v for v in vals]; ub_b.append(-lo); nu += 1
        a_ub = coo_matrix((ub_v, (ub_r, ub_c)), shape=(nu, self.n)).tocsr() if nu else None
        a_eq = coo_matrix((eq_v, (eq_r, eq_c)), shape=(ne, self.n)).tocsr() if ne else None
        bounds = np.column_stack([np.concatenate(self.lo), np.concatenate(self.hi)])
        bounds = np.where(np.isinf(bounds), None, bounds)
        res = linprog(cost, A_ub=a_ub, b_ub=np.array(ub_b) if nu else None, A_eq=a_eq, b_eq=np.array(eq_b) if ne else None,
                      bounds=bounds, method="highs-ipm" if self.n > IPM_ABOVE_COLUMNS else "highs-ds")
        if res.status != 0:
            raise RuntimeError(f"fluid bound LP: {res.message}")
        return float(res.fun), np.asarray(res.x)


class _FluidModel:
    """The fluid LP of one scenario for a set of classes, over periods 0..P-1 of `period_h` hours.

    Variables (tonnes, unless stated; per period p):
      t[pair, c, p]  tonnes of commodity c (class, routing tag) taken aboard at the pair's origin
      y[pair, c, p]  tonnes put down at its destination (delivered, at a hand-over node of the class)
      z[pair, c, p]  tonnes in transit: z[p] = z[p-1] + t[p - d] - y[p], d = take_to_put_h cut to whole periods
      s[node, c, p]  stock waiting at a node: s[p] = s[p-1] + released + put down there - taken from there
      L[pair, p]     loads (fractional): put down in p for shuttles, departing in p for scheduled services;
                     L >= tonnes / payload, >= floor share of the tonnes, >= tonnes / (whole units per load x unit weight)
      token buckets and running sums below.
    Constraints (each holds for every real run, mapped as: t = takes, y = put-downs, L = whole loads):
      fleets, cycling shuttles: carrier-hours used by loads put down in any window of periods
        <= carriers x hours of the window after availability + one round trip per carrier (a bucket
        of that size, holding one return leg at the start: each carrier's first put-down comes one
        load + voyage + unload after it is available); a round trip costs load + 2 x travel + unload
        hours, port-rate berth time counted per tonne. Aircraft with a daily flying-hour budget H:
        2 x flight hours per load <= H/24 per hour + max(H, flight) + 2 x flight per aircraft (the
        budget banks at most H, a flight longer than H may start on a full budget).
        First voyages with port-rate berth time: tonnes x berth hours per tonne <= carriers x
        (t - available - fixed voyage time), until a second put-down is possible.
        No put-down before available + load + voyage + unload.
      single-voyage fleets: loads <= carriers.  Scheduled services: loads departing in p <= departures in p.
      node resources (parking spots, berths: shuttles only; land handling: rail and road):
        unloading work (put-downs, indexed by put-down) and loading work done in each window
        <= units x open hours of the window + one unloading per unit (a bucket); loading work done
        by period p must cover the loads put down at the far end by p + (voyage + unload) periods;
        loading work that follows the cargo's arrival (land handling, port-rate loading without a
        hold) is no more than the tonnes taken so far need.
      closures: zero open hours; shuttles take nothing in a period wholly closed at the origin,
        and nothing is put down in a period wholly closed at the destination.
    Objective: tonnes (or units of one class) put down at hand-over nodes in periods up to the
    deadline's. Every time is rounded towards the optimistic side, with best-case inputs
    (`Inputs`), so no run of the simulation can beat the optimum.
    """

    def __init__(self, facts: Facts, classes: tuple[str, ...], last: int | None = None):
        self.facts = facts
        self.classes = classes
        self.lp = _LP()
        P = self.P = facts.periods if last is None else last + 1
        f, s, lp = facts, facts.scenario, self.lp
        comms = [c for c in f.commodities if c[0] in classes]
        # which commodity may use which pair
        self.t: dict[tuple[int, tuple[str, str]], np.ndarray] = {}
        self.y: dict[tuple[int, tuple[str, str]], np.ndarray] = {}
        self.L: dict[int, np.ndarray] = {}
        self.delivered: dict[str, list[np.ndarray]] = {c: [] for c in classes}
        pack = {}
        for pair in f.pairs:
            members = []
            for c in comms:
                if pair.leg in f.next_legs(c[0], c[1], pair.origin):
                    pk = f.packing(c[0], pair.carrier)
                    if pk is not None:
                        members.append(c)
                        pack[(pair.index, c[0])] = pk
            if not members:
                continue
            d = _cut(pair.take_to_put_h, f.period_h)
            t_hi = np.full(P, INF)
            if not pair.service:
                t_hi[f.dead[pair.origin][:P]] = 0.0
            y_hi = np.full(P, INF)
            y_hi[f.dead[pair.dest][:P]] = 0.0
            first = pair.first_put_h
            ends = (np.arange(P) + 1) * f.period_h
            y_hi[ends <= first * (1 - ROUNDING) - 1e-9] = 0.0
            virtual = not pair.service and pair.index not in f.after_take_pairs
            for c in members:
                yi = lp.block(P, 0.0, y_hi)
                self.y[(pair.index, c)] = yi
                if virtual:
                    # the take counted at put-down minus the least transit: never earlier than the real take
                    self.t[(pair.index, c)] = np.concatenate([yi[d:], np.full(min(d, P), -1)])
                else:
                    ti = lp.block(P, 0.0, t_hi)
                    zi = lp.block(P)
                    self.t[(pair.index, c)] = ti
                    for p in range(P):  # z[p] - z[p-1] - t[p-d] + y[p] = 0
                        cols, vals = [int(zi[p]), int(yi[p])], [1.0, 1.0]
                        if p > 0:
                            cols.append(int(zi[p - 1])); vals.append(-1.0)
                        if p - d >= 0:
                            cols.append(int(ti[p - d])); vals.append(-1.0)
                        lp.row(cols, vals, 0.0, 0.0)
                if pair.dest in f.network.hand_over[c[0]]:
                    self.delivered[c[0]].append(yi)
            # loads and packing: on put-downs for shuttles (a load is whole then), on takes for services
            Li = self.L[pair.index] = lp.block(P)
            flows = self.t if pair.service else self.y
            shares = {c: pack[(pair.index, c[0])][0] for c in members}
            by_class: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for c in members:
                by_class[c[0]].append(c)
            for p in range(P):
                cols = [int(flows[(pair.index, c)][p]) for c in members]
                lp.row(cols + [int(Li[p])], [1.0] * len(cols) + [-pair.payload_t], hi=0.0)
                if any(v > 0 for v in shares.values()):
                    lp.row(cols + [int(Li[p])], [shares[c] for c in members] + [-1.0], hi=0.0)
                for cls, cs in by_class.items():
                    cap = pack[(pair.index, cls)][2]
                    if cap is not None:
                        lp.row([int(flows[(pair.index, c)][p]) for c in cs] + [int(Li[p])], [1.0] * len(cs) + [-cap], hi=0.0)
        self._stocks(comms)
        self._fleets()
        self._resources()

    # flows through nodes ----------------------------------------------------------------------

    def _stocks(self, comms: list[tuple[str, str]]) -> None:
        f, lp, P = self.facts, self.lp, self.P
        for c in comms:
            hand_over = f.network.hand_over[c[0]]
            nodes = {pair.origin for pair in f.pairs if (pair.index, c) in self.t}
            nodes |= {pair.dest for pair in f.pairs if (pair.index, c) in self.y and pair.dest not in hand_over}
            nodes |= {n for (cls, tag, n) in f.releases if (cls, tag) == c}
            for node in sorted(nodes):
                outs = [self.t[(pair.index, c)] for pair in f.pairs if pair.origin == node and (pair.index, c) in self.t]
                ins = [self.y[(pair.index, c)] for pair in f.pairs if pair.dest == node and (pair.index, c) in self.y]
                released = f.releases.get((c[0], c[1], node), np.zeros(P))[:P]
                si = lp.block(P)
                for p in range(P):  # s[p] - s[p-1] + taken - put down = released
                    cols, vals = [int(si[p])], [1.0]
                    if p > 0:
                        cols.append(int(si[p - 1])); vals.append(-1.0)
                    taken = [int(o[p]) for o in outs if o[p] >= 0]
                    cols += taken; vals += [1.0] * len(taken)
                    cols += [int(i[p]) for i in ins]; vals += [-1.0] * len(ins)
                    lp.row(cols, vals, float(released[p]), float(released[p]))

    @cached_property
    def _pair_flows(self) -> dict[tuple[int, str], list[np.ndarray]]:
        out: dict[tuple[int, str], list[np.ndarray]] = defaultdict(list)
        for (i, _c), v in self.t.items():
            out[(i, "t")].append(v)
        for (i, _c), v in self.y.items():
            out[(i, "y")].append(v)
        return out

    def _sum_cols(self, pair: Pair, which: str, p: int, coef: float) -> tuple[list[int], list[float]]:
        cols = [int(a[p]) for a in self._pair_flows.get((pair.index, which), []) if a[p] >= 0]
        return cols, [coef] * len(cols)

    # fleets -----------------------------------------------------------------------------------

    def _fleets(self) -> None:
        f, lp, P, ph = self.facts, self.lp, self.P, self.facts.period_h
        by_fleet: dict[str, list[Pair]] = defaultdict(list)
        for pair in f.pairs:
            if pair.index in self.L:
                by_fleet[pair.fleet].append(pair)
        ends = (np.arange(P) + 1) * ph
        for fid, pairs in by_fleet.items():
            p0 = pairs[0]
            n = p0.count
            if p0.service:
                per, cumulative, shifted = f.service_departures(p0)
                per, cumulative = per[:P], cumulative[:P]
                for p in range(P):
                    lp.row([int(self.L[q.index][p]) for q in pairs], [1.0] * len(pairs), hi=float(per[p]))
                if shifted:
                    run = lp.block(P)
                    for p in range(P):
                        cols = [int(run[p])] + [int(self.L[q.index][p]) for q in pairs]
                        vals = [1.0] + [-1.0] * len(pairs)
                        if p > 0:
                            cols.append(int(run[p - 1])); vals.append(-1.0)
                        lp.row(cols, vals, 0.0, 0.0)
                    lp.hi[-1] = np.minimum(lp.hi[-1], cumulative)
                continue
            if not p0.cycling:
                cols = [int(c) for q in pairs for c in self.L[q.index]]
                lp.row(cols, [1.0] * len(cols), hi=float(n))
            else:
                supply = n * overlap_after(p0.available_h, ph, P)
                k_cap = n * max(q.cycle_fixed_h + q.cycle_per_t_h * q.payload_t for q in pairs)
                k0 = n * max(q.travel_h for q in pairs)
                self._bucket(supply, k_cap, k0, lambda p: self._cycle_use(pairs, p))
                hours = p0.flying_hours
                if hours is not None:
                    longest = max(q.travel_h for q in pairs)
                    supply_f = n * hours / 24.0 * overlap_after(p0.available_h, ph, P)
                    self._bucket(supply_f, n * (max(hours, longest) + 2 * longest), n * (max(hours, longest) + longest),
                                 lambda p: ([int(self.L[q.index][p]) for q in pairs], [2 * q.travel_h for q in pairs]))
            if any(q.cycle_per_t_h > 0 for q in pairs):
                # first voyages: a carrier's first load of w tonnes is put down no earlier than
                # available + fixed voyage time + w x berth hours per tonne
                fixed = min(q.load_fixed_h + q.travel_h + q.unload_fixed_h for q in pairs)
                until = INF if not p0.cycling else p0.available_h + fixed + min(q.cycle_fixed_h for q in pairs)
                run = lp.block(P)
                for p in range(P):
                    cols, vals = [int(run[p])], [1.0]
                    if p > 0:
                        cols.append(int(run[p - 1])); vals.append(-1.0)
                    for q in pairs:
                        c2, v2 = self._sum_cols(q, "y", p, -q.cycle_per_t_h)
                        cols += c2; vals += v2
                    lp.row(cols, vals, 0.0, 0.0)
                cap = np.where(ends <= until, n * np.maximum(0.0, ends - p0.available_h - fixed), INF)
                lp.hi[-1] = np.minimum(lp.hi[-1], cap)

    def _cycle_use(self, pairs: list[Pair], p: int) -> tuple[list[int], list[float]]:
        cols, vals = [], []
        for q in pairs:
            cols.append(int(self.L[q.index][p])); vals.append(q.cycle_fixed_h)
            if q.cycle_per_t_h > 0:
                c2, v2 = self._sum_cols(q, "y", p, q.cycle_per_t_h)
                cols += c2; vals += v2
        return cols, vals

    def _bucket(self, supply: np.ndarray, cap: float, start: float, use, extra: list[np.ndarray] | None = None) -> None:
        """Token bucket: for every window of periods, use <= supply + cap, and from period 0, use <= supply + start.

        b[p] <= b[p-1] + supply[p] - use[p], 0 <= b <= cap, b[-1] = start; columns in `extra`
        (work variables) draw on the same bucket.
        """
        lp, P = self.lp, self.P
        b = lp.block(P, 0.0, cap)
        for p in range(P):
            cols, vals = use(p)
            cols, vals = list(cols) + [int(b[p])], list(vals) + [1.0]
            rhs = float(supply[p])
            if p > 0:
                cols.append(int(b[p - 1])); vals.append(-1.0)
            else:
                rhs += start
            for e in extra or ():
                cols.append(int(e[p])); vals.append(1.0)
            lp.row(cols, vals, hi=rhs)

    # node resources ---------------------------------------------------------------------------

    def _resources(self) -> None:
        f, lp, P = self.facts, self.lp, self.P
        for res in f.resources:
            uses = [u for u in res.uses if u.pair.index in self.L]
            if not uses:
                continue
            supply = res.units * f.open_h[res.node][:P]
            puts = [u for u in uses if u.side == "put"]
            takes = [u for u in uses if u.side == "take"]
            k = res.units * max((u.fixed_h + u.per_t_h * u.pair.payload_t for u in puts), default=0.0)
            work: list[np.ndarray] = []
            groups = {g: [u for u in takes if u.after_take == g] for g in (False, True)}
            for after, group in groups.items():
                if not group:
                    continue
                w = lp.block(P, 0.0, supply)
                work.append(w)
                self._loading_done(w, group, after)
            if len(work) == 2:
                for p in range(P):
                    lp.row([int(work[0][p]), int(work[1][p])], [1.0, 1.0], hi=float(supply[p]))

            def put_use(p: int, puts: list[Use] = puts) -> tuple[list[int], list[float]]:
                cols, vals = [], []
                for u in puts:
                    if u.fixed_h > 0:
                        cols.append(int(self.L[u.pair.index][p])); vals.append(u.fixed_h)
                    if u.per_t_h > 0:
                        c2, v2 = self._sum_cols(u.pair, "y", p, u.per_t_h)
                        cols += c2; vals += v2
                return cols, vals

            if puts:
                self._bucket(supply, k, k, put_use, work)

    def _loading_done(self, w: np.ndarray, uses: list[Use], after_take: bool) -> None:
        """Loading work at the origin: done before the far end's put-down, and (if `after_take`) after the take."""
        lp, P, ph = self.lp, self.P, self.facts.period_h
        done = lp.block(P)  # running sum of the work
        for p in range(P):
            cols, vals = [int(done[p]), int(w[p])], [1.0, -1.0]
            if p > 0:
                cols.append(int(done[p - 1])); vals.append(-1.0)
            lp.row(cols, vals, 0.0, 0.0)
        needs = []
        for u in uses:
            q = u.pair
            need = lp.block(P)  # running sum of the work of loads put down at the far end
            for p in range(P):
                cols, vals = [int(need[p])], [1.0]
                if p > 0:
                    cols.append(int(need[p - 1])); vals.append(-1.0)
                if u.fixed_h > 0:
                    cols.append(int(self.L[q.index][p])); vals.append(-u.fixed_h)
                if u.per_t_h > 0:
                    c2, v2 = self._sum_cols(q, "y", p, -u.per_t_h)
                    cols += c2; vals += v2
                lp.row(cols, vals, 0.0, 0.0)
            needs.append((need, _cut(q.travel_h + q.unload_fixed_h, ph)))
        for p in range(P):  # done[p] >= need[min(p + lag, P - 1)]
            cols, vals = [int(done[p])], [1.0]
            for need, lag in needs:
                cols.append(int(need[min(p + lag, P - 1)])); vals.append(-1.0)
            lp.row(cols, vals, lo=0.0)
        if after_take:
            taken = lp.block(P)  # running sum of the work the tonnes taken so far need
            for p in range(P):
                cols, vals = [int(taken[p])], [1.0]
                if p > 0:
                    cols.append(int(taken[p - 1])); vals.append(-1.0)
                for u in uses:
                    c2, v2 = self._sum_cols(u.pair, "t", p, -u.per_t_h)
                    cols += c2; vals += v2
                lp.row(cols, vals, 0.0, 0.0)
            for p in range(P):
                lp.row([int(done[p]), int(taken[p])], [1.0, -1.0], hi=0.0)

    # objective --------------------------------------------------------------------------------

    def max_delivered(self, last: int, weights: dict[str, float]) -> float:
        """The most that can be put down at hand-over nodes in periods 0..last, weighted per tonne by class."""
        cost = np.zeros(self.lp.n)
        for cls, arrays in self.delivered.items():
            for a in arrays:
                cost[a[: last + 1]] -= weights.get(cls, 0.0)
        if not cost.any():
            return 0.0
        return max(0.0, -self.lp.solve(cost)[0])

    def earliest_curve(self) -> np.ndarray:
        """Tonnes delivered by the end of each period in a solution that maximizes the area under that curve.

        Not the most by every period at once, but a feasible plan: the period in which it
        reaches a quantity is one by which the quantity can certainly be delivered.
        """
        cost = np.zeros(self.lp.n)
        weight = (self.P - np.arange(self.P)).astype(float)
        arrays = [a for cls in self.classes for a in self.delivered[cls]]
        for a in arrays:
            cost[a] -= weight
        if not arrays:
            return np.zeros(self.P)
        x = self.lp.solve(cost)[1]
        return np.cumsum(sum(x[a] for a in arrays))


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FluidBound:
    """What no plan can beat: the most deliverable by the deadline and the earliest closure, per class.

    `max_by_deadline[c]` (units of the class) maximizes that class alone, every other class
    free to be left behind: each figure is a valid bound on its own. `max_tonnes_by_deadline`
    maximizes all classes together (no plan delivers more tonnes in all). `earliest_closure_day[c]`
    is a lower bound on the day the class's last unit can be handed over (inf: not within the
    horizon), found by bisection on whole periods: the start of the first period by whose end
    the LP can deliver all of it. `earliest_closure_all_day` is the same for every class at once.
    """

    basis: str
    period_h: float
    max_by_deadline: dict[str, float]
    max_tonnes_by_deadline: float
    earliest_closure_day: dict[str, float]
    earliest_closure_all_day: float
    solve_s: float
    lp_solves: int
    lp_size: tuple[int, int] = (0, 0)  # columns, rows of the all-classes model


def fluid_bound(scenario: Scenario, basis: Basis = "auto", period_h: float | None = None,
                closure: bool = True) -> FluidBound:
    """Solve the fluid LP bound of a scenario (see `_FluidModel`); `closure=False` skips the closure bisections.

    Each LP is built only up to the period it asks about (flows after it cannot help).
    Closure: the LP of one class up to the deadline says whether it can close by then; a
    bisection on the last period then finds the first period by whose end it can (inf if not
    even by the horizon). The closure of all classes together is bounded below by the
    latest of the per-class bounds (a joint bisection would be tighter but costs many
    solves of the largest model).
    """
    started = time.perf_counter()
    inputs = Inputs.of(scenario, basis)
    facts = Facts(scenario, inputs, period_h or choose_period_h(scenario))
    classes = tuple(scenario.requirements)
    weight = {c: scenario.cargo[c].unit_weight_t for c in classes}
    last_d = facts.deadline_period
    solves = 0

    def most(cls: tuple[str, ...], last: int) -> float:
        nonlocal solves
        solves += 1
        return _FluidModel(facts, cls, last).max_delivered(last, {c: 1.0 for c in cls})

    total_model = _FluidModel(facts, classes, last_d)
    total = total_model.max_delivered(last_d, {c: 1.0 for c in classes})
    solves += 1
    by_deadline, closure_day = {}, {}
    for c in classes:
        quantity = scenario.requirements[c].quantity
        need = quantity * weight[c] * (1 - CLOSED_TOLERANCE)
        solves += 1
        curve = _FluidModel(facts, (c,), last_d).earliest_curve()
        if curve[-1] >= need:
            by_deadline[c] = quantity  # all of it: nothing more to release
            lo, hi = -1, last_d
        else:
            by_deadline[c] = most((c,), last_d) / weight[c]
            lo, hi = last_d, facts.periods - 1
            if closure:
                if most((c,), hi) < need:
                    closure_day[c] = INF
                    continue
                solves += 1
                curve = _FluidModel(facts, (c,), hi).earliest_curve()
        if not closure:
            closure_day[c] = math.nan
            continue
        hi = min(hi, int(np.argmax(curve >= need)) if curve[-1] >= need else hi)
        if hi - 1 > lo and most((c,), hi - 1) < need:  # usually the area-maximizing plan is the earliest
            lo = hi - 1
        while hi - lo > 1:
            mid = (hi + lo) // 2
            if most((c,), mid) >= need:
                hi = mid
            else:
                lo = mid
        closure_day[c] = hi * facts.period_h / 24.0
    all_day = max(closure_day.values()) if closure else math.nan
    return FluidBound(inputs.basis, facts.period_h, by_deadline, total, closure_day, all_day,
                      time.perf_counter() - started, solves, (total_model.lp.n, len(total_model.lp.rows)))
