"""How cargo units fill a carrier: by weight, and by floor (pallet positions, deck area or count).

A load is feasible when its weight is within the carrier's payload and the floor
shares of its units add up to at most 1. A unit's floor share on a carrier type is
1/n where the class gives a count limit n for that type (vehicles: a C-17 takes 2
Bradleys); otherwise a pallet's share of the pallet positions, or its footprint's
share of the deck area. A carrier with neither pallet positions nor deck area is
limited by weight alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sim.schema import PALLET_FOOTPRINT_M2, CargoClass, CarrierType

EPS = 1e-9


def floor_share(cargo: CargoClass, carrier: CarrierType, carrier_id: str) -> float | None:
    """Share of the carrier's floor one unit takes (0 = not floor-limited); None if it cannot go aboard."""
    if cargo.carriers is not None and carrier_id not in cargo.carriers:
        return None
    if cargo.unit_weight_t > carrier.payload_t + EPS:
        return None
    limit = cargo.per_load.get(carrier_id)
    if limit is not None:
        return 1.0 / limit
    if cargo.units_per_pallet is not None:
        if carrier.pallet_positions is not None:
            share = 1.0 / (cargo.units_per_pallet * carrier.pallet_positions)
        elif carrier.deck_area_m2 is not None:
            share = PALLET_FOOTPRINT_M2 / cargo.units_per_pallet / carrier.deck_area_m2
        else:
            return 0.0
        return share if share <= 1 + EPS else None  # one unit needs more than the whole floor
    # rolling stock without a count limit
    if carrier.deck_area_m2 is not None:
        share = float(cargo.footprint_m2) / carrier.deck_area_m2  # type: ignore[arg-type]
        return share if share <= 1 + EPS else None
    if carrier.pallet_positions is not None:
        return None  # aircraft: vehicles need an explicit count per load
    return 0.0


def why_not_aboard(cargo: CargoClass, cargo_id: str, carrier: CarrierType, carrier_id: str) -> str:
    """A sentence saying why `floor_share` is None for this class and carrier type."""
    if cargo.carriers is not None and carrier_id not in cargo.carriers:
        return f'cargo.{cargo_id}.carriers does not list "{carrier_id}"'
    if cargo.unit_weight_t > carrier.payload_t + EPS:
        return f"one unit weighs {cargo.unit_weight_t:g} t, more than the {carrier_id} payload of {carrier.payload_t:g} t"
    if cargo.footprint_m2 is not None and carrier.deck_area_m2 is not None:
        return f"one unit needs {cargo.footprint_m2:g} m2, more than the {carrier_id} deck of {carrier.deck_area_m2:g} m2"
    if cargo.units_per_pallet is not None:
        floor = (f"{carrier.pallet_positions} pallet positions" if carrier.pallet_positions is not None
                 else f"a {carrier.deck_area_m2:g} m2 deck")
        return f"one unit needs 1/{cargo.units_per_pallet:g} of a 463L pallet, more floor than a {carrier_id} has ({floor})"
    return f"rolling stock on {carrier_id} needs a count per load: set cargo.{cargo_id}.per_load.{carrier_id}"


@dataclass
class Load:
    """What one carrier takes on one movement: quantity per (class, routing tag), and its totals."""

    quantities: dict[tuple[str, str], float]
    weight_t: float
    floor_used: float

    @property
    def empty(self) -> bool:
        return not self.quantities

    def by_class(self) -> dict[str, float]:
        """Quantity aboard per cargo class, tags merged."""
        out: dict[str, float] = {}
        for (cls, _tag), qty in self.quantities.items():
            out[cls] = out.get(cls, 0.0) + qty
        return out


def split_load(load: Load, parts: int, unit_weight_t: dict[str, float]) -> list[Load]:
    """`load` cut into up to `parts` loads of about equal size, whole units kept whole (the last part takes the rest).

    Floor use is shared in proportion to weight (the parts are for unloading, not for packing).
    """
    if parts <= 1 or load.weight_t <= EPS:
        return [load]
    out: list[Load] = []
    left = dict(load.quantities)
    for i in range(parts, 0, -1):
        if i == 1:
            q = left
        else:
            q = {k: float(math.floor(v / i + EPS)) for k, v in left.items()}
            left = {k: v - q[k] for k, v in left.items()}
        q = {k: v for k, v in q.items() if v > EPS}
        if q:
            w = sum(v * unit_weight_t[k[0]] for k, v in q.items())
            out.append(Load(q, w, load.floor_used * w / load.weight_t))
    return out


def empty_load() -> Load:
    """A load with nothing aboard yet."""
    return Load({}, 0.0, 0.0)


@dataclass(frozen=True)
class Offer:
    """Cargo on offer to a carrier: a stock key, how much waits, and what one unit costs aboard."""

    key: tuple[str, str]
    available: float
    unit_weight_t: float
    floor_share: float
    divisible: bool


def pack(load: Load, offers: Iterable[Offer], payload_t: float) -> Load:
    """Add to `load` as much of `offers` as fits, in the order given (highest priority first).

    Whole units unless the class is divisible. Returns the same `load`, filled.
    """
    for offer in offers:
        room_w = (payload_t - load.weight_t) / offer.unit_weight_t
        room_f = (1.0 - load.floor_used) / offer.floor_share if offer.floor_share > 0 else math.inf
        room = min(room_w, room_f, offer.available)
        if not offer.divisible:
            room = math.floor(room + EPS)
        if room <= EPS:
            continue
        load.quantities[offer.key] = load.quantities.get(offer.key, 0.0) + room
        load.weight_t += room * offer.unit_weight_t
        load.floor_used += room * offer.floor_share
    return load
