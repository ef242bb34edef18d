"""Invariants on random valid scenarios: conservation, capacity, causality, monotonicity."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.loader import validate_raw
from sim.measure import measure
from sim.model import simulate
from sim.network import Network
from sim.packing import floor_share

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small valid scenario: air then road (or sea then rail), one palletized and one vehicle class."""
    by_sea = draw(st.booleans())
    first, second = ("sea", "rail") if by_sea else ("air", "road")
    nodes = {
        "origin": {"kind": "seaport" if by_sea else "airbase", "lat": 39.0, "lon": -75.0},
        "port": {"kind": "seaport" if by_sea else "airbase", "lat": 50.0, "lon": 20.0},
        "border": {"kind": "border_crossing", "lat": 50.0, "lon": 23.0},
    }
    if by_sea:
        nodes["port"]["berths"] = draw(st.integers(1, 3))
        nodes["origin"]["berths"] = draw(st.integers(1, 3))
    else:
        nodes["port"]["parking_spots"] = draw(st.integers(1, 6))
        nodes["port"]["operating_hours_per_day"] = draw(st.sampled_from([24.0, 16.0, 12.0]))
    if draw(st.booleans()):
        nodes["border"]["throughput_t_per_day"] = draw(st.floats(200, 5000))
    if draw(st.booleans()):
        start = draw(st.floats(0, 10))
        nodes["port"]["closures"] = [{"start_day": start, "end_day": start + draw(st.floats(0.5, 5))}]
    big = {"mode": first, "payload_t": draw(st.floats(20, 200)), "load_time_h": draw(st.floats(0.5, 6)),
           "unload_time_h": draw(st.floats(0.5, 6))}
    if by_sea:
        big.update(speed_kn=draw(st.floats(12, 30)), deck_area_m2=draw(st.floats(500, 5000)))
    else:
        big.update(block_speed_kn=draw(st.floats(300, 500)), pallet_positions=draw(st.integers(6, 36)),
                   daily_flying_hours=draw(st.sampled_from([None, 10.0, 16.0])))
        big = {k: v for k, v in big.items() if v is not None}
    small = {"mode": second, "payload_t": draw(st.floats(20, 60)), "speed_kmh": draw(st.floats(30, 80)),
             "load_time_h": draw(st.floats(0.1, 3)), "unload_time_h": draw(st.floats(0.1, 3))}
    vehicle_weight = draw(st.floats(5, 19))
    raw = {
        "name": "random", "start_date": dt.date(2024, 12, 12),
        "deadline_days": draw(st.floats(3, 20)), "horizon_days": 30,
        "nodes": nodes,
        "legs": {"long": {"from": "origin", "to": "port", "mode": first, "distance_nm": draw(st.floats(300, 4000))},
                 "short": {"from": "port", "to": "border", "mode": second, "distance_km": draw(st.floats(20, 600))}},
        "routes": {"r": {"legs": ["long", "short"]}},
        "carriers": {"big": big, "small": small},
        "cargo": {
            "ammo": {"unit": "rounds", "unit_weight_t": draw(st.floats(0.02, 0.1)), "units_per_pallet": draw(st.integers(10, 60)),
                     "priority": draw(st.integers(1, 3))},
            "vehicle": {"unit": "vehicles", "unit_weight_t": vehicle_weight, "footprint_m2": draw(st.floats(10, 40)),
                        "per_load": {"big": draw(st.integers(1, 3)), "small": 1}, "priority": draw(st.integers(1, 3))},
        },
        "requirements": {
            "ammo": {"quantity": draw(st.integers(1000, 50000)), "routes": ["r"],
                     "release": [{"node": "origin", "start_day": draw(st.floats(0, 3)),
                                  **({"per_day": draw(st.integers(500, 20000))} if draw(st.booleans()) else {})}]},
            "vehicle": {"quantity": draw(st.integers(1, 40)), "routes": ["r"], "release": [{"node": "origin"}]},
        },
        "fleets": {
            "bigs": {"carrier": "big", "legs": ["long"], "count": draw(st.integers(1, 8)),
                     "available_from_day": draw(st.floats(0, 2)), "max_hold_h": draw(st.sampled_from([0.0, 12.0]))},
            "smalls": ({"carrier": "small", "legs": ["short"], "count": draw(st.integers(1, 10))} if draw(st.booleans())
                       else {"carrier": "small", "legs": ["short"], "departures_per_day": draw(st.floats(1, 12))}),
        },
    }
    if draw(st.booleans()):
        raw["uncertainty"] = {
            "travel_time_factor": {first: {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.4}},
            "handling_time_factor": {second: {"dist": "uniform", "low": 0.8, "high": 1.5}},
            "reliability": {"big": {"breakdown_probability": 0.1, "repair_time_h": {"dist": "exponential", "mean": 10},
                                    "breakdown_at": draw(st.sampled_from(["origin", "destination"]))}},
            "weather": {"port": {"daily_closure_probability": 0.2, "closure_duration_h": {"dist": "exponential", "mean": 6}}},
        }
    return raw


