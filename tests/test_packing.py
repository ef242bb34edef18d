"""How cargo fills a carrier: `floor_share` per class and carrier type, and `pack` of offers into a load."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.packing import Offer, empty_load, floor_share, pack, why_not_aboard
from sim.schema import PALLET_FOOTPRINT_M2, CargoClass, CarrierType

C17 = CarrierType(mode="air", payload_t=77.5, pallet_positions=18, block_speed_kn=450, load_time_h=3, unload_time_h=3)
ROLL_ON = CarrierType(mode="sea", payload_t=20_000, deck_area_m2=12_000, speed_kn=18)
TRUCK = CarrierType(mode="road", payload_t=20, speed_kmh=60, load_time_h=1, unload_time_h=1)  # weight only

AMMO = CargoClass(unit="pallets", unit_weight_t=4, units_per_pallet=1)
WATER = CargoClass(unit="tonnes", unit_weight_t=1, units_per_pallet=0.8, divisible=True)
BRADLEY = CargoClass(unit="vehicles", unit_weight_t=30, footprint_m2=24, per_load={"c17": 2})


def offer(key, available, unit_weight_t, share, divisible=False):
    return Offer((key, "*"), available, unit_weight_t, share, divisible)


# --- floor_share -----------------------------------------------------------------------------------


def test_pallet_share_of_pallet_positions():
    assert floor_share(AMMO, C17, "c17") == pytest.approx(1 / 18)
    assert floor_share(WATER, C17, "c17") == pytest.approx(1 / (0.8 * 18))


def test_pallet_share_of_deck_area():
    assert floor_share(AMMO, ROLL_ON, "roro") == pytest.approx(PALLET_FOOTPRINT_M2 / 12_000)


def test_rolling_stock_share_of_deck_area():
    assert floor_share(BRADLEY, ROLL_ON, "roro") == pytest.approx(24 / 12_000)
    huge = CargoClass(unit="vehicles", unit_weight_t=10, footprint_m2=13_000)
    assert floor_share(huge, ROLL_ON, "roro") is None  # bigger than the deck
    assert "more than the roro deck" in why_not_aboard(huge, "huge", ROLL_ON, "roro")


def test_per_load_count_overrides_the_floor():
    assert floor_share(BRADLEY, C17, "c17") == pytest.approx(0.5)
    capped = CargoClass(unit="pallets", unit_weight_t=1, units_per_pallet=1, per_load={"c17": 4})
    assert floor_share(capped, C17, "c17") == pytest.approx(0.25)


def test_rolling_stock_on_an_aircraft_needs_a_count():
    no_count = CargoClass(unit="vehicles", unit_weight_t=30, footprint_m2=24)
    assert floor_share(no_count, C17, "c17") is None
    assert why_not_aboard(no_count, "bradley", C17, "c17") == \
        "rolling stock on c17 needs a count per load: set cargo.bradley.per_load.c17"


def test_unit_heavier_than_payload_cannot_go_aboard():
    tank = CargoClass(unit="vehicles", unit_weight_t=80, footprint_m2=30, per_load={"c17": 1})
    assert floor_share(tank, C17, "c17") is None
    assert "more than the c17 payload of 77.5 t" in why_not_aboard(tank, "tank", C17, "c17")


def test_class_restricted_to_other_carriers():
    only_ships = CargoClass(unit="pallets", unit_weight_t=1, units_per_pallet=1, carriers=("roro",))
    assert floor_share(only_ships, C17, "c17") is None
    assert floor_share(only_ships, ROLL_ON, "roro") is not None


def test_carrier_without_floor_limit_is_weight_limited():
    assert floor_share(AMMO, TRUCK, "truck") == 0.0
    vehicle = CargoClass(unit="vehicles", unit_weight_t=15, footprint_m2=20)
    assert floor_share(vehicle, TRUCK, "truck") == 0.0


# --- pack -----------------------------------------------------------------------------------------


def test_weight_limited_whole_units():
    # 7 t units, 77.5 t payload: 11 units (77 t), the floor (11/18) has room
    load = pack(empty_load(), [offer("gen", 100, 7, 1 / 18)], 77.5)
    assert load.quantities == {("gen", "*"): 11}
    assert load.weight_t == pytest.approx(77)
    assert load.floor_used == pytest.approx(11 / 18)


def test_floor_limited_whole_units():
    # 1 t pallets: weight allows 77, 18 positions allow 18
    load = pack(empty_load(), [offer("ammo", 100, 1, 1 / 18)], 77.5)
    assert load.quantities == {("ammo", "*"): 18}
    assert load.floor_used == pytest.approx(1.0)
    assert load.weight_t == pytest.approx(18)


def test_per_load_count_limits_vehicles():
    share = floor_share(BRADLEY, C17, "c17")
    load = pack(empty_load(), [offer("bradley", 10, 30, share)], 77.5)
    assert load.quantities == {("bradley", "*"): 2}  # weight would allow 2.58, the count allows 2
    heavy = pack(empty_load(), [offer("bradley", 10, 40, share)], 77.5)
    assert heavy.quantities == {("bradley", "*"): 1}  # now weight allows 1.94 whole units


def test_available_quantity_limits():
    load = pack(empty_load(), [offer("ammo", 3, 4, 1 / 18)], 77.5)
    assert load.quantities == {("ammo", "*"): 3}


def test_divisible_fills_exactly_whole_units_round_down():
    divisible = pack(empty_load(), [offer("fuel", 1000, 3, 0.0, divisible=True)], 50)
    assert divisible.quantities[("fuel", "*")] == pytest.approx(50 / 3)
    assert divisible.weight_t == pytest.approx(50)
    whole = pack(empty_load(), [offer("shells", 1000, 3, 0.0)], 50)
    assert whole.quantities[("shells", "*")] == 16
    assert whole.weight_t == pytest.approx(48)


def test_whole_units_are_not_lost_to_float_rounding():
    # 0.1 t units: 50 / 0.1 is 499.99999999999994 in floats, but 500 units fit
    load = pack(empty_load(), [offer("rations", 10_000, 0.1, 0.0)], 50)
    assert load.quantities[("rations", "*")] == 500


def test_mixed_priorities_fill_in_order():
    # high priority first: 10 x 3 t = 30 t and 10/18 of the floor; then 1 t pallets, 8 positions left
    offers = [offer("ammo", 10, 3, 1 / 18), offer("water", 1000, 1, 1 / 18)]
    load = pack(empty_load(), offers, 77.5)
    assert load.quantities == {("ammo", "*"): 10, ("water", "*"): 8}
    assert load.floor_used == pytest.approx(1.0)
    assert load.weight_t == pytest.approx(38)
    # reversed order: water takes every position and ammo gets nothing
    load = pack(empty_load(), list(reversed(offers)), 77.5)
    assert load.quantities == {("water", "*"): 18}


def test_mixed_priorities_weight_then_floor():
    # vehicles by count (1 of 2) weigh 30 t; pallets of 5 t then fill by weight: (77.5-30)/5 = 9.5 -> 9 (9/18 floor)
    offers = [offer("bradley", 1, 30, 0.5), offer("ammo", 100, 5, 1 / 18)]
    load = pack(empty_load(), offers, 77.5)
    assert load.quantities == {("bradley", "*"): 1, ("ammo", "*"): 9}
    assert load.weight_t == pytest.approx(75)
    assert load.floor_used == pytest.approx(0.5 + 9 / 18)
    # the divisible remainder of a class after a whole-unit one tops up to the payload exactly
    load = pack(empty_load(), [offer("bradley", 1, 30, 0.5), offer("fuel", 100, 1, 0.0, divisible=True)], 77.5)
    assert load.weight_t == pytest.approx(77.5)
    assert load.quantities[("fuel", "*")] == pytest.approx(47.5)


def test_pack_tops_up_an_existing_load_and_keeps_limits():
    load = pack(empty_load(), [offer("ammo", 5, 4, 1 / 18)], 77.5)
    pack(load, [offer("ammo", 100, 4, 1 / 18)], 77.5)
    assert load.quantities == {("ammo", "*"): 18}  # 5 + 13 more, the floor full
    assert load.by_class() == {"ammo": 18}
    pack(load, [offer("other", 100, 0.5, 0.0)], 77.5)  # no floor share: weight still has room
    assert load.weight_t == pytest.approx(77.5)
    assert load.quantities[("other", "*")] == pytest.approx(5.5 / 0.5)


def test_nothing_fits_leaves_the_load_empty():
    load = pack(empty_load(), [offer("tank", 5, 80, 1.0)], 77.5)
    assert load.empty
    assert load.weight_t == 0 and load.floor_used == 0


def test_load_by_class_merges_routing_tags():
    offers = [Offer(("ammo", "r1"), 3, 4, 1 / 18, False), Offer(("ammo", "r2"), 4, 4, 1 / 18, False)]
    load = pack(empty_load(), offers, 77.5)
    assert load.quantities == {("ammo", "r1"): 3, ("ammo", "r2"): 4}
    assert load.by_class() == {"ammo": 7}
    assert math.isclose(load.weight_t, 28)


# --- properties over random offers -------------------------------------------------------------------

offers_strategy = st.lists(
    st.tuples(
        st.floats(0.5, 500),  # available
        st.floats(0.05, 40),  # unit weight t
        st.sampled_from([0.0, 1 / 18, 1 / 9, 0.25, 0.5, 1.0, 0.013]),  # floor share
        st.booleans(),  # divisible
    ),
    min_size=1, max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(offers_strategy, st.floats(1, 150))
def test_pack_respects_limits_and_leaves_no_room(specs, payload):
    offers = [Offer((f"c{i}", "*"), a if d else float(math.floor(a)), w, f, d) for i, (a, w, f, d) in enumerate(specs)]
    load = pack(empty_load(), offers, payload)
    assert load.weight_t <= payload + 1e-6
    assert load.floor_used <= 1 + 1e-6
    for o in offers:
        q = load.quantities.get(o.key, 0.0)
        assert 0 <= q <= o.available + 1e-9
        if not o.divisible:
            assert q == int(q)
    # totals are the sums of what went aboard
    assert load.weight_t == pytest.approx(sum(load.quantities.get(o.key, 0) * o.unit_weight_t for o in offers), abs=1e-6)
    assert load.floor_used == pytest.approx(sum(load.quantities.get(o.key, 0) * o.floor_share for o in offers), abs=1e-6)
    # greedy and maximal: no offer could take one more whole unit (or any more, if divisible)
    for o in offers:
        left = o.available - load.quantities.get(o.key, 0.0)
        step = min(1.0, left) if o.divisible else 1.0
        if left < step - 1e-9 or step <= 1e-6:
            continue
        fits_weight = load.weight_t + step * o.unit_weight_t <= payload
        fits_floor = load.floor_used + step * o.floor_share <= 1
        assert not (fits_weight and fits_floor), f"{o.key} could take {step} more"
