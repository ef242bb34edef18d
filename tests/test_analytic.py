"""The simulator against results worked out by hand from the inputs.

Every expected value is computed in the test from the scenario's numbers: shuttle
cycle times, flying-hour budgets, airfield and border throughput, voyage times,
conservation of cargo, great-circle distances and release splits.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.loader import load_scenario
from sim.measure import measure
from sim.network import Network, great_circle_km, leg_distance_km, release_schedule, travel_time_h
from sim.output import TMP_PREFIX
from sim.report import FIGURES
from sim.runner import run

from conftest import KM_PER_NM, assert_conserved, build, delivered_between, scenario_raw, simulate_raw, write_toml

REPO = Path(__file__).resolve().parent.parent


def _count_by(deadline_h: float, first_h: float, cycle_h: float) -> int:
    """Deliveries at first_h, first_h + cycle_h, ... that happen at or before deadline_h."""
    if deadline_h < first_h:
        return 0
    return math.floor((deadline_h - first_h) / cycle_h) + 1


def _not_on_boundary(deadline_h: float, first_h: float, cycle_h: float) -> None:
    """Guard of the test design: the deadline must not fall on a delivery, where float rounding decides."""
    frac = ((deadline_h - first_h) / cycle_h) % 1.0
    assert 1e-6 < frac < 1 - 1e-6, "choose a deadline that does not coincide with a delivery"


# --- (a) one aircraft shuttling on one leg -------------------------------------------------------


@pytest.mark.parametrize(
    "distance_nm, speed_kn, load_h, unload_h, deadline_days, payload_t, units_per_pallet, positions",
    [
        (1000, 500, 2, 3, 10, 50, 5, 10),  # weight-limited: 50 t a load, 9 h cycle
        (3900, 450, 3.25, 2.75, 12.5, 77.5, 18, 18),  # C-17-like: 8.67 h each way, 77.5 t a load
        (1500, 400, 1, 1, 7, 60, 2, 10),  # floor-limited: 10 pallets x 2 t = 20 t a load
    ],
)
def test_single_aircraft_shuttle_delivers_cycle_count_times_load(distance_nm, speed_kn, load_h, unload_h,
                                                                  deadline_days, payload_t, units_per_pallet, positions):
    raw = scenario_raw({
        "deadline_days": deadline_days, "horizon_days": deadline_days + 1,
        "legs": {"ab": {"distance_nm": distance_nm}},
        "carriers": {"plane": {"payload_t": payload_t, "block_speed_kn": speed_kn, "load_time_h": load_h,
                               "unload_time_h": unload_h, "pallet_positions": positions}},
        "cargo": {"stuff": {"units_per_pallet": units_per_pallet}},
    })
    flight_h = distance_nm / speed_kn
    cycle_h = load_h + flight_h + unload_h + flight_h
    first_h = load_h + flight_h + unload_h
    per_load = min(payload_t, units_per_pallet * positions)  # 1 t units: weight or pallet positions
    deadline_h = deadline_days * 24
    _not_on_boundary(deadline_h, first_h, cycle_h)
    expected_n = _count_by(deadline_h, first_h, cycle_h)

    scenario, record = simulate_raw(raw)
    outcome = measure(scenario, record)

    assert outcome.delivered_by_deadline["stuff"] == pytest.approx(expected_n * per_load, rel=1e-9)
    times = [t for t, _ in record.deliveries["stuff"]]
    expected_times = [first_h + k * cycle_h for k in range(len(times))]
    assert times == pytest.approx(expected_times, rel=1e-9)
    assert all(q == pytest.approx(per_load) for _, q in record.deliveries["stuff"])
    # the run covers the horizon: every cycle that ends within it is there
    assert len(times) == _count_by(record.horizon_h, first_h, cycle_h)
    assert outcome.movements == {"plane": len(times)}


def test_shuttle_closes_a_finite_requirement_on_the_last_load():
    loads = 7
    raw = scenario_raw({"requirements": {"stuff": {"quantity": 50 * loads}}})
    scenario, record = simulate_raw(raw)
    outcome = measure(scenario, record)
    flight_h = 2.0
    cycle_h = 2 + flight_h + 3 + flight_h
    closure_h = (loads - 1) * cycle_h + 2 + flight_h + 3
    assert outcome.closure_day["stuff"] == pytest.approx(closure_h / 24)
    assert outcome.met["stuff"] is True
    assert record.end_h == pytest.approx(closure_h)  # the run stops once all is delivered
    assert record.delivered["stuff"] == pytest.approx(50 * loads)


def test_shuttle_that_cannot_finish_reports_no_closure():
    raw = scenario_raw({"deadline_days": 2, "horizon_days": 3, "requirements": {"stuff": {"quantity": 10_000}}})
    scenario, record = simulate_raw(raw)
    outcome = measure(scenario, record)
    assert math.isinf(outcome.closure_day["stuff"])
    assert outcome.met["stuff"] is False
    assert outcome.delivered_by_deadline["stuff"] == pytest.approx(50 * _count_by(48, 7, 9))


def _flying_hours_raw(flight_h: float, limit: float | None, days: float, load_h: float = 1, unload_h: float = 1):
    carrier = {"load_time_h": load_h, "unload_time_h": unload_h}
    if limit is not None:
        carrier["daily_flying_hours"] = limit
    return scenario_raw({
        "deadline_days": days, "horizon_days": days,
        "legs": {"ab": {"distance_nm": 500 * flight_h}},
        "carriers": {"plane": carrier},
    })


@pytest.mark.parametrize("flight_h, limit", [(3, 9), (4, 8), (2.5, 6), (10, 8)])
def test_daily_flying_hours_limit_round_trips_per_day(flight_h, limit):
    load_h = unload_h = 1
    assert load_h + unload_h + 2 * flight_h < 24 * 2 * flight_h / limit, "the limit must bind in this test"
    days = 30
    scenario, record = simulate_raw(_flying_hours_raw(flight_h, limit, days, load_h, unload_h))
    payload = 50
    trips_per_day = limit / (2 * flight_h)
    # long run, after the banked first day is spent: the budget accrues limit/24 per hour
    t0, t1 = 5 * 24, 25 * 24
    window = delivered_between(record, "stuff", t0, t1)
    assert window == pytest.approx(trips_per_day * (t1 - t0) / 24 * payload, abs=payload)
    # never more flying than the banked day plus what accrued: the n-th delivery needs 2n-1 flights
    for n, trip in enumerate(sorted(record.trips, key=lambda t: t.departure_h), start=1):
        assert (2 * n - 1) * flight_h <= limit * (1 + trip.departure_h / 24) + max(0.0, flight_h - limit) + 1e-9
    # and the whole run stays within one load of the budget's long-run rate plus the banked day
    total_expected = trips_per_day * (days + 1) * payload
    assert record.delivered["stuff"] <= total_expected + payload
    assert record.delivered["stuff"] >= trips_per_day * days * payload - payload


@pytest.mark.parametrize("limit", [24, 12])
def test_daily_flying_hours_that_do_not_bind_change_nothing(limit):
    # 2 h each way in a 9 h cycle uses 4 h of flying per 9 h: 10.7 h a day, under both limits
    _, free = simulate_raw(_flying_hours_raw(2, None, 10, 2, 3))
    _, limited = simulate_raw(_flying_hours_raw(2, limit, 10, 2, 3))
    assert len(free.deliveries["stuff"]) == _count_by(240, 7, 9)
    assert len(limited.deliveries["stuff"]) == len(free.deliveries["stuff"])
    for (t_limited, q_limited), (t_free, q_free) in zip(limited.deliveries["stuff"], free.deliveries["stuff"]):
        assert t_limited == pytest.approx(t_free) and q_limited == pytest.approx(q_free)


# --- (b) airfield throughput with unlimited aircraft ---------------------------------------------


@pytest.mark.parametrize("spots, operating_h", [(1, 24), (2, 24), (1, 12), (2, 12), (3, 18)])
def test_destination_parking_spots_limit_airfield_throughput(spots, operating_h):
    unload_h, payload = 3.0, 50
    raw = scenario_raw({
        "deadline_days": 8, "horizon_days": 8,
        "nodes": {"b": {"parking_spots": spots, "operating_hours_per_day": operating_h}},
        "legs": {"ab": {"distance_nm": 1250}},  # 2.5 h: the first aircraft lands at 3.5 h, off the window edges
        "carriers": {"plane": {"load_time_h": 1, "unload_time_h": unload_h}},
        "fleets": {"planes": {"count": 200}},
    })
    scenario, record = simulate_raw(raw, keep_trips=False)
    per_day = spots * (operating_h / unload_h) * payload
    t0, t1 = 2 * 24, 7 * 24
    assert delivered_between(record, "stuff", t0, t1) == pytest.approx(per_day * (t1 - t0) / 24, abs=1e-6)
    # the spots, not the aircraft, are the bottleneck: the rest queue
    spots_use = next(f for f in record.facilities if f.node == "b" and f.kind == "parking_spots")
    assert spots_use.capacity == spots
    assert spots_use.wait_h > 0


def test_origin_parking_spots_limit_throughput_too():
    # one spot at the origin, 2 h to load: 12 loads a day leave, and all arrive (destination unconstrained)
    raw = scenario_raw({
        "deadline_days": 8, "horizon_days": 8,
        "nodes": {"a": {"parking_spots": 1}},
        "legs": {"ab": {"distance_nm": 1250}},
        "carriers": {"plane": {"load_time_h": 2, "unload_time_h": 1}},
        "fleets": {"planes": {"count": 50}},
    })
    _, record = simulate_raw(raw, keep_trips=False)
    # deliveries at 2k + 2.5 + 1 h, k = 1, 2, ...: 12 a day
    assert delivered_between(record, "stuff", 48, 168) == pytest.approx(12 * 5 * 50)


def test_resource_use_of_one_shuttle_is_its_ground_time_share():
    # parking spots at both ends; the run is cut by the 240 h horizon
    raw = scenario_raw({"nodes": {"a": {"parking_spots": 1}, "b": {"parking_spots": 1}},
                        "deadline_days": 10, "horizon_days": 10})
    scenario, record = simulate_raw(raw)
    end = 240.0
    # origin spot busy loading [9k, 9k + 2]: k = 0..26 (the last ends at 236 h)
    origin_busy = sum(min(end, 9 * k + 2) - 9 * k for k in range(27))
    # destination spot busy unloading [4 + 9k, 7 + 9k]: k = 0..26 (the last is cut at 240 h)
    far_busy = sum(min(end, 7 + 9 * k) - (4 + 9 * k) for k in range(27))
    use = {f.node: f for f in record.facilities}
    assert use["a"].busy_h == pytest.approx(origin_busy)
    assert use["b"].busy_h == pytest.approx(far_busy)
    assert use["a"].wait_h == 0 and use["b"].wait_h == 0
    assert sum(use["b"].daily_busy_h) == pytest.approx(far_busy)
    resources = {r.where: r for r in measure(scenario, record).resources}
    assert resources["b"].utilization == pytest.approx(far_busy / end)
    assert resources["planes"].utilization == pytest.approx(1.0)  # always loading, flying or unloading


@pytest.mark.parametrize("count, spots", [(1, None), (5, 1), (40, 2)])
def test_fleet_time_adds_up_to_carriers_times_run_length(count, spots):
    overrides = {"fleets": {"planes": {"count": count}}, "deadline_days": 5, "horizon_days": 5,
                 "requirements": {"stuff": {"quantity": 1_000_000}}}
    if spots is not None:
        overrides["nodes"] = {"b": {"parking_spots": spots}}
    _, record = simulate_raw(scenario_raw(overrides), keep_trips=False)
    (fleet,) = record.fleets
    assert fleet.working_h + fleet.idle_h + fleet.queue_h == pytest.approx(count * record.end_h)


@pytest.mark.parametrize("quantity", [1_000, 1_000_000], ids=["all-delivered", "cut-by-horizon"])
def test_queueing_for_the_only_constrained_resource_is_the_fleets_queueing(quantity):
    """The only thing aircraft queue for is the destination's 2 spots: their queue hours and the spots' must agree,
    also for aircraft still in the queue when the horizon cuts the run."""
    raw = scenario_raw({"fleets": {"planes": {"count": 40}}, "deadline_days": 5, "horizon_days": 5,
                        "nodes": {"b": {"parking_spots": 2}}, "requirements": {"stuff": {"quantity": quantity}}})
    _, record = simulate_raw(raw, keep_trips=False)
    (fleet,) = record.fleets
    spots = next(f for f in record.facilities if f.node == "b")
    assert fleet.queue_h > 0
    assert spots.wait_h == pytest.approx(fleet.queue_h)


def test_a_run_without_uncertainty_is_deterministic():
    raw = scenario_raw({"fleets": {"planes": {"count": 7}}, "nodes": {"b": {"parking_spots": 2}}})
    _, first = simulate_raw(raw, seed=1)
    _, second = simulate_raw(raw, seed=2)
    assert first.deliveries == second.deliveries
    assert first.trips == second.trips


def test_class_restricted_to_one_carrier_type_goes_only_on_it():
    raw = scenario_raw({
        "deadline_days": 2, "horizon_days": 2,
        "carriers": {"big": {"mode": "air", "payload_t": 100, "pallet_positions": 36, "block_speed_kn": 400,
                             "load_time_h": 2, "unload_time_h": 2}},
        "cargo": {"oversize": {"unit": "pallets", "unit_weight_t": 5, "units_per_pallet": 1, "carriers": ["big"],
                               "priority": 1}},
        "requirements": {"oversize": {"quantity": 50, "routes": ["r"], "release": [{"node": "a"}]}},
        "fleets": {"bigs": {"carrier": "big", "count": 1, "legs": ["ab"]}},
    })
    _, record = simulate_raw(raw)
    for trip in record.trips:
        if "oversize" in dict(trip.cargo):
            assert trip.carrier_type == "big"
    assert sum(dict(t.cargo).get("oversize", 0) for t in record.trips) == 50


# --- land hand-over: border throughput -----------------------------------------------------------


def _road_raw(**overrides):
    """The base scenario with the air leg made a road leg and the aircraft replaced by trucks."""
    raw = scenario_raw(overrides)
    raw["legs"]["ab"] = {"from": "a", "to": "b", "mode": "road", "distance_km": 250}
    raw["carriers"] = {"truck": {"mode": "road", "payload_t": 20, "speed_kmh": 50, "load_time_h": 0.5, "unload_time_h": 0.5}}
    raw["fleets"] = {"trucks": {"carrier": "truck", "count": 100, "legs": ["ab"]}}
    return raw


def test_border_throughput_limits_road_deliveries():
    throughput = 480.0  # t/day; each truck's 20 t take 20/(480/24) = 1 h of border handling
    raw = _road_raw(deadline_days=8, horizon_days=8,
                    nodes={"b": {"kind": "border_crossing", "throughput_t_per_day": throughput}})
    _, record = simulate_raw(raw, keep_trips=False)
    # first arrivals at 0.5 + 5 = 5.5 h, then one truck an hour: the throughput per day, whatever the fleet
    assert delivered_between(record, "stuff", 48.25, 168.25) == pytest.approx(throughput * 5)
    handling = next(f for f in record.facilities if f.kind == "handling")
    assert handling.node == "b" and handling.wait_h > 0


def test_road_without_border_limit_is_fleet_limited():
    # 100 trucks, 0.5 + 5 + 0.5 + 5 = 11 h cycle, 20 t each: 100 x 20 t every 11 h
    raw = _road_raw(deadline_days=3, horizon_days=3)
    _, record = simulate_raw(raw, keep_trips=False)
    assert [t for t, _ in record.deliveries["stuff"]][:1] == [pytest.approx(6.0)]
    assert delivered_between(record, "stuff", 0, 72) == pytest.approx(100 * 20 * _count_by(72, 6, 11))


def test_origin_land_throughput_limits_loading():
    # the railhead/depot at the origin handles 480 t a day: one 20 t truck loaded an hour
    raw = _road_raw(deadline_days=8, horizon_days=8, nodes={"a": {"throughput_t_per_day": 480.0}})
    _, record = simulate_raw(raw, keep_trips=False)
    # truck k leaves the handling slot at k h (k = 1, 2, ...), arrives 5 h later and unloads in 0.5 h
    assert delivered_between(record, "stuff", 48.25, 168.25) == pytest.approx(480.0 * 5)


def test_scheduled_service_departs_on_the_timetable():
    raw = _road_raw(deadline_days=3, horizon_days=3, requirements={"stuff": {"quantity": 100_000}})
    raw["fleets"] = {"convoys": {"carrier": "truck", "departures_per_day": 4, "legs": ["ab"], "available_from_day": 0.25}}
    _, record = simulate_raw(raw)
    # departures at 6 h, 12 h, ...; each takes 20 t, loads 0.5 h, drives 5 h, unloads 0.5 h
    first = 6 + 0.5 + 5 + 0.5
    times = [t for t, _ in record.deliveries["stuff"]]
    assert times == pytest.approx([first + 6 * k for k in range(_count_by(72, first, 6))])
    assert all(q == pytest.approx(20) for _, q in record.deliveries["stuff"])


def test_fleet_available_later_starts_later():
    raw = scenario_raw({"fleets": {"planes": {"available_from_day": 1.5}}, "deadline_days": 4, "horizon_days": 4})
    _, record = simulate_raw(raw)
    first = 36 + 7
    assert [t for t, _ in record.deliveries["stuff"]] == pytest.approx(
        [first + 9 * k for k in range(_count_by(96, first, 9))])


def test_released_later_moves_later():
    raw = scenario_raw({"deadline_days": 4, "horizon_days": 4,
                        "requirements": {"stuff": {"quantity": 120, "release": [{"node": "a", "start_day": 2}]}}})
    _, record = simulate_raw(raw)
    # 120 t at 48 h: loads of 50, 50, 20 t
    assert record.deliveries["stuff"] == [(pytest.approx(48 + 7 + 9 * k), pytest.approx(q)) for k, q in enumerate((50, 50, 20))]


def test_transshipment_air_then_road():
    # each 50 t plane load lands at b and is unloaded by 7 + 9k h; two 25 t trucks take it on the same hour:
    # load 1 h, 300 km at 60 km/h = 5 h, unload 1 h
    raw = scenario_raw({
        "deadline_days": 3, "horizon_days": 3,
        "nodes": {"c": {"kind": "border_crossing", "lat": 50.0, "lon": 23.0}},
        "legs": {"bc": {"from": "b", "to": "c", "mode": "road", "distance_km": 300}},
        "routes": {"r": {"legs": ["ab", "bc"]}},
        "carriers": {"truck": {"mode": "road", "payload_t": 25, "speed_kmh": 60, "load_time_h": 1, "unload_time_h": 1}},
        "fleets": {"trucks": {"carrier": "truck", "count": 10, "legs": ["bc"]}},
    })
    _, record = simulate_raw(raw)
    n = _count_by(72, 7 + 7, 9)
    times = [t for t, _ in record.deliveries["stuff"]]
    assert times == pytest.approx([7 + 7 + 9 * k for k in range(n) for _ in range(2)])
    assert record.delivered["stuff"] == pytest.approx(50 * n)


def _holding_raw(payload_t, max_hold_h, load_h=24.0):
    raw = _sealift_raw(load_time_h=load_h, unload_time_h=36)
    raw["carriers"]["ship"]["payload_t"] = payload_t
    raw["requirements"]["stuff"] = {"quantity": 8_000, "routes": ["r"], "release": [{"node": "a", "per_day": 1_000}]}
    raw["fleets"]["ships"]["max_hold_h"] = max_hold_h
    raw["nodes"]["a"]["berths"] = 1
    return raw


# Loading goes on while the vessel holds for more cargo: it leaves at the later of the end of the hold
# and load start + load time (the hold's open hours count as loading).


def test_vessel_holds_its_berth_for_more_cargo_up_to_max_hold():
    _, record = simulate_raw(_holding_raw(10_000, 90))
    # 1,000 t at 0, 24, 48 and 72 h are aboard when the hold ends at 90 h; the last 1,000 t (a quarter of
    # the load) still needs a quarter of the 24 h loading: 6 h. Then 240 h at sea, 36 h discharge
    assert record.deliveries["stuff"] == [(pytest.approx(90 + 24 / 4 + 240 + 36), pytest.approx(4_000))]


def test_vessel_sails_as_soon_as_it_is_nearly_full():
    _, record = simulate_raw(_holding_raw(3_000, 200))
    # full (3,000 t) with the 48 h release, well before the 200 h hold ends; that last third of the
    # load takes a third of the 24 h loading (8 h) before sailing
    assert record.deliveries["stuff"] == [(pytest.approx(48 + 24 / 3 + 240 + 36), pytest.approx(3_000))]


def test_a_short_hold_does_not_shorten_loading():
    _, record = simulate_raw(_holding_raw(10_000, 10))
    # nothing more arrives in the 10 h hold; loading still takes its 24 h from the start
    assert record.deliveries["stuff"] == [(pytest.approx(max(10, 24) + 240 + 36), pytest.approx(1_000))]


def test_without_a_hold_a_vessel_sails_with_what_waits():
    _, record = simulate_raw(_holding_raw(10_000, 0))
    assert record.deliveries["stuff"] == [(pytest.approx(24 + 240 + 36), pytest.approx(1_000))]


@pytest.mark.parametrize("berths", [1, 2])
def test_destination_berths_limit_port_throughput(berths):
    raw = _sealift_raw(load_time_h=6, unload_time_h=16)
    raw["legs"]["ab"]["distance_nm"] = 15 * 10.5  # 10.5 h at sea: first arrival at 16.5 h
    raw["nodes"]["b"]["berths"] = berths
    raw["requirements"]["stuff"]["quantity"] = 10_000_000
    raw["fleets"]["ships"].update(count=30, cycling=True)
    raw["deadline_days"] = raw["horizon_days"] = 12
    _, record = simulate_raw(raw, keep_trips=False)
    # discharges end at 16.5 + 16 k h: berths x 1.5 ships a day, 10,000 t each
    t0, t1 = 4 * 24, 10 * 24
    assert delivered_between(record, "stuff", t0, t1) == pytest.approx(berths * 24 / 16 * 6 * 10_000)


# --- (c) one vessel -----------------------------------------------------------------------------


def _sealift_raw(**vessel):
    raw = scenario_raw({
        "deadline_days": 30, "horizon_days": 30,
        "nodes": {"a": {"kind": "seaport"}, "b": {"kind": "seaport"}},
        "legs": {"ab": {"mode": "sea", "distance_nm": 3600}},
        "carriers": {"ship": {"mode": "sea", "payload_t": 10_000, "deck_area_m2": 20_000, "speed_kn": 15, **vessel}},
        "requirements": {"stuff": {"quantity": 5_000}},
        "fleets": {"ships": {"carrier": "ship", "count": 1, "legs": ["ab"], "cycling": False}},
    })
    del raw["carriers"]["plane"]
    del raw["fleets"]["planes"]
    return raw


def test_vessel_arrives_after_load_voyage_and_discharge():
    load_h, unload_h = 24.0, 36.0
    _, record = simulate_raw(_sealift_raw(load_time_h=load_h, unload_time_h=unload_h))
    voyage_h = 3600 / 15
    assert record.deliveries["stuff"] == [(pytest.approx(load_h + voyage_h + unload_h), pytest.approx(5_000))]
    (trip,) = record.trips
    assert trip.departure_h == pytest.approx(load_h)
    assert trip.arrival_h == pytest.approx(load_h + voyage_h)
    assert trip.tonnes == pytest.approx(5_000)


def test_vessel_handling_time_comes_from_the_port_rates():
    raw = _sealift_raw()
    raw["nodes"]["a"]["handling_rate_t_per_day"] = 2_000
    raw["nodes"]["b"]["handling_rate_t_per_day"] = 2_500
    tonnes = 5_000 * 1.0
    _, record = simulate_raw(raw)
    load_h, unload_h = tonnes / 2_000 * 24, tonnes / 2_500 * 24  # 60 h and 48 h
    voyage_h = 3600 / 15
    assert record.deliveries["stuff"] == [(pytest.approx(load_h + voyage_h + unload_h), pytest.approx(tonnes))]


def test_vessel_discharge_pauses_while_the_port_is_closed():
    raw = _sealift_raw(load_time_h=24, unload_time_h=36)
    raw["nodes"]["b"]["closures"] = [{"start_day": 11, "end_day": 12, "reason": "storm"}]
    _, record = simulate_raw(raw)
    # arrives at 264 h, the port is closed from 264 h to 288 h, then 36 h of discharge
    assert record.deliveries["stuff"][0][0] == pytest.approx(288 + 36)


def test_single_voyage_leaves_the_rest_waiting():
    raw = _sealift_raw(load_time_h=24, unload_time_h=36)
    raw["requirements"]["stuff"]["quantity"] = 15_000
    _, record = simulate_raw(raw)
    assert record.delivered["stuff"] == pytest.approx(10_000)  # one full ship, no second voyage
    assert record.waiting["stuff"] == pytest.approx(5_000)
    assert_conserved(record, ["stuff"])


def test_sea_port_without_rate_and_vessel_without_times_is_rejected_before_running():
    """A vessel with no handling times at a port with no handling rate has no way to load: a validation error."""
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        build(_sealift_raw())
    assert any("handling_rate_t_per_day" in str(p) or "load_time_h" in str(p) for p in info.value.problems)


# --- (d) conservation ----------------------------------------------------------------------------


def _two_leg_raw():
    """Air a->b then road b->c; trucks are slower than the airlift, per-day releases, horizon cuts the run."""
    raw = scenario_raw({
        "deadline_days": 5, "horizon_days": 5,
        "nodes": {"c": {"kind": "border_crossing", "lat": 50.0, "lon": 23.0}},
        "legs": {"bc": {"from": "b", "to": "c", "mode": "road", "distance_km": 300}},
        "routes": {"r": {"legs": ["ab", "bc"]}},
        "carriers": {
            "truck": {"mode": "road", "payload_t": 20, "speed_kmh": 60, "load_time_h": 1, "unload_time_h": 1},
        },
        "cargo": {"vehicles": {"unit": "vehicles", "unit_weight_t": 25, "footprint_m2": 20,
                               "per_load": {"plane": 1}, "priority": 1}},
        "requirements": {
            "stuff": {"quantity": 10_000, "release": [{"node": "a", "start_day": 0.5, "per_day": 500}]},
            "vehicles": {"quantity": 40, "routes": ["r"], "release": [{"node": "a", "per_day": 2}]},
        },
        "fleets": {"planes": {"count": 2},
                   "trucks": {"carrier": "truck", "count": 2, "legs": ["bc"]},
                   "hets": {"carrier": "het", "count": 1, "legs": ["bc"]}},
    })
    raw["carriers"]["het"] = {"mode": "road", "payload_t": 40, "speed_kmh": 40, "load_time_h": 1,
                              "unload_time_h": 1, "deck_area_m2": 30}
    return raw


def test_conservation_at_the_horizon_with_cargo_still_moving():
    scenario, record = simulate_raw(_two_leg_raw())
    assert record.end_h == pytest.approx(record.horizon_h)  # cut by the horizon, not finished
    classes = list(scenario.requirements)
    assert_conserved(record, classes)
    # the test means something: cargo is in every state at the end
    assert record.in_transit["stuff"] + record.in_transit["vehicles"] > 0
    assert record.waiting["stuff"] > 0 and record.delivered["stuff"] > 0
    # releases at 12 h, 36 h, ..., 108 h are inside the 120 h horizon: 5 x 500 t
    assert record.released["stuff"] == pytest.approx(5 * 500)
    # vehicles: 2 a day at 0, 24, 48, 72, 96 h (the day-5 batch at exactly 120 h may or may not be in)
    assert record.released["vehicles"] in (10, 12)
    assert record.delivered["vehicles"] > 0
    assert measure(scenario, record).conservation_error == pytest.approx(0, abs=1e-6)


def test_conservation_when_everything_is_delivered():
    raw = _two_leg_raw()
    raw["deadline_days"] = raw["horizon_days"] = 60
    raw["requirements"]["stuff"]["quantity"] = 600
    raw["requirements"]["vehicles"]["quantity"] = 8
    scenario, record = simulate_raw(raw)
    assert record.end_h < record.horizon_h
    for cls, req in scenario.requirements.items():
        assert record.delivered[cls] == pytest.approx(req.quantity)
        assert record.in_transit[cls] == pytest.approx(0, abs=1e-9)
        assert record.waiting[cls] == pytest.approx(0, abs=1e-9)
    assert_conserved(record, list(scenario.requirements))


SHIPPED = sorted((REPO / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED or [None], ids=[p.name for p in SHIPPED] or ["no-scenarios"])
def test_conservation_on_every_shipped_scenario(path):
    if path is None:
        pytest.fail(f"no shipped scenarios: {REPO / 'scenarios'}/*.toml matched nothing; "
                    "the conservation test must run on every scenario shipped with the tool")
    scenario = load_scenario(path)
    record = sim.simulate(scenario, np.random.default_rng(0))
    assert_conserved(record, list(scenario.requirements))
    for cls, req in scenario.requirements.items():
        assert record.released[cls] <= req.quantity * (1 + 1e-9)
        assert record.delivered[cls] <= record.released[cls] + 1e-6
        assert min(record.in_transit[cls], record.waiting[cls], record.delivered[cls]) >= -1e-6


# --- mixed priorities through the model ----------------------------------------------------------


def test_higher_priority_class_fills_the_first_loads():
    raw = scenario_raw({
        "deadline_days": 2, "horizon_days": 2,
        "cargo": {"ammo": {"unit": "pallets", "unit_weight_t": 4, "units_per_pallet": 1, "priority": 1}},
        "requirements": {"ammo": {"quantity": 25, "routes": ["r"], "release": [{"node": "a"}]}},
    })
    _, record = simulate_raw(raw)
    trips = sorted(record.trips, key=lambda t: t.departure_h)
    # ammo (priority 1): one 4 t unit per pallet, so 10 a load fill all 10 positions (40 t); nothing else fits.
    # The third load takes the last 5 ammo (5 positions, 20 t), then "stuff" fills the other 5 positions.
    assert dict(trips[0].cargo) == {"ammo": 10}
    assert dict(trips[1].cargo) == {"ammo": 10}
    third = dict(trips[2].cargo)
    assert third["ammo"] == 5
    # room for "stuff" (5 x 1 t per pallet): by weight 50 - 20 = 30 t, by floor 5 positions x 5 t = 25 t
    assert third["stuff"] == pytest.approx(25)
    assert dict(trips[3].cargo) == {"stuff": pytest.approx(50)}


# --- network: distances and release splits -------------------------------------------------------


def _law_of_cosines_km(lat1, lon1, lat2, lon2, radius_km=6371.0088):
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return radius_km * math.acos(max(-1.0, min(1.0, c)))


def test_great_circle_dover_to_rzeszow():
    d = great_circle_km(39.13, -75.47, 50.11, 22.02)
    assert d == pytest.approx(_law_of_cosines_km(39.13, -75.47, 50.11, 22.02), rel=1e-9)
    assert d == pytest.approx(7_240, rel=0.005)  # about 7,250 km
    assert great_circle_km(50.11, 22.02, 39.13, -75.47) == pytest.approx(d, rel=1e-12)


@pytest.mark.parametrize("a, b, expected_km", [
    ((0, 0), (0, 0), 0.0),
    ((0, 0), (0, 180), math.pi * 6371.0088),  # antipodes: half the circumference
    ((0, 0), (90, 0), math.pi / 2 * 6371.0088),  # equator to pole
    ((10, 10), (10, 11), None),  # short hop: law of cosines still good to 1e-6
])
def test_great_circle_reference_points(a, b, expected_km):
    expected = expected_km if expected_km is not None else _law_of_cosines_km(*a, *b)
    assert great_circle_km(*a, *b) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_air_leg_distance_defaults_to_great_circle_times_routing_factor():
    raw = scenario_raw()
    del raw["legs"]["ab"]["distance_nm"]
    raw["legs"]["ab"]["routing_factor"] = 1.1
    scenario = build(raw)
    gc = _law_of_cosines_km(39.13, -75.47, 50.11, 22.02)
    assert leg_distance_km(scenario, "ab") == pytest.approx(gc * 1.1, rel=1e-9)
    assert travel_time_h(scenario, "ab", "plane") == pytest.approx(gc * 1.1 / (500 * KM_PER_NM), rel=1e-9)
    given = build(scenario_raw())
    assert leg_distance_km(given, "ab") == pytest.approx(1000 * KM_PER_NM)


def _shares_raw(quantity, shares, divisible, per_day=None, start_day=0.0):
    nodes = {"b": {"kind": "airbase", "lat": 50, "lon": 20}, "c": {"kind": "airbase", "lat": 51, "lon": 21},
             "d": {"kind": "airbase", "lat": 52, "lon": 22}}
    release = {"node": "a", "start_day": start_day}
    if per_day is not None:
        release["per_day"] = per_day
    raw = scenario_raw({
        "nodes": nodes,
        "legs": {"ac": {"from": "a", "to": "c", "mode": "air", "distance_nm": 900},
                 "ad": {"from": "a", "to": "d", "mode": "air", "distance_nm": 800}},
        "routes": {"r2": {"legs": ["ac"]}, "r3": {"legs": ["ad"]}},
        "cargo": {"stuff": {"divisible": divisible}},
        "requirements": {"stuff": {"quantity": quantity, "routes": ["r", "r2", "r3"], "route_shares": shares,
                                   "release": [release]}},
        "fleets": {"planes": {"legs": ["ab", "ac", "ad"]}},
    })
    return build(raw)


def _largest_remainder(amount, shares):
    """Reference split: floors, then the leftover units to the largest fractional parts (first listed on a tie)."""
    exact = {k: amount * v for k, v in shares.items()}
    parts = {k: math.floor(x + 1e-9) for k, x in exact.items()}
    leftover = round(amount - sum(parts.values()))
    for k in sorted(exact, key=lambda k: -(exact[k] - parts[k]))[:leftover]:
        parts[k] += 1
    return parts


def test_release_split_by_route_shares_in_whole_units():
    shares = {"r": 0.47, "r2": 0.33, "r3": 0.2}
    scenario = _shares_raw(10, shares, divisible=False)
    events = release_schedule(scenario, Network(scenario), "stuff")
    assert {tag: q for _, _, tag, q in events} == {"r": 5, "r2": 3, "r3": 2}  # 4.7, 3.3, 2.0
    assert all(t == 0 and node == "a" for t, node, _, _ in events)


def test_release_split_per_day_batches_stay_whole_and_add_up():
    shares = {"r": 0.47, "r2": 0.33, "r3": 0.2}
    scenario = _shares_raw(25, shares, divisible=False, per_day=10, start_day=1.5)
    events = release_schedule(scenario, Network(scenario), "stuff")
    by_time: dict[float, dict[str, float]] = {}
    for t, node, tag, q in events:
        assert node == "a"
        assert q == int(q) and q > 0
        by_time.setdefault(t, {})[tag] = q
    assert sorted(by_time) == [36.0, 60.0, 84.0]  # day 1.5, 2.5, 3.5
    expected = {36.0: _largest_remainder(10, shares), 60.0: _largest_remainder(10, shares), 84.0: _largest_remainder(5, shares)}
    assert expected[84.0] == {"r": 2, "r2": 2, "r3": 1}  # 2.35, 1.65, 1.0
    for t, parts in expected.items():
        assert by_time[t] == {k: v for k, v in parts.items() if v > 0}
    assert sum(q for *_, q in events) == 25
    assert events == sorted(events, key=lambda e: (e[0], e[1], e[2]))


def test_release_split_divisible_is_exact():
    shares = {"r": 0.47, "r2": 0.33, "r3": 0.2}
    scenario = _shares_raw(10, shares, divisible=True)
    events = release_schedule(scenario, Network(scenario), "stuff")
    assert {tag: q for _, _, tag, q in events} == {k: pytest.approx(10 * v) for k, v in shares.items()}


def test_release_without_shares_is_one_batch_per_day_on_any_route():
    raw = scenario_raw({"requirements": {"stuff": {"quantity": 250, "release": [{"node": "a", "per_day": 100, "start_day": 2}]}}})
    scenario = build(raw)
    events = release_schedule(scenario, Network(scenario), "stuff")
    assert events == [(48.0, "a", "*", 100), (72.0, "a", "*", 100), (96.0, "a", "*", pytest.approx(50))]


def test_cargo_with_route_shares_keeps_to_its_route():
    shares = {"r": 0.5, "r2": 0.3, "r3": 0.2}
    scenario = _shares_raw(100, shares, divisible=False)
    record = sim.simulate(scenario, np.random.default_rng(0), keep_trips=True)
    moved = {"ab": 0.0, "ac": 0.0, "ad": 0.0}
    for trip in record.trips:
        moved[trip.leg] += dict(trip.cargo)["stuff"]
    assert moved == {"ab": 50, "ac": 30, "ad": 20}
    assert_conserved(record, ["stuff"])


# --- (f) `sim run` writes every output file ------------------------------------------------------


SUMMARY_KEYS = {
    "scenario", "title", "start_date", "deadline_day", "deadline_date", "horizon_days", "replications",
    "replications_completed", "seed", "failed_replications", "classes", "all_met_probability", "all_met_ci95",
    "flights", "sailings", "land_trips", "tonnes_by_mode", "utilization", "bottleneck", "max_conservation_error",
    "representative_replication", "reproduce",
}
CLASS_KEYS = {"name", "unit", "target", "delivered_by_deadline", "fraction_by_deadline", "closure_day", "closure_date",
              "closed_within_horizon", "p_met", "p_met_ci95"}
STATS_KEYS = {"mean", "p10", "p50", "p90"}
DELIVERY_COLUMNS = ["class", "unit", "day", "date", "target", "cumulative_mean", "cumulative_p10", "cumulative_p50",
                    "cumulative_p90"]
TRIP_COLUMNS = ["carrier_id", "carrier_type", "fleet", "mode", "leg", "from", "to", "load_start_h", "departure_h",
                "departure_time", "arrival_h", "arrival_time", "unload_end_h", "tonnes"]
OUTPUT_FILES = {"summary.json", "deliveries.csv", "trips.csv", "replications.csv", "utilization_daily.csv",
                "scenario_resolved.json", "report.html", *(n for f in FIGURES for n in (f, f.replace(".png", ".svg")))}


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_sim_run_writes_all_outputs_with_documented_keys(tmp_path, capsys):
    raw = scenario_raw({"name": "shuttle", "deadline_days": 3, "horizon_days": 4,
                        "nodes": {"b": {"parking_spots": 1}}, "requirements": {"stuff": {"quantity": 400}}})
    scenario_file = write_toml(tmp_path / "shuttle.toml", raw)
    out = tmp_path / "results"
    assert main(["run", str(scenario_file), "--out", str(out), "-n", "3", "--jobs", "1", "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "shuttle.toml"]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    assert summary["scenario"] == "shuttle"
    assert summary["replications"] == summary["replications_completed"] == 3
    assert summary["deadline_date"] == "2024-12-15"
    assert set(summary["classes"]) == {"stuff"}
    info = summary["classes"]["stuff"]
    assert set(info) >= CLASS_KEYS
    for key in ("delivered_by_deadline", "fraction_by_deadline", "closure_day"):
        assert set(info[key]) == STATS_KEYS
    # analytic: deliveries at 7 + 9k h; 400 t = 8 loads, the 8th at 7 + 63 = 70 h (day 2.917), within day 3
    assert info["delivered_by_deadline"]["p50"] == pytest.approx(400)
    assert info["closure_day"]["p50"] == pytest.approx(round(70 / 24, 3))
    assert info["p_met"] == 1 and summary["all_met_probability"] == 1
    assert summary["flights"] == {"plane": {"mean": 8, "p10": 8, "p50": 8, "p90": 8}}
    assert summary["max_conservation_error"] == pytest.approx(0, abs=1e-6)
    assert set(summary["reproduce"]) >= {"tool", "version", "scenario_sha256", "seed", "replications", "seed_derivation"}
    for row in summary["utilization"]:
        assert set(row) == {"resource", "kind", "where", "capacity", "utilization", "queue_h"}
        assert 0 <= row["utilization"] <= 1 + 1e-9

    columns, rows = _read_csv(out / "deliveries.csv")
    assert columns == DELIVERY_COLUMNS
    assert len(rows) == 4 + 1  # days 0..4 for one class
    # cumulative at day d (t = 24 d): deliveries at 7 + 9k h
    expected = [50 * min(8, _count_by(24 * d, 7, 9)) for d in range(5)]
    assert [float(r["cumulative_p50"]) for r in rows] == pytest.approx(expected)

    columns, rows = _read_csv(out / "trips.csv")
    assert columns == [*TRIP_COLUMNS, "stuff"]
    assert len(rows) == 8
    assert [float(r["arrival_h"]) for r in rows] == pytest.approx([4 + 9 * k for k in range(8)])

    columns, rows = _read_csv(out / "replications.csv")
    assert columns == ["replication", "all_met", "stuff_closure_day", "stuff_by_deadline", "stuff_met", "plane_movements"]
    assert [r["replication"] for r in rows] == ["0", "1", "2"]
    assert all(r["all_met"] == "1" and float(r["stuff_by_deadline"]) == 400 for r in rows)

    for png in ("delivery_curves.png", "closure.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a second run replaces the folder and still leaves nothing behind
    assert main(["run", str(scenario_file), "--out", str(out), "-n", "1", "--jobs", "1", "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "shuttle.toml"]
    assert not list(tmp_path.glob(TMP_PREFIX + "*"))
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["replications"] == 1


def test_runner_aggregates_the_same_figures_as_one_simulation():
    scenario = build(scenario_raw({"deadline_days": 3, "horizon_days": 4}))
    result = run(scenario, replications=2, seed=5)
    summary = result.aggregate.summary().to_dict()
    expected = 50 * _count_by(72, 7, 9)
    assert summary["classes"]["stuff"]["delivered_by_deadline"]["p50"] == pytest.approx(expected)
    assert result.record is not None and len(result.record.trips) == _count_by(96, 7, 9)