@PROPERTY
@given(raw=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_conservation_capacity_and_causality(raw: dict[str, Any], seed: int) -> None:
    scenario = validate_raw(raw)
    record = simulate(scenario, np.random.default_rng(seed), keep_trips=True)
    # conservation at every day boundary and at the end
    assert record.balance
    for t, cls, released, delivered, in_transit, waiting in record.balance:
        assert math.isclose(released, delivered + in_transit + waiting, rel_tol=1e-9, abs_tol=1e-6), (t, cls)
        assert min(delivered, in_transit, waiting) >= -1e-6
        assert released <= scenario.requirements[cls].quantity + 1e-6
    # capacity: facilities never above capacity; every load within weight and floor
    for use in record.facilities:
        assert use.peak_in_use <= use.capacity
    for trip in record.trips or []:
        carrier = scenario.carriers[trip.carrier_type]
        assert trip.tonnes <= carrier.payload_t * (1 + 1e-9)
        floor = sum(q * floor_share(scenario.cargo[c], carrier, trip.carrier_type) for c, q in trip.cargo)
        assert floor <= 1 + 1e-9
        for cls, q in trip.cargo:
            limit = scenario.cargo[cls].per_load.get(trip.carrier_type)
            assert limit is None or q <= limit
            assert q == int(q) or scenario.cargo[cls].divisible
        assert trip.load_start_h <= trip.departure_h <= trip.arrival_h <= trip.unload_end_h
    # causality: nothing delivered before its release plus the shortest transit; curves never decrease
    network = Network(scenario)
    outcome = measure(scenario, record)
    for cls, events in record.deliveries.items():
        if events:
            first_release = min(r.start_day for r in scenario.requirements[cls].release) * 24.0
            if scenario.uncertainty.empty:
                assert events[0][0] >= first_release + network.min_transit_h(cls) - 1e-6
            else:
                assert events[0][0] >= first_release
        assert np.all(np.diff(outcome.cumulative[cls]) >= 0)


@PROPERTY
@given(count=st.integers(1, 12), extra=st.integers(1, 12), spots=st.integers(1, 4), deadline=st.floats(1, 15),
       load=st.floats(0.5, 5), unload=st.floats(0.5, 5), distance=st.floats(200, 3000))
def test_more_aircraft_never_deliver_less_on_a_single_leg_shuttle(count: int, extra: int, spots: int, deadline: float,
                                                                     load: float, unload: float, distance: float) -> None:
    def delivered(n: int) -> float:
        raw = {
            "name": "shuttle", "start_date": dt.date(2024, 12, 12), "deadline_days": deadline, "horizon_days": deadline,
            "nodes": {"a": {"kind": "airbase", "lat": 0, "lon": 0},
                      "b": {"kind": "airbase", "lat": 10, "lon": 10, "parking_spots": spots}},
            "legs": {"ab": {"from": "a", "to": "b", "mode": "air", "distance_nm": distance}},
            "routes": {"r": {"legs": ["ab"]}},
            "carriers": {"plane": {"mode": "air", "payload_t": 50, "block_speed_kn": 450, "load_time_h": load,
                                   "unload_time_h": unload}},
            "cargo": {"stuff": {"unit": "tonnes", "unit_weight_t": 1, "units_per_pallet": 4, "divisible": True}},
            "requirements": {"stuff": {"quantity": 1e7, "routes": ["r"], "release": [{"node": "a"}]}},
            "fleets": {"planes": {"carrier": "plane", "legs": ["ab"], "count": n}},
        }
        scenario = validate_raw(raw)
        return measure(scenario, simulate(scenario, np.random.default_rng(0))).delivered_by_deadline["stuff"]

    assert delivered(count + extra) >= delivered(count) - 1e-9
