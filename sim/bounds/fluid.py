"""The fluid bound: a time-expanded linear program in which every real run of the simulation is a feasible
solution, so its optimum is an upper bound on what any plan can deliver by the deadline and its
closure day a lower bound on any plan's closure. The formulation and the argument for its validity
are in the docstring of `_FluidModel`.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from sim.bounds.facts import INF, ROUNDING, Basis, Facts, Inputs, Pair, Use, choose_period_h, coarser, cut, overlap_after
from sim.measure import MET_TOLERANCE
from sim.schema import Scenario

CLOSED_TOLERANCE = 2 * MET_TOLERANCE  # a class counts as closable when the LP delivers all but this share
# HiGHS meets constraints to about 1e-7 in absolute terms, so a class weighing grams in all can come
# back as zero: every LP figure is loosened by this many tonnes (one gram), which keeps it a bound.
SOLVER_SLACK_T = 1e-6


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
            d = cut(pair.take_to_put_h, f.period_h)
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
        for pairs in by_fleet.values():
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
                self._bucket(supply, k_cap, k0, lambda p, pairs=pairs: self._cycle_use(pairs, p))
                hours = p0.flying_hours
                if hours is not None:
                    longest = max(q.travel_h for q in pairs)
                    supply_f = n * hours / 24.0 * overlap_after(p0.available_h, ph, P)
                    self._bucket(supply_f, n * (max(hours, longest) + 2 * longest), n * (max(hours, longest) + longest),
                                 lambda p, pairs=pairs: ([int(self.L[q.index][p]) for q in pairs], [2 * q.travel_h for q in pairs]))
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
            needs.append((need, cut(q.travel_h + q.unload_fixed_h, ph)))
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
    coarse = facts if len(classes) == 1 else Facts(scenario, inputs, coarser(facts.period_h))
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


