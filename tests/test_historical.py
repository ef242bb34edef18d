"""The simulator against history: the Berlin Airlift's "Easter Parade" of 16 April 1949.

The record (berlinairlift75.org [sec]): 1,398 flights landed in Berlin in 24 hours, carrying
12,941 short tons (11,740 t). `scenarios/validation/berlin_easter_parade.toml` rebuilds that day
from public inputs only (each sourced or labelled `assumption` in the file; nothing adjusted to the
record) and is run deterministically here.

What the model reaches and why: the three West Berlin airfields, at one landing every 3 minutes
each, give 30 landing slots of 0.5 h (1,440 landings a day); the sourced fleets could fly more than
that, so the Berlin slots bind. Starting from empty skies at 00:00, the first aircraft land only
after loading and flying (about 1.2 h), so the 24-hour count falls short of the slot capacity by
that start-up, while the historical day was a window inside continuous operations. A run started a
day earlier lands exactly the slot capacity on the second day.

Landings are counted by landing time (taking a Berlin spot), which the trip log gives as
`unload_end_h - unload_time_h` because Berlin is open 24 hours and the planned run has no time
variation; `arrival_h` is the arrival before any queueing for a spot.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.loader import resolve_raw, validate_raw
from sim.measure import measure
from sim.network import travel_time_h
from sim.record import RunRecord
from sim.schema import Scenario

REPO = Path(__file__).resolve().parent.parent
EASTER_PARADE = REPO / "scenarios" / "validation" / "berlin_easter_parade.toml"

SHORT_TON_T = 0.9072
RECORD_FLIGHTS = 1398  # landings in Berlin in 24 hours (berlinairlift75.org [sec])
RECORD_SHORT_TONS = 12941  # short tons in 24 hours (berlinairlift75.org [sec]) = 11,740 t
TOLERANCE = 0.10  # issue 5: within 10% of the record
HAND_OVER = "berlin"


def _landings(scenario: Scenario, record: RunRecord, t0_h: float, t1_h: float) -> tuple[int, float]:
    """Landings in Berlin in (t0_h, t1_h] and the short tons they carried."""
    count, tonnes = 0, 0.0
    for trip in record.trips:
        if trip.destination != HAND_OVER:
            continue
        landed = trip.unload_end_h - scenario.carriers[trip.carrier_type].unload_time_h
        if t0_h < landed <= t1_h:
            count += 1
            tonnes += trip.tonnes
    return count, tonnes / SHORT_TON_T


def _berlin_capacity_per_day(scenario: Scenario) -> float:
    """AFPAM 10-1403 formula 9.0 without the 0.85: spots x 24 h / ground time, in landings a day."""
    ground = {scenario.carriers[f.carrier].unload_time_h for f in scenario.fleets.values()}
    assert len(ground) == 1, "the slot mapping needs one Berlin ground time for every type"
    return scenario.nodes[HAND_OVER].parking_spots * 24.0 / ground.pop()


def _fleet_capacity_per_day(scenario: Scenario) -> float:
    """Sustained round trips a day the fleets could fly: aircraft x UTE / flying hours per round trip."""
    total = 0.0
    for fleet in scenario.fleets.values():
        carrier = scenario.carriers[fleet.carrier]
        (leg,) = fleet.legs
        total += fleet.count * carrier.daily_flying_hours / (2 * travel_time_h(scenario, leg, fleet.carrier))
    return total


def _shifted(days_earlier: int) -> Scenario:
    """The same scenario started `days_earlier` days before 16 April, run to the end of 16 April."""
    raw = resolve_raw(EASTER_PARADE)
    raw["start_date"] = raw["start_date"] - dt.timedelta(days=days_earlier)
    raw["deadline_days"] = raw["deadline_days"] + days_earlier
    raw["horizon_days"] = raw["horizon_days"] + days_earlier
    return validate_raw(raw, file=str(EASTER_PARADE))


@pytest.fixture(scope="module")
def easter_parade():
    scenario = sim.load_scenario(EASTER_PARADE).planned()
    record = sim.simulate(scenario, np.random.default_rng(0), keep_trips=True)
    return scenario, record


def test_the_scenario_is_the_24_hours_of_16_april_1949(easter_parade):
    scenario, _ = easter_parade
    assert scenario.start_date == dt.date(1949, 4, 16)
    assert scenario.deadline_days == 1
    assert scenario.horizon > scenario.deadline_days
    assert scenario.nodes[HAND_OVER].operating_hours_per_day == 24  # landing time = unload end - ground time
    assert scenario.uncertainty.empty


def test_landings_and_tonnage_in_24_hours_are_within_10_percent_of_the_record(easter_parade):
    scenario, record = easter_parade
    flights, short_tons = _landings(scenario, record, 0.0, 24.0)
    assert flights == pytest.approx(RECORD_FLIGHTS, rel=TOLERANCE), f"{flights} landings vs {RECORD_FLIGHTS}"
    assert short_tons == pytest.approx(RECORD_SHORT_TONS, rel=TOLERANCE), f"{short_tons:.0f} st vs {RECORD_SHORT_TONS}"


def test_delivered_by_the_deadline_is_within_10_percent_of_the_record(easter_parade):
    """The figure `sim run` reports: cargo fully unloaded in Berlin by 24:00 (the last half hour's landings are still unloading)."""
    scenario, record = easter_parade
    outcome = measure(scenario, record)
    delivered = sum(outcome.delivered_by_deadline.values())  # the classes are in short tons
    assert delivered == pytest.approx(RECORD_SHORT_TONS, rel=TOLERANCE), f"{delivered:.0f} st vs {RECORD_SHORT_TONS}"
    assert outcome.conservation_error < 1e-6


def test_pre_positioned_cargo_never_binds(easter_parade):
    scenario, record = easter_parade
    lifted: dict[str, float] = {}
    for trip in record.trips:
        lifted[trip.origin] = lifted.get(trip.origin, 0.0) + trip.tonnes / SHORT_TON_T
    for req in scenario.requirements.values():
        for rel in req.release:
            assert rel.start_day == 0 and rel.per_day is None
            assert lifted.get(rel.node, 0.0) < rel.quantity, f"{rel.node} ran out of pre-positioned cargo"


def test_berlin_landing_slots_bind_and_the_shortfall_is_the_start_from_empty_skies(easter_parade):
    """Planning-factor check: fleets could fly more than Berlin can land, so Berlin's slots bind.

    From 00:00 the spots fill when the nearest aircraft first land (load time + flight), and from
    then on every spot turns over each ground time: the 24-hour count is the slot capacity less
    that start-up, within one batch of spots.
    """
    scenario, record = easter_parade
    berlin = _berlin_capacity_per_day(scenario)
    assert berlin == pytest.approx(1440)  # one landing a minute: 3 airfields x one every 3 minutes
    assert _fleet_capacity_per_day(scenario) > berlin
    spots = scenario.nodes[HAND_OVER].parking_spots
    ground_h = 24.0 * spots / berlin
    first_h = min(scenario.carriers[f.carrier].load_time_h + travel_time_h(scenario, f.legs[0], f.carrier)
                  for f in scenario.fleets.values())
    landed = sorted(trip.unload_end_h - ground_h for trip in record.trips)
    assert landed[0] == pytest.approx(first_h)
    flights, _ = _landings(scenario, record, 0.0, 24.0)
    assert flights <= berlin
    assert flights == pytest.approx(berlin * (24.0 - first_h) / 24.0, abs=spots)
    berlin_spots = next(f for f in record.facilities if f.node == HAND_OVER)
    assert berlin_spots.wait_h > 0  # aircraft queue for Berlin: the fleets are not what limits


def test_a_day_of_warm_up_lands_exactly_the_slot_capacity_on_16_april():
    """Started on 15 April, the airlift is in full flow on the 16th: its 24 hours land 1,440 aircraft,
    3% above the record's 1,398; the record day itself ran at 97% of the slot capacity."""
    scenario = _shifted(1).planned()
    record = sim.simulate(scenario, np.random.default_rng(0), keep_trips=True)
    flights, short_tons = _landings(scenario, record, 24.0, 48.0)
    assert flights == _berlin_capacity_per_day(scenario)
    assert flights == pytest.approx(RECORD_FLIGHTS, rel=TOLERANCE)
    assert short_tons == pytest.approx(RECORD_SHORT_TONS, rel=TOLERANCE)
