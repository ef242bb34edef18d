"""The simulator against history: two Berlin Airlift cases rebuilt from public inputs only.

Both files take every input from the public record (each sourced or labelled `assumption`;
nothing adjusted to the record) and are run deterministically here.

1. The "Easter Parade" of 16 April 1949 (`scenarios/validation/berlin_easter_parade.toml`). The
   record (berlinairlift75.org [sec]): 1,398 flights landed in Berlin in 24 hours, carrying 12,941
   short tons (11,740 t). The three West Berlin airfields, at one landing every 3 minutes each,
   give 30 landing slots of 0.5 h (1,440 landings a day); the sourced fleets could fly more than
   that, so the Berlin slots bind. Starting from empty skies at 00:00, the first aircraft land only
   after loading and flying (about 1.2 h), so the 24-hour count falls short of the slot capacity by
   that start-up, while the historical day was a window inside continuous operations. A run started
   a day earlier lands exactly the slot capacity on the second day.

2. January 1949, a steady month (`scenarios/validation/berlin_january_1949.toml`, the same network
   and aircraft with January fleet strengths). The record (Berlin Airlift Veterans Association
   [weak]): 171,959.2 short tons in 14,095 US and 8,094 British flights. The model reproduces the
   month's shape: the US share of flights and the tonnage per flight fall within 10% of the record,
   and the flying hours per flight within 10% of the blockade's cumulative record (UPI). It does NOT
   reach the month's volume from sourced inputs: at the sourced 8.5 flying hours a day for every
   aircraft it flies 1.8 times the record's flights. What it misses is the month's aircraft out of
   commission and weather, for which no retrieved source gives a January figure; the tests pin the
   simulated month as an upper reading (fleet-limited exactly as the planning factors say, above the
   record, below the LP bound) so that gap stays what docs/model.md says it is.

Landings are counted by landing time (taking a Berlin spot), which the trip log gives as
`unload_end_h - unload_time_h` because Berlin is open 24 hours and the planned runs have no time
variation; `arrival_h` is the arrival before any queueing for a spot.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.bounds import fluid_bound
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


def _landings(scenario: Scenario, record: RunRecord, t0_h: float, t1_h: float,
              carrier_type: str | None = None) -> tuple[int, float]:
    """Landings in Berlin in (t0_h, t1_h] and the short tons they carried (of one carrier type if given)."""
    count, tonnes = 0, 0.0
    for trip in record.trips:
        if trip.destination != HAND_OVER or carrier_type not in (None, trip.carrier_type):
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


@pytest.mark.parametrize("case", ["easter_parade", "january"])
def test_pre_positioned_cargo_never_binds(case, request):
    """Every origin's stock is all there at 00:00 and is never lifted in full: supply is not what limits."""
    scenario, record = request.getfixturevalue(case)
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


# ---------------------------------------------------------------------------------------------
# January 1949: a steady month
# ---------------------------------------------------------------------------------------------

JANUARY = REPO / "scenarios" / "validation" / "berlin_january_1949.toml"
MONTH_H = 31 * 24.0
RECORD_MONTH_SHORT_TONS = 171_959.2  # January 1949 (Berlin Airlift Veterans Association calendar [weak])
RECORD_MONTH_US_FLIGHTS = 14_095  # same source
RECORD_MONTH_BRITISH_FLIGHTS = 8_094  # same source; includes civil charter aircraft, not modelled
RECORD_MONTH_FLIGHTS = RECORD_MONTH_US_FLIGHTS + RECORD_MONTH_BRITISH_FLIGHTS
UPI_HOURS, UPI_FLIGHTS = 413_000, 194_531  # in the air and flown to 12 May 1949 (UPI, 12 May 1949 [sec])
US_TYPE = "c54"  # USAF C-54s and USN R5Ds: the only US type in the file


@pytest.fixture(scope="module")
def january():
    scenario = sim.load_scenario(JANUARY).planned()
    record = sim.simulate(scenario, np.random.default_rng(0), keep_trips=True)
    return scenario, record


def test_january_changes_only_dates_fleets_and_stock_from_the_easter_parade_file():
    """Nothing tuned: airfields, legs, aircraft performance and Berlin's slots are the Easter file's sourced values."""
    easter, month = resolve_raw(EASTER_PARADE), resolve_raw(JANUARY)
    for key in ("nodes", "legs", "routes", "carriers", "cargo"):
        assert month[key] == easter[key], key
    assert set(month["fleets"]) == set(easter["fleets"])
    for fleet_id, fleet in month["fleets"].items():
        assert {k: v for k, v in fleet.items() if k not in ("count", "available_from_day", "source")} == \
            {k: v for k, v in easter["fleets"][fleet_id].items() if k not in ("count", "source")}
    scenario = sim.load_scenario(JANUARY)
    assert scenario.start_date == dt.date(1949, 1, 1) and scenario.deadline_days == 31
    assert scenario.uncertainty.empty
    assert sum(f.count for f in scenario.fleets.values() if f.carrier == US_TYPE) == 225 + 24


