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
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from sim.distributions import Exponential, Fixed, LogNormal, Normal, Triangular, Uniform
from sim.measure import MET_TOLERANCE
from sim.network import Network, release_schedule, travel_time_h
from sim.packing import EPS, floor_share
from sim.schema import Mode, Scenario

AFPAM_QUEUEING_EFFICIENCY = 0.85  # AFPAM 10-1403 formula 9.0
LAND_MODES = (Mode.rail, Mode.road)
INF = math.inf
PERIOD_CHOICES_H = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
MAX_PERIODS = 400  # the automatic period is the finest of PERIOD_CHOICES_H that keeps the horizon within this
UNBOUNDED_RELEASE_FACTOR = 1e12  # a per-day release factor without an upper limit: everything at the first release
ROUNDING = 1e-9  # relative guard when a time is cut into whole periods (always towards the optimistic side)
CLOSED_TOLERANCE = 2 * MET_TOLERANCE  # a class counts as closable when the LP delivers all but this share
# HiGHS meets constraints to about 1e-7 in absolute terms, so a class weighing grams in all can come
# back as zero: every LP figure is loosened by this many tonnes (one gram), which keeps it a bound.
SOLVER_SLACK_T = 1e-6

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


def _coarser(period_h: float) -> float:
    """The period of PERIOD_CHOICES_H at least twice as long (a day at most)."""
    return next((p for p in PERIOD_CHOICES_H if p >= 2 * period_h), PERIOD_CHOICES_H[-1])


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
                if a.parking_spots:  # 0: no facility, as in the simulation (allowed only where nothing lands)
                    uses[(pair.origin, "parking_spots")].append(Use(pair, "take", pair.load_fixed_h, 0.0, False))
                if b.parking_spots:
                    uses[(pair.dest, "parking_spots")].append(Use(pair, "put", pair.unload_fixed_h, 0.0, False))
            if not pair.service and pair.mode is Mode.sea:
                if a.berths:
                    after = pair.load_fixed_h == 0 and not pair.hold  # port-rate loading after one take
                    uses[(pair.origin, "berths")].append(Use(pair, "take", pair.load_fixed_h, pair.load_per_t_h, after))
                if b.berths:
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

    def __init__(self, joint: bool = False) -> None:
        self.joint = joint  # several classes: a different solver suits it
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
                      bounds=bounds, method="highs-ipm" if self.joint else "highs-ds")
        if res.status != 0:
            raise RuntimeError(f"fluid bound LP: {res.message}")
        return float(res.fun), np.asarray(res.x)


