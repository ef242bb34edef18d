"""The scenario seen as a transport network: leg distances and times, where each class may go next.

Pure functions of the scenario, shared by the simulation and by the bounds; no SimPy here.

Cargo waiting at a node is keyed by (class, tag). The tag is "*" for a class without
route shares: such cargo may take the next leg of any of its routes through that node.
With route shares the tag is the route id, and cargo keeps to that route.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from sim.schema import Mode, Scenario

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM_PER_NM = 1.852
ANY_ROUTE = "*"


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def leg_distance_km(scenario: Scenario, leg_id: str) -> float:
    """Distance of a leg in km: as given, or great circle x routing factor for air legs."""
    leg = scenario.legs[leg_id]
    if leg.distance_km is not None:
        return leg.distance_km
    if leg.distance_nm is not None:
        return leg.distance_nm * KM_PER_NM
    a, b = scenario.nodes[leg.from_], scenario.nodes[leg.to]
    return great_circle_km(a.lat, a.lon, b.lat, b.lon) * leg.routing_factor


def travel_time_h(scenario: Scenario, leg_id: str, carrier_id: str) -> float:
    """Hours a carrier type takes over a leg at its block or cruise speed."""
    return leg_distance_km(scenario, leg_id) / scenario.carriers[carrier_id].speed_kmh_equivalent()


@dataclass(frozen=True)
class Network:
    """Routing facts derived once from a scenario."""

    scenario: Scenario

    @cached_property
    def tags(self) -> dict[str, tuple[str, ...]]:
        """Routing tags each class's cargo can carry ("*" or the ids of routes with a share)."""
        out = {}
        for cls, req in self.scenario.requirements.items():
            if req.route_shares:
                out[cls] = tuple(r for r in req.routes if req.route_shares.get(r, 0) > 0)
            else:
                out[cls] = (ANY_ROUTE,)
        return out

    @cached_property
    def next_legs(self) -> dict[tuple[str, str], dict[str, tuple[str, ...]]]:
        """(class, tag) -> node -> legs that cargo at that node may take next."""
        s = self.scenario
        out: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
        for cls, req in s.requirements.items():
            for tag in self.tags[cls]:
                routes = req.routes if tag == ANY_ROUTE else (tag,)
                by_node: dict[str, list[str]] = {}
                for r in routes:
                    for leg_id in s.routes[r].legs:
                        legs = by_node.setdefault(s.legs[leg_id].from_, [])
                        if leg_id not in legs:
                            legs.append(leg_id)
                out[(cls, tag)] = {n: tuple(v) for n, v in by_node.items()}
        return out

    @cached_property
    def hand_over(self) -> dict[str, frozenset[str]]:
        """Class -> nodes where its cargo counts as delivered (the last node of each of its routes)."""
        s = self.scenario
        return {cls: frozenset(s.legs[s.routes[r].legs[-1]].to for r in req.routes) for cls, req in s.requirements.items()}

    @cached_property
    def land_arrivals(self) -> frozenset[str]:
        """Nodes that some rail or road leg ends at (their throughput limits unloading there)."""
        return frozenset(leg.to for leg in self.scenario.legs.values() if leg.mode in (Mode.rail, Mode.road))

    def min_transit_h(self, cls: str) -> float:
        """Shortest possible door-to-door time of a class over its routes, counting travel and handling."""
        s = self.scenario
        best = math.inf
        for r in s.requirements[cls].routes:
            total = 0.0
            for leg_id in s.routes[r].legs:
                carriers = {f.carrier for f in s.fleets.values() if leg_id in f.legs and f.count != 0}
                total += min((travel_time_h(s, leg_id, c) + (s.carriers[c].load_time_h or 0) + (s.carriers[c].unload_time_h or 0)
                              for c in carriers), default=math.inf)
            best = min(best, total)
        return best


def release_schedule(scenario: Scenario, network: Network, cls: str, delay_days: float = 0.0,
                     daily_factor: Callable[[], float] | None = None) -> list[tuple[float, str, str, float]]:
    """(time h, node, tag, quantity) of every release of a class within the horizon, split by route share.

    `delay_days` shifts every release; `daily_factor` (if given) multiplies each daily
    batch of a per-day schedule, which then runs on until its quantity is out. Whole-unit
    classes are split between routes by largest remainder so that every release stays a
    whole number and the shares add up exactly.
    """
    req = scenario.requirements[cls]
    divisible = scenario.cargo[cls].divisible
    last_day = scenario.horizon
    events: list[tuple[float, str, str, float]] = []
    for rel, qty in zip(req.release, req.release_quantities()):
        batches: list[tuple[float, float]] = []
        first = rel.start_day + delay_days
        if rel.per_day is None:
            batches.append((first * 24.0, qty))
        else:
            left, day = qty, first
            while left > 1e-9 and day <= last_day:
                size = rel.per_day * (daily_factor() if daily_factor is not None else 1.0)
                take = min(size if divisible else math.floor(size + 1e-9), left)
                if take > 0:
                    batches.append((day * 24.0, take))
                left -= take
                day += 1
        for t, amount in batches:
            if t > last_day * 24.0:
                continue
            for tag, part in _split(amount, req.route_shares, network.tags[cls], divisible):
                if part > 0:
                    events.append((t, rel.node, tag, part))
    return sorted(events, key=lambda e: (e[0], e[1], e[2]))


def _split(amount: float, shares: dict[str, float] | None, tags: tuple[str, ...], divisible: bool) -> list[tuple[str, float]]:
    if not shares:
        return [(ANY_ROUTE, amount)]
    raw = [(tag, amount * shares[tag]) for tag in tags]
    if divisible:
        return raw
    floors = [(tag, math.floor(x + 1e-9)) for tag, x in raw]
    short = int(round(amount - sum(f for _, f in floors)))
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i][1] - floors[i][1]), i))
    parts = dict(floors)
    for i in order[:short]:
        parts[raw[i][0]] += 1
    return [(tag, float(parts[tag])) for tag in tags]
