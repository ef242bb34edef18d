"""The physical rules of the network, written once for the simulation and for both bounds.

Which facility a mode uses, when a node is closed, how long loading or unloading takes
(a carrier's own time, or a vessel's time from the port's handling rate), where land
handling applies, and how long a leg takes. Units: hours, tonnes, tonnes per day. This
module knows nothing of SimPy, so the bounds (`sim.bounds`) can use it as the model does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

from sim.network import travel_time_h
from sim.schema import CarrierType, Mode, Node

LAND_MODES = (Mode.rail, Mode.road)
FacilityKind = Literal["parking_spots", "berths"]

__all__ = ["LAND_MODES", "FacilityKind", "closed_intervals", "facility_kind", "uses_land_handling",
           "port_rate_t_per_day", "own_time_h", "travel_time_h"]


def closed_intervals(node: Node, horizon_h: float, extra_h: Iterable[tuple[float, float]] = ()) -> list[tuple[float, float]]:
    """Merged closed periods [start, end) of a node in hours, in time order.

    Outside its daily operating hours (when under 24), its explicit closures, and any `extra_h`
    closures (the simulation's random weather; the bounds pass none: the best case).
    """
    closed = [(c.start_day * 24.0, c.end_day * 24.0) for c in node.closures]
    closed += list(extra_h)
    if node.operating_hours_per_day < 24:
        for day in range(-1, int(math.ceil(horizon_h / 24.0)) + 2):
            start = day * 24.0 + node.opens_at_h + node.operating_hours_per_day
            closed.append((start, day * 24.0 + node.opens_at_h + 24.0))
    merged: list[list[float]] = []
    for a, b in sorted(x for x in closed if x[1] > x[0]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def facility_kind(mode: Mode) -> FacilityKind | None:
    """The node facility a shuttle of this mode holds while it loads or unloads (scheduled services hold none)."""
    if mode is Mode.air:
        return "parking_spots"
    if mode is Mode.sea:
        return "berths"
    return None


def uses_land_handling(mode: Mode, node: Node, land_arrival: bool, loading: bool) -> bool:
    """Whether a land carrier's load or unload here passes the node's land handling (its throughput limit).

    Land handling works the land side of a node: loading where cargo leaves it by land, and
    unloading where cargo arrives by land (`land_arrival`: a land leg ends at the node).
    """
    return mode in LAND_MODES and node.throughput_t_per_day is not None and land_arrival != loading


def port_rate_t_per_day(carrier: CarrierType, node: Node, loading: bool) -> float | None:
    """The port's rate that sets a vessel's berth time here, or None when the carrier's own time applies."""
    own = carrier.load_time_h if loading else carrier.unload_time_h
    if carrier.mode is Mode.sea and own is None:
        return node.handling_rate_t_per_day
    return None


def own_time_h(carrier: CarrierType, node: Node, loading: bool, tonnes: float) -> float:
    """Planned hours of one load or unload of `tonnes` (before random variation): the carrier's time, or the port rate's."""
    own = carrier.load_time_h if loading else carrier.unload_time_h
    if carrier.mode is Mode.sea and own is None:
        rate = node.handling_rate_t_per_day
        assert rate is not None, "checks.check_movable: a port without a rate needs vessel load/unload times"
        return tonnes / rate * 24.0
    return float(own or 0.0)