class _FluidModel:
    """The fluid LP of one scenario for a set of classes, over periods p = 0..P-1 of `period_h` hours.

    A *pair* is one fleet on one of its legs (A -> B); a *commodity* is a class with its routing
    tag. All flows are in tonnes.

    Variables, per period p:
      y[pair, c, p]  tonnes put down at B (delivered, if B is a hand-over node of the class)
      t[pair, c, p]  tonnes taken aboard at A. Kept as its own variable only for scheduled
                     services and for pairs whose loading work must follow the take (below), with
                     z[pair, c, p] in transit: z[p] = z[p-1] + t[p-d] - y[p]. For other shuttles
                     the take is counted at y's period minus d ("virtual take": never earlier than
                     the real one, so stocks stay valid). d = least take-to-put-down time
                     (load if no hold + travel + unload, best case) cut to whole periods.
      s[node, c, p]  stock at a node: s[p] = s[p-1] + released + put down there - taken there >= 0
      L[pair, p]     loads put down in p (shuttles) or departing in p (services), fractional:
                     L >= tonnes / payload, >= sum of floor shares, >= tonnes of a class /
                     (whole units a load x unit weight) where whole units bind before weight or floor
      bucket levels, work and running sums for the constraints below.
    Constraints:
      cycling shuttle fleets (n carriers available from a): a token bucket in carrier-hours:
        in every window of periods, the cycles of the loads put down (load + travel out + unload +
        travel back, port-rate berth time per tonne) <= n x hours of the window after a +
        n x (longest cycle less its return + longest return); from the start, <= n x (hours
        after a + longest return).  Aircraft with a daily flying-hour budget H: a second bucket,
        2 x flight hours a load <= n x H/24 per hour after a + n x (max(H, flight) + 2 x flight)
        (from the start: + n x (max(H, flight) + flight)).  With port-rate berth time, first
        voyages: berth hours per tonne x tonnes put down by the end of p <= n x (end of p - a -
        load, voyage and unload times), until a second put-down is possible.  Nothing is put down
        before a + load + travel + unload.
      single-voyage fleets: loads <= n in all.  Scheduled services: loads departing in p <=
        departures in p (with a random activation delay: the most one period can hold, and the
        planned timetable cumulatively).
      node resources (parking spots, berths: shuttles only; land handling: rail and road), with
        m units and m x open hours of supply a period: unloading work of loads put down (indexed
        by put-down) plus loading work done, in every window <= supply + m x the longest
        unloading (a bucket); loading work done in a period <= its supply; loading work done by
        the end of p >= the work of loads put down at the far end by p + (travel + unload), cut
        to periods; where all of a load's loading work follows its last take (land handling;
        port-rate berths without a hold) that work done by p <= what the tonnes taken by p need.
      closures: no supply while closed; shuttles take nothing in a period wholly inside a
        closure at A, nothing is put down in a period wholly inside a closure at B.
    Objective: tonnes put down at hand-over nodes in periods 0..last (or an area under that curve).

    Why no run of the simulation can beat it: map the run to the LP with y = its put-downs, t =
    its takes, L = its whole loads. Every constraint is then satisfied:
      * times: each movement, load and unload takes at least its planned time x the smallest
        factor its distribution can draw, and whole periods are cut downwards;
      * a carrier's consecutive put-downs are at least one cycle apart (its return, next load,
        outbound leg and unload), and its first one at least load + voyage + unload after it
        is available; so the cycles of the loads it puts down in a window exceed the window by at
        most one cycle (the bucket's bank), and by at most one return leg from the start;
      * the flying-hour budget accrues H/24 an hour, holds at most H, and a flight starts only
        on min(flight, H) of it: the flights begun in a window total at most its accrual +
        max(H, flight); all but the first outbound and last return flight of the loads put down
        in the window begin in it;
      * on each unit of a spot, berth or handling line, occupancies do not overlap, and an
        occupancy holds its whole work (ground time, berth time, handling slot) in open hours;
        of the unloadings put down in a window only the first on each unit can have worked
        before it; loading ends before departure, so before the far end's put-down less the
        voyage and unload; land handling and port-rate loading without a hold start after the
        last take of the load;
      * a shuttle takes cargo and starts work only while its node is open, and work ends at an
        open time or exactly at a closure's start (not a dead period);
      * best-case inputs (`Inputs`): every random draw is no better than the one assumed.
    A LP solution is fractional where runs move whole loads, so the bound is optimistic by the
    lumpiness of loads, by the cut periods, and by cargo split between carriers that no
    dispatcher could split.
    """

    def __init__(self, facts: Facts, classes: tuple[str, ...], last: int | None = None):
        self.facts = facts
        self.classes = classes
        self.lp = _LP(joint=len(classes) > 1)
        P = self.P = facts.periods if last is None else last + 1
        f, lp = facts, self.lp
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
            y_hi[:d] = 0.0  # nothing is put down sooner than the least transit after period 0 (no take before it)
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
                ins = [self.y[(pair.index, c)] for pair in f.pairs
                       if pair.dest == node and (pair.index, c) in self.y and node not in hand_over]  # else delivered
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
                # between put-downs: back over the last leg, then load, out and unload on the next,
                # so a window holds its loads' cycles less one, give or take the longest return leg
                longest = max(q.travel_h for q in pairs)
                k_cap = n * (max(q.cycle_fixed_h - q.travel_h + q.cycle_per_t_h * q.payload_t for q in pairs) + longest)
                k0 = n * longest
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
                # no second put-down before: first one, back, then a whole load-out-unload
                until = INF if not p0.cycling else p0.available_h + 2 * fixed + min(q.travel_h for q in pairs)
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
    maximizes all classes together (no plan delivers more tonnes in all), solved at twice the
    period to keep it fast, and never above the sum of the per-class bounds. `earliest_closure_day[c]`
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
    Closure of a class (alone), a lower bound: the first period p by whose end the LP can
    deliver all of it; the bound is the start of that period (a run that closes at time t
    closes in period floor(t / period), and its flows up to then are feasible for the LP cut
    there). Found by search on p: a first LP maximizes the area under the delivery curve (a
    feasible plan, so the period in which it completes is an upper end for p); one more LP
    checks the period before (usually the area plan is the earliest, and that settles it),
    otherwise a bisection of max-delivered LPs. Up to the deadline first, then to the horizon
    (inf if even the horizon's LP cannot deliver it all). The closure of all classes together
    is bounded below by the latest of the per-class bounds (on the shipped scenarios a joint
    search gives the same day, at the cost of several solves of the largest model).
    """
    started = time.perf_counter()
    inputs = Inputs.of(scenario, basis)
    facts = Facts(scenario, inputs, period_h or choose_period_h(scenario))
    classes = tuple(scenario.requirements)
    weight = {c: scenario.cargo[c].unit_weight_t for c in classes}
    last_d = facts.deadline_period
    solves = 0

    def most(model: _FluidModel, last: int) -> float:
        nonlocal solves
        solves += 1
        return model.max_delivered(last, {c: 1.0 for c in model.classes}) + SOLVER_SLACK_T

    def curve(model: _FluidModel) -> np.ndarray:
        nonlocal solves
        solves += 1
        return model.earliest_curve()

    # all classes together: at twice the period (coarser periods only loosen the bound), as the
    # joint LP is the largest; never above the sum of the per-class bounds either
    coarse = facts if len(classes) == 1 else Facts(scenario, inputs, _coarser(facts.period_h))
    total_model = _FluidModel(coarse, classes, coarse.deadline_period)
    total = most(total_model, coarse.deadline_period)
    by_deadline, closure_day = {}, {}
    for c in classes:
        quantity = scenario.requirements[c].quantity
        need = quantity * weight[c] * (1 - CLOSED_TOLERANCE) - SOLVER_SLACK_T
        model = _FluidModel(facts, (c,), last_d)
        delivered = curve(model)
        if delivered[-1] >= need:
            by_deadline[c] = quantity  # all of it: nothing more is released
            lo, hi = -1, last_d
        else:
            by_deadline[c] = min(quantity, most(model, last_d) / weight[c])
            lo, hi = last_d, facts.periods - 1
            if closure:
                model = _FluidModel(facts, (c,), hi)
                delivered = curve(model)
                if delivered[-1] < need and most(model, hi) < need:
                    closure_day[c] = INF
                    continue
        if not closure:
            closure_day[c] = math.nan
            continue
        # the same model serves every earlier period: constraints after it cannot restrict flows before it
        if delivered[-1] >= need:
            hi = min(hi, int(np.argmax(delivered >= need)))
        if hi - 1 > lo and most(model, hi - 1) < need:  # usually the area-maximizing plan is the earliest
            lo = hi - 1
        while hi - lo > 1:
            mid = (hi + lo) // 2
            if most(model, mid) >= need:
                hi = mid
            else:
                lo = mid
        closure_day[c] = hi * facts.period_h / 24.0
    all_day = max(closure_day.values()) if closure else math.nan
    total = min(total, sum(by_deadline[c] * weight[c] for c in classes))
    return FluidBound(inputs.basis, facts.period_h, by_deadline, total, closure_day, all_day,
                      time.perf_counter() - started, solves, (total_model.lp.n, len(total_model.lp.rows)))


# --- planning factors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """Planning-factor capacity of one resource in tonnes per day, with the tonnage it is planned to carry.

    `tonnes_per_day` is the planning figure (AFPAM formula 9.0 with its 0.85 at airfields);
    `tonnes_per_day_without_0_85` is the same without the queueing efficiency (equal to it
    for other resources). A single-voyage fleet gives `tonnes_total`, available from
    `ready_day`, and as `tonnes_per_day` that total spread over the days to the deadline (0 if
    it cannot arrive by then). `demand_t` is the tonnage planned through it (see
    `planning_factors`), `days_needed` = demand / capacity, and `load` = days needed / open
    days between `ready_day` (when cargo can first reach it) and the deadline: above 1 it
    cannot carry its share in time at planning rates.
    """

    resource: str
    kind: str  # fleet | service | fleets | parking_spots | berths | handling
    where: str
    tonnes_per_day: float
    tonnes_per_day_without_0_85: float
    formula: str
    tonnes_total: float | None = None
    ready_day: float = 0.0
    demand_t: float = 0.0
    days_needed: float = 0.0
    load: float = 0.0


@dataclass(frozen=True)
class RouteCapacity:
    """A route's planning-factor capacity: the smallest of its resources, which is named."""

    route: str
    tonnes_per_day: float
    binding: str


@dataclass(frozen=True)
class PlanningFactors:
    """Planning-factor capacities per resource and per route, and the resource that binds."""

    resources: tuple[Capacity, ...]  # ascending tonnes per day
    routes: tuple[RouteCapacity, ...]
    binding: str | None
    explanation: str
    closure_estimate_day: dict[str, float]


class _Planner:
    """Planned-value facts for the planning factors (no uncertainty: these are estimates, not bounds)."""

    def __init__(self, scenario: Scenario):
        self.s = scenario
        self.facts = Facts(scenario.planned(), Inputs.of(scenario.planned(), "planned"), 24.0)
        self.tonnage = {c: r.quantity * scenario.cargo[c].unit_weight_t for c, r in scenario.requirements.items()}

    def full_load_t(self, cls: str, carrier_id: str) -> float | None:
        """Tonnes of a full load of one class alone on a carrier type (None if it cannot board)."""
        pk = self.facts.packing(cls, carrier_id)
        if pk is None:
            return None
        per_t, payload, cap = pk
        return min(payload, 1.0 / per_t if per_t > 0 else INF, cap if cap is not None else INF)

    def classes_on(self, leg_id: str) -> list[str]:
        return [c for c, req in self.s.requirements.items() if any(leg_id in self.s.routes[r].legs for r in req.routes)]

    def load_t(self, pair: Pair) -> float:
        """Average planning payload of a fleet on a leg: full single-class loads, weighted by each class's tonnage."""
        loads = [(self.tonnage[c], self.full_load_t(c, pair.carrier)) for c in self.classes_on(pair.leg)]
        loads = [(w, t) for w, t in loads if t is not None]
        if not loads:
            return pair.payload_t
        return sum(w * t for w, t in loads) / sum(w for w, _ in loads)

    def pair_rate(self, pair: Pair) -> tuple[float, str]:
        """Tonnes per day of one fleet on one leg (cycling shuttles and services), and the formula."""
        load = self.load_t(pair)
        if pair.service:
            per_day = float(self.s.fleets[pair.fleet].departures_per_day)  # type: ignore[arg-type]
            return per_day * load, f"{per_day:g} departures/day x {load:,.1f} t"
        cycle = pair.cycle_fixed_h + pair.cycle_per_t_h * load
        per_day = 24.0 / cycle
        text = f"{pair.count} x 24 h / {cycle:.2f} h cycle x {load:,.1f} t"
        if pair.flying_hours is not None and pair.flying_hours / (2 * pair.travel_h) < per_day:
            per_day = pair.flying_hours / (2 * pair.travel_h)
            text = f"{pair.count} x {pair.flying_hours:g} flying h/day / (2 x {pair.travel_h:.2f} h) x {load:,.1f} t"
        return pair.count * per_day * load, text


def planning_factors(scenario: Scenario) -> PlanningFactors:
    """AFPAM-style capacities per resource and route, at planned values, and the binding resource.

    Fleets: carriers x 24 h / cycle x payload, where the cycle is load + travel out + unload +
    travel back (port-rate berth time for the planning payload), or carriers x daily flying
    hours / (2 x flight hours) x payload when that is smaller; single-voyage fleets: carriers x
    payload once; scheduled services: departures a day x payload. The payload of a fleet is
    its average planning load: each class's full single-class load (weight, floor or whole
    units) weighted by the class's tonnage. Airfields (AFPAM 10-1403 formula 9.0): spots x
    operating hours x mean payload / mean ground time x 0.85, the aircraft types that load or
    unload there combined by their share of sorties at their fleet-limited rates (mean payload
    and mean ground time both sortie-weighted, ground time being the type's load time where it
    loads and unload time where it unloads). Berths: the same without 0.85, a vessel's berth
    time being its own time or tonnes / port rate. Land handling: throughput x operating
    hours / 24. Several fleets on one leg add up (a fleet serving several legs counts fully on
    each). Per route the smallest capacity along it binds.

    Tonnage through each resource (`demand_t`): each release's tonnes are split between the
    routes open from its node in proportion to the routes' capacities (or by route_shares).
    Days needed for it: tonnage / capacity; for a fleet, as sealift is planned (sailings x
    capacity), the first wave's load + voyage + unload and then what the first wave cannot
    take at the steady rate. The binding resource has the highest `load`: days needed / days
    between when cargo (and the fleet) can first be there and the deadline, less closures.
    Closure estimate per class: the latest, over resources its cargo uses, of the day the
    resource could finish all the tonnage planned through it, plus the least transit after
    it; or its last release plus the least transit of its routes, if later. An estimate at
    planning rates, not a bound.
    """
    s = scenario
    plan = _Planner(s)
    f = plan.facts
    deadline = s.deadline_days
    rows: dict[str, Capacity] = {}
    # fleet rows: (fixed days from taking cargo to the first put-down, days per tonne aboard, carriers, tonnes a carrier)
    wave: dict[str, tuple[float, float, int, float]] = {}
    pair_rates: dict[int, tuple[float, str]] = {}
    arrival: dict[str, float] = {}  # single-voyage fleets: the day their loads are put down
    for pair in f.pairs:
        if pair.service or pair.cycling:
            pair_rates[pair.index] = plan.pair_rate(pair)
    for fid, fleet in s.fleets.items():  # fleets and services
        pairs = [q for q in f.pairs if q.fleet == fid]
        if not pairs:
            continue
        p0 = pairs[0]
        start = p0.available_h / 24.0
        loads = {q.index: plan.load_t(q) for q in pairs}
        fixed_d = min(q.load_fixed_h + q.travel_h + q.unload_fixed_h for q in pairs) / 24.0
        per_t_d = min(q.cycle_per_t_h for q in pairs) / 24.0
        if p0.service:
            rate, text = max((pair_rates[q.index] for q in pairs), key=lambda x: x[0])
            name = f"{fid} service ({fleet.departures_per_day:g}/day x {fleet.carrier})"
            rows[name] = Capacity(name, "service", fid, rate, rate, text, ready_day=start)
            wave[name] = (fixed_d, per_t_d, 1, max(loads.values()))
        elif p0.cycling:
            rate, text = max((pair_rates[q.index] for q in pairs), key=lambda x: x[0])
            name = f"{fid} fleet ({p0.count} x {fleet.carrier})"
            rows[name] = Capacity(name, "fleet", fid, rate, rate, text, ready_day=start)
            wave[name] = (fixed_d, per_t_d, p0.count, max(loads.values()))
        else:
            load = max(plan.load_t(q) for q in pairs)
            arrive = min(q.first_put_h + q.cycle_per_t_h * load for q in pairs) / 24.0
            total = p0.count * load
            rate = total / deadline if arrive <= deadline else 0.0
            name = f"{fid} fleet ({p0.count} x {fleet.carrier})"
            rows[name] = Capacity(name, "fleet", fid, rate, rate, f"{p0.count} x {load:,.1f} t once, put down from day {arrive:.1f}",
                                  tonnes_total=total, ready_day=start)
            arrival[name] = arrive
            for q in pairs:
                pair_rates[q.index] = (rate, "")
    leg_names: dict[str, list[str]] = defaultdict(list)  # leg -> its fleet resource and the node resources it uses
    for leg_id in s.legs:
        pairs = [q for q in f.pairs if q.leg == leg_id]
        if len({q.fleet for q in pairs}) == 1:
            leg_names[leg_id].append(next(r.resource for r in rows.values() if r.where == pairs[0].fleet))
        elif pairs:
            rate = sum(pair_rates[q.index][0] for q in pairs)
            parts = " + ".join(f"{q.count} x {q.carrier}" if not q.service else q.fleet for q in pairs)
            name = f"{leg_id} fleets ({parts})"
            rows[name] = Capacity(name, "fleets", leg_id, rate, rate,
                                  " + ".join(f"{q.fleet} {pair_rates[q.index][0]:,.0f}" for q in pairs) + " t/day",
                                  ready_day=min(q.available_h for q in pairs) / 24.0)
            members = [wave[r.resource] for r in rows.values() if r.where in {q.fleet for q in pairs} and r.resource in wave]
            if members:
                count = sum(m[2] for m in members)
                wave[name] = (min(m[0] for m in members), min(m[1] for m in members), count, sum(m[2] * m[3] for m in members) / count)
            leg_names[leg_id].append(name)
    for res in f.resources:  # node resources
        node = s.nodes[res.node]
        hours = node.operating_hours_per_day
        if res.kind == "handling":
            rate = float(node.throughput_t_per_day) * hours / 24.0  # type: ignore[arg-type]
            rows[res.name] = Capacity(res.name, "handling", res.node, rate, rate,
                                      f"{node.throughput_t_per_day:,.0f} t/day x {hours:g}/24 h open")
        else:
            sorties = unit_h = tonnes = 0.0
            for u in res.uses:
                load = plan.load_t(u.pair)
                n = pair_rates.get(u.pair.index, (0.0, ""))[0] / load  # sorties a day at the fleet's own rate
                sorties += n
                unit_h += n * (u.fixed_h + u.per_t_h * load)
                tonnes += n * load
            if unit_h <= 0:
                continue
            mean_load, mean_h = tonnes / sorties, unit_h / sorties
            ideal = res.units * hours * mean_load / mean_h
            if res.kind == "parking_spots":
                rows[res.name] = Capacity(res.name, res.kind, res.node, ideal * AFPAM_QUEUEING_EFFICIENCY, ideal,
                                          f"AFPAM 9.0: {res.units} spots x {mean_load:,.1f} t x {hours:g} h / {mean_h:.2f} h ground time x 0.85")
            else:
                rows[res.name] = Capacity(res.name, res.kind, res.node, ideal, ideal,
                                          f"{res.units} berths x {mean_load:,.0f} t x {hours:g} h / {mean_h:.2f} h a vessel")
        for u in res.uses:
            if res.name in rows and res.name not in leg_names[u.pair.leg]:
                leg_names[u.pair.leg].append(res.name)
    # routes: the smallest capacity along each; least transit after each leg
    transit = {leg_id: min(((q.load_fixed_h + q.travel_h + q.unload_fixed_h) / 24.0 for q in f.pairs if q.leg == leg_id), default=INF)
               for leg_id in s.legs}
    routes, route_cap = [], {}
    for rid, route in s.routes.items():
        names = [n for leg_id in route.legs for n in leg_names[leg_id]]
        missing = [leg_id for leg_id in route.legs if not any(q.leg == leg_id for q in f.pairs)]
        if missing:
            routes.append(RouteCapacity(rid, 0.0, f"no fleet on {missing[0]}"))
        else:
            worst = min(names, key=lambda n: (rows[n].tonnes_per_day, n))
            routes.append(RouteCapacity(rid, rows[worst].tonnes_per_day, worst))
        route_cap[rid] = routes[-1].tonnes_per_day
    # tonnage planned through each resource, and when cargo can first reach it
    reach = _first_reach(s, f)
    demand: dict[str, float] = defaultdict(float)
    ready: dict[str, float] = {}
    uses_of: dict[str, list[tuple[str, float]]] = defaultdict(list)  # class -> (resource, least transit after it)
    for rid, route in s.routes.items():
        for i, leg_id in enumerate(route.legs):
            leg = s.legs[leg_id]
            for name in leg_names[leg_id]:
                row = rows[name]
                node_end = row.kind in ("parking_spots", "berths", "handling") and row.where == leg.to
                t = reach.get((rid, i + 1 if node_end else i), INF)
                ready[name] = min(ready.get(name, INF), t)
    last_release: dict[str, float] = {}
    for cls, req in s.requirements.items():
        w = s.cargo[cls].unit_weight_t
        for rel, qty in zip(req.release, req.release_quantities()):
            open_routes = [r for r in req.routes if s.legs[s.routes[r].legs[0]].from_ == rel.node
                           and (not req.route_shares or req.route_shares.get(r, 0) > 0)]
            if not open_routes:
                continue
            if req.route_shares:
                split = {r: req.route_shares[r] for r in open_routes}
            else:
                total_cap = sum(route_cap[r] for r in open_routes)
                split = {r: route_cap[r] / total_cap if total_cap > 0 else 1.0 / len(open_routes) for r in open_routes}
            end = rel.start_day + (math.ceil(qty / rel.per_day) - 1 if rel.per_day else 0.0)
            least = min(sum(transit[x] for x in s.routes[r].legs) for r in open_routes)
            last_release[cls] = max(last_release.get(cls, 0.0), end + least)
            for r, share in split.items():
                legs = s.routes[r].legs
                for i, leg_id in enumerate(legs):
                    after = sum(transit[x] for x in legs[i + 1:])
                    for name in leg_names[leg_id]:
                        demand[name] += qty * w * share
                        if share > 0:
                            node_end = rows[name].where == s.legs[leg_id].to and rows[name].kind in ("parking_spots", "berths", "handling")
                            own = node_end or name in wave or rows[name].tonnes_total is not None
                            uses_of[cls].append((name, after if own else after + transit[leg_id]))
    out = []
    for name, row in rows.items():
        dem = demand.get(name, 0.0)
        rd = max(row.ready_day, ready.get(name, row.ready_day)) if math.isfinite(ready.get(name, 0.0)) else row.ready_day
        if row.tonnes_total is not None:
            rd = max(rd, arrival[name])
            days = 0.0 if dem <= 0 or dem <= row.tonnes_total else INF
            load = (dem / row.tonnes_total if row.tonnes_total > 0 else INF) if rd <= deadline else (INF if dem > 0 else 0.0)
        elif name in wave:  # a fleet: its pipeline, then what the first wave cannot take at the steady rate
            fixed_d, per_t_d, count, each = wave[name]
            more = max(0.0, dem - count * each)
            pipe = fixed_d + per_t_d * min(each, dem / count)  # the first wave carries what it must, up to full loads
            days = 0.0 if dem <= 0 else pipe + (more / row.tonnes_per_day if row.tonnes_per_day > 0 else (INF if more > 0 else 0.0))
            load = days / (deadline - rd) if deadline > rd else (INF if dem > 0 else 0.0)
        else:
            days = dem / row.tonnes_per_day if row.tonnes_per_day > 0 else (INF if dem > 0 else 0.0)
            avail = _open_days(s, row, rd, deadline)
            load = days / avail if avail > 0 else (INF if dem > 0 else 0.0)
        out.append(Capacity(row.resource, row.kind, row.where, row.tonnes_per_day, row.tonnes_per_day_without_0_85,
                            row.formula, row.tonnes_total, rd, dem, days, load))
    out.sort(key=lambda r: (r.tonnes_per_day, r.resource))
    by_name = {r.resource: r for r in out}
    loaded = [r for r in out if r.demand_t > 0]
    binding = max(loaded, key=lambda r: (r.load, r.resource)) if loaded else None
    explanation = _explain(binding, deadline) if binding else "No resource carries any planned tonnage."
    estimate = {}
    for cls in s.requirements:
        worst = last_release.get(cls, 0.0)
        for name, after in uses_of[cls]:
            r = by_name[name]
            finish = r.ready_day if r.tonnes_total is not None and r.demand_t <= r.tonnes_total else r.ready_day + r.days_needed
            if r.tonnes_total is not None and r.demand_t > r.tonnes_total:
                finish = INF
            if r.tonnes_total is None:
                finish += _closed_days(s, r, r.ready_day, finish)
            worst = max(worst, finish + after)
        estimate[cls] = worst
    return PlanningFactors(tuple(out), tuple(routes), binding.resource if binding else None, explanation, estimate)


def _first_reach(s: Scenario, f: Facts) -> dict[tuple[str, int], float]:
    """(route, i) -> earliest day cargo can be at the i-th node of the route (planned release, fleet availability, least transit)."""
    first_release: dict[str, float] = {}
    for req in s.requirements.values():
        for rel in req.release:
            first_release[rel.node] = min(first_release.get(rel.node, INF), rel.start_day)
    out = {}
    for rid, route in s.routes.items():
        t = first_release.get(s.legs[route.legs[0]].from_, INF)
        out[(rid, 0)] = t
        for i, leg_id in enumerate(route.legs):
            pairs = [q for q in f.pairs if q.leg == leg_id]
            t = min((max(t, q.available_h / 24.0) + (q.load_fixed_h + q.travel_h + q.unload_fixed_h) / 24.0 for q in pairs), default=INF)
            out[(rid, i + 1)] = t
    return out


def _closed_days(s: Scenario, row: Capacity, start: float, end: float) -> float:
    """Days of explicit closure of the resource's node between start and end."""
    if row.kind not in ("parking_spots", "berths", "handling"):
        return 0.0
    return sum(max(0.0, min(end, c.end_day) - max(start, c.start_day)) for c in s.nodes[row.where].closures)


def _open_days(s: Scenario, row: Capacity, start: float, end: float) -> float:
    """Days between start and end, less explicit closures of the resource's node."""
    return max(0.0, end - start - _closed_days(s, row, start, end))


def _explain(r: Capacity, deadline: float) -> str:
    """One sentence on why a resource binds."""
    if r.tonnes_total is not None:
        return (f"{r.resource} must carry {r.demand_t:,.0f} t and lifts {r.tonnes_total:,.0f} t in its one voyage"
                f" (put down from day {r.ready_day:.1f}): the highest load relative to capacity of any resource.")
    return (f"{r.resource} must carry {r.demand_t:,.0f} t at {r.tonnes_per_day:,.0f} t/day: {r.days_needed:.1f} days of work"
            f" from day {r.ready_day:.1f}, {r.load:.0%} of its open time before the day-{deadline:g} deadline,"
            f" the highest load relative to capacity of any resource.")


# --- summary -------------------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def bounds_summary(scenario: Scenario, basis: Basis = "auto") -> dict[str, Any]:
    """Both bounds as a JSON-ready dict (the `bounds` block of summary.json); the same bytes every time.

    classes: per class the fluid LP's most deliverable by the deadline (units, class alone)
    and earliest closure day (None: not within the horizon), and the planning-factor closure
    estimate; planning_factor: resources ascending by tonnes per day; routes; binding and
    explanation.
    """
    fb = fluid_bound(scenario, basis)
    pf = planning_factors(scenario)
    classes = {}
    for c, req in scenario.requirements.items():
        classes[c] = {
            "unit": scenario.cargo[c].unit,
            "target": req.quantity,
            "max_by_deadline": _num(fb.max_by_deadline[c]),
            "earliest_closure_day": _num(fb.earliest_closure_day[c]),
            "planning_factor_closure_day": _num(pf.closure_estimate_day[c]),
        }
    return {
        "fluid": {
            "basis": fb.basis,
            "period_h": fb.period_h,
            "max_tonnes_by_deadline": _num(fb.max_tonnes_by_deadline),
            "earliest_closure_all_day": _num(fb.earliest_closure_all_day),
            "note": ("upper bound on delivered by the deadline and lower bound on closure: no plan can beat them"
                     + (" (best case of every uncertain input)" if fb.basis == "best_case" else " (planned values)")),
        },
        "classes": classes,
        "planning_factor": [
            {
                "resource": r.resource, "kind": r.kind, "where": r.where,
                "tonnes_per_day": round(r.tonnes_per_day, 1),
                "tonnes_per_day_without_0_85": round(r.tonnes_per_day_without_0_85, 1),
                "tonnes_total": round(r.tonnes_total, 1) if r.tonnes_total is not None else None,
                "formula": r.formula,
                "demand_t": round(r.demand_t, 1),
                "ready_day": round(r.ready_day, 2),
                "days_needed": _num(r.days_needed, 2),
                "load": _num(r.load, 3),
            }
            for r in pf.resources
        ],
        "routes": [{"route": r.route, "tonnes_per_day": round(r.tonnes_per_day, 1), "binding": r.binding} for r in pf.routes],
        "binding": pf.binding,
        "explanation": pf.explanation,
    }