def test_january_us_share_of_flights_is_within_10_percent_of_the_record(january):
    scenario, record = january
    flights, _ = _landings(scenario, record, 0.0, MONTH_H)
    us_flights, _ = _landings(scenario, record, 0.0, MONTH_H, carrier_type=US_TYPE)
    share = us_flights / flights
    assert share == pytest.approx(RECORD_MONTH_US_FLIGHTS / RECORD_MONTH_FLIGHTS, rel=TOLERANCE), f"US share {share:.3f}"


def test_january_tonnage_per_flight_is_within_10_percent_of_the_record(january):
    scenario, record = january
    flights, short_tons = _landings(scenario, record, 0.0, MONTH_H)
    record_per_flight = RECORD_MONTH_SHORT_TONS / RECORD_MONTH_FLIGHTS  # 7.75 st
    assert short_tons / flights == pytest.approx(record_per_flight, rel=TOLERANCE), f"{short_tons / flights:.2f} st a flight"


def test_flying_hours_per_flight_are_within_10_percent_of_the_blockades_cumulative_record(january):
    """UPI: 413,000 hours in the air for 194,531 flights by 12 May 1949, 2.12 h a round trip."""
    _, record = january
    hours = [2 * (t.arrival_h - t.departure_h) for t in record.trips]  # out and back at the same distance
    assert np.mean(hours) == pytest.approx(UPI_HOURS / UPI_FLIGHTS, rel=TOLERANCE)


def test_january_is_fleet_limited_exactly_as_the_planning_factors_say(january):
    """Each fleet flies aircraft x 8.5 h a day / flying hours per round trip, over its days in the month.

    The flying-hour budget starts full, so each aircraft has one extra day's hours at most; Berlin's
    slots (1,440 landings a day) are busy but never the limit.
    """
    scenario, record = january
    by_fleet: dict[str, int] = {}
    for trip in record.trips:
        landed = trip.unload_end_h - scenario.carriers[trip.carrier_type].unload_time_h
        if 0 < landed <= MONTH_H:
            by_fleet[trip.fleet] = by_fleet.get(trip.fleet, 0) + 1
    for fleet_id, fleet in scenario.fleets.items():
        carrier = scenario.carriers[fleet.carrier]
        round_trip_h = 2 * travel_time_h(scenario, fleet.legs[0], fleet.carrier)
        days = 31 - fleet.available_from_day
        steady = fleet.count * carrier.daily_flying_hours * days / round_trip_h
        with_full_start = fleet.count * carrier.daily_flying_hours * (days + 1) / round_trip_h
        assert steady <= by_fleet[fleet_id] <= with_full_start + fleet.count, fleet_id
    assert sum(by_fleet.values()) <= _berlin_capacity_per_day(scenario) * 31


def test_january_lands_above_the_record_and_below_its_lp_bound(january):
    """The simulated month is an upper reading: every aircraft flies its sourced average day, with no
    month's losses to maintenance or weather. It must not fall below what history achieved, and no
    plan beats the fluid LP bound. The gap to the record is reported in docs/model.md."""
    scenario, record = january
    flights, short_tons = _landings(scenario, record, 0.0, MONTH_H)
    assert flights > RECORD_MONTH_FLIGHTS * (1 + TOLERANCE)
    assert short_tons > RECORD_MONTH_SHORT_TONS * (1 + TOLERANCE)
    outcome = measure(scenario, record)
    bound = fluid_bound(scenario, closure=False)
    for cls, delivered in outcome.delivered_by_deadline.items():
        assert delivered <= bound.max_by_deadline[cls] * (1 + 1e-9), cls


def test_the_january_shape_rests_on_the_fleet_count_dated_in_january():
    """docs/model.md: with the Easter file's 324 aircraft of the peak months instead of January's 225 + 24, the
    US share of flights (70.1%) and the tonnage per flight (8.67 st) miss the record by 10.4% and 11.9%."""
    raw = resolve_raw(JANUARY)
    easter = resolve_raw(EASTER_PARADE)
    for fleet_id, fleet in raw["fleets"].items():
        if fleet["carrier"] == US_TYPE:  # the US count only: 99 at Rhein-Main, 75 at each other base
            fleet["count"] = easter["fleets"][fleet_id]["count"]
    scenario = validate_raw(raw, file=str(JANUARY)).planned()
    record = sim.simulate(scenario, np.random.default_rng(0), keep_trips=True)
    flights, short_tons = _landings(scenario, record, 0.0, MONTH_H)
    us_flights, _ = _landings(scenario, record, 0.0, MONTH_H, carrier_type=US_TYPE)
    assert us_flights / flights == pytest.approx(0.701, abs=5e-4)
    assert short_tons / flights == pytest.approx(8.674, abs=5e-4)
    assert abs(us_flights / flights / (RECORD_MONTH_US_FLIGHTS / RECORD_MONTH_FLIGHTS) - 1) > TOLERANCE
    assert abs(short_tons / flights / (RECORD_MONTH_SHORT_TONS / RECORD_MONTH_FLIGHTS) - 1) > TOLERANCE
