"""Refuse runs too large to finish: an upper bound on movements, estimated before anything runs.

Each shuttle carrier can make at most one movement per shortest cycle (load, travel out,
unload, travel back) over the horizon; a scheduled service at most its departures. Their
sum bounds the movements of one replication; the run is refused above `MAX_MOVEMENTS` (a
few minutes per replication on one core) unless forced.

A carrier type that breaks down at the origin loses sorties before departure: each lost
one costs a repair and another try, with no movement. Those tries are work too, and with a
short repair they outnumber the movements by far, so a shuttle is counted at the larger of
its movements and its expected tries: a try every (1 - p) x cycle + p x mean repair hours.
"""

from __future__ import annotations

from sim.errors import UsageError
from sim.network import travel_time_h
from sim.schema import Scenario

MAX_MOVEMENTS = 1_000_000  # per replication; about 20 s of simulation per 100,000 on this project's machines
MIN_CYCLE_H = 1e-3


def movement_bound(scenario: Scenario) -> dict[str, float]:
    """Most movements each fleet could make over the horizon (an upper bound), sortie attempts lost to breakdowns included."""
    horizon_h = scenario.horizon * 24.0
    out = {}
    for fleet_id, fleet in scenario.fleets.items():
        active_h = max(0.0, horizon_h - fleet.available_from_day * 24.0)
        if fleet.departures_per_day is not None:
            out[fleet_id] = fleet.departures_per_day * active_h / 24.0
            continue
        carrier = scenario.carriers[fleet.carrier]
        cycle = min(2 * travel_time_h(scenario, leg, fleet.carrier) + (carrier.load_time_h or 0.0) + (carrier.unload_time_h or 0.0)
                    for leg in fleet.legs)
        tries = _tries(scenario, fleet.carrier, cycle, active_h, fleet.cycling)
        if fleet.cycling:
            per_carrier = max(active_h / max(cycle, MIN_CYCLE_H), tries) + 1
        else:
            per_carrier = max(tries, 1.0)
        out[fleet_id] = (fleet.count or 0) * per_carrier
    return out


def _tries(scenario: Scenario, carrier_type: str, cycle_h: float, active_h: float, cycling: bool) -> float:
    """Expected sortie attempts of one carrier over `active_h` when sorties are lost to breakdowns at the origin.

    A carrier that makes one voyage only (not cycling) stops trying once a sortie gets away: 1 / (1 - p) tries.
    """
    rel = scenario.uncertainty.reliability.get(carrier_type)
    if rel is None or rel.breakdown_at != "origin" or rel.breakdown_probability == 0 or rel.repair_time_h is None:
        return 0.0
    p = rel.breakdown_probability
    over_horizon = active_h / max((1 - p) * cycle_h + p * rel.repair_time_h.mean, MIN_CYCLE_H)
    return over_horizon if cycling or p >= 1 else min(over_horizon, 1 / (1 - p))


def check_size(scenario: Scenario, replications: int, force: bool) -> None:
    """Raise `UsageError` with the estimate if one replication could exceed `MAX_MOVEMENTS` (unless `force`)."""
    bounds = movement_bound(scenario)
    total = sum(bounds.values())
    if total <= MAX_MOVEMENTS or force:
        return
    biggest = sorted(bounds.items(), key=lambda kv: -kv[1])[:3]
    detail = ", ".join(f"{fleet} up to {n:,.0f}" for fleet, n in biggest)
    raise UsageError(
        f"scenario {scenario.name} is too large to run: up to {total:,.0f} movements per replication "
        f"(x {replications:,} replications) over a {scenario.horizon:g}-day horizon ({detail}); the limit is "
        f"{MAX_MOVEMENTS:,}. Shorten horizon_days, use fewer or bigger carriers, or pass --force to run it anyway.")
