"""Planning factors: the hand methods of the field, one capacity in tonnes per day per resource.

Fleets (carriers x payload per cycle, within the daily flying-hour budget), scheduled services
(departures x payload), airfields (AFPAM 10-1403 formula 9.0, with and without its 0.85 queueing
efficiency), berths and land handling; per route the smallest capacity along it binds. These are
estimates at planned values, not bounds: the 0.85 makes them pessimistic and the steady-state rate
ignores start-up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sim.bounds.facts import INF, Facts, Inputs, Pair
from sim.schema import Scenario

AFPAM_QUEUEING_EFFICIENCY = 0.85  # AFPAM 10-1403 formula 9.0


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


