"""The typed, immutable scenario: every key a user may write, its unit and its limits.

Units are in the key names: `_t` tonnes (metric), `_h` hours, `_kn` knots,
`_kmh` km per hour, `_nm` nautical miles, `_km` kilometres, `_m2` square metres,
`_day(s)` days from the scenario start. Absent optional capacities mean
"not constrained". This module knows nothing of SimPy or files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.distributions import Distribution

# Usable 463L pallet footprint (104 x 84 in = 2.64 m x 2.13 m); planning-factors.md [off-derived].
PALLET_FOOTPRINT_M2 = 2.64 * 2.13

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Frozen(BaseModel):
    """Base of every scenario model: immutable, unknown keys are errors."""

    # strict: TOML `count = true` or `lat = "39.1"` is an error, not silently converted. Lists and
    # enum names are the exceptions (Lax below): TOML has no tuples and writes enums as text.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


Lax = Field(strict=False)


class Mode(str, Enum):
    """How a leg is travelled; each carrier type belongs to one mode."""

    air = "air"
    sea = "sea"
    rail = "rail"
    road = "road"


class NodeKind(str, Enum):
    """What a node is; capacities are given by the keys present, the kind is for people and maps."""

    depot = "depot"
    airbase = "airbase"
    seaport = "seaport"
    railhead = "railhead"
    border_crossing = "border_crossing"


class Closure(Frozen):
    """A period in which a node handles nothing: no loading, unloading or departure.

    Carriers arriving meanwhile queue for a spot or berth (and may hold a free one) until it reopens.
    """

    start_day: NonNegFloat
    end_day: NonNegFloat
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end_day <= self.start_day:
            raise ValueError(f"end_day ({self.end_day}) must be after start_day ({self.start_day})")
        return self


class Node(Frozen):
    """A place cargo waits or is handled: depot, airfield, seaport, railhead, border crossing."""

    name: str = ""
    kind: Annotated[NodeKind, Lax]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    parking_spots: Annotated[int, Field(ge=0)] | None = None
    operating_hours_per_day: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)] = 24.0
    opens_at_h: Annotated[float, Field(ge=0, lt=24, allow_inf_nan=False)] = 0.0
    berths: Annotated[int, Field(ge=0)] | None = None
    handling_rate_t_per_day: PositiveFloat | None = None
    throughput_t_per_day: PositiveFloat | None = None
    closures: Annotated[tuple[Closure, ...], Lax] = ()
    source: str = ""


class Leg(Frozen):
    """One hop by one mode between two nodes. Air distance defaults to great circle x routing factor."""

    from_: Id = Field(alias="from")
    to: Id
    mode: Annotated[Mode, Lax]
    distance_nm: PositiveFloat | None = None
    distance_km: PositiveFloat | None = None
    routing_factor: Annotated[float, Field(ge=1, le=3, allow_inf_nan=False)] = 1.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @model_validator(mode="after")
    def _distance(self) -> Leg:
        if self.distance_nm is not None and self.distance_km is not None:
            raise ValueError("give distance_nm or distance_km, not both")
        if self.mode is not Mode.air and self.distance_nm is None and self.distance_km is None:
            raise ValueError(f"a {self.mode.value} leg needs distance_nm or distance_km")
        if self.from_ == self.to:
            raise ValueError(f'from and to are the same node "{self.to}"')
        return self


class Route(Frozen):
    """A chain of legs from an origin to a hand-over node."""

    legs: Annotated[tuple[Id, ...], Field(min_length=1), Lax]
    name: str = ""


class CarrierType(Frozen):
    """An aircraft, vessel, train or truck type with its planning factors.

    For aircraft `load_time_h` and `unload_time_h` are the ground times at each end.
    For vessels they may be left out, and the port's handling rate gives the time.
    """

    mode: Annotated[Mode, Lax]
    name: str = ""
    payload_t: PositiveFloat
    pallet_positions: Annotated[int, Field(ge=1)] | None = None
    deck_area_m2: PositiveFloat | None = None
    block_speed_kn: PositiveFloat | None = None
    speed_kn: PositiveFloat | None = None
    speed_kmh: PositiveFloat | None = None
    load_time_h: NonNegFloat | None = None
    unload_time_h: NonNegFloat | None = None
    daily_flying_hours: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)] | None = None
    source: str = ""

    @model_validator(mode="after")
    def _by_mode(self) -> CarrierType:
        needed = {Mode.air: "block_speed_kn", Mode.sea: "speed_kn", Mode.rail: "speed_kmh", Mode.road: "speed_kmh"}[self.mode]
        if getattr(self, needed) is None:
            raise ValueError(f"a carrier for {self.mode.value} needs {needed}")
        for key in ("block_speed_kn", "speed_kn", "speed_kmh"):
            if key != needed and getattr(self, key) is not None:
                raise ValueError(f"{key} does not apply to a carrier for {self.mode.value} (use {needed})")
        if self.mode is not Mode.sea and (self.load_time_h is None or self.unload_time_h is None):
            raise ValueError(f"a carrier for {self.mode.value} needs load_time_h and unload_time_h")
        if self.mode is not Mode.air and self.daily_flying_hours is not None:
            raise ValueError("daily_flying_hours applies to aircraft only")
        return self

    def speed_kmh_equivalent(self) -> float:
        """Cruise or block speed in km/h, whatever the mode."""
        kn = self.block_speed_kn or self.speed_kn
        return kn * 1.852 if kn is not None else float(self.speed_kmh)  # type: ignore[arg-type]


class CargoClass(Frozen):
    """A kind of cargo: its unit, shipping weight per unit, and how units pack.

    Palletized classes give `units_per_pallet` (463L); rolling stock gives `footprint_m2`.
    `per_load` caps units per load by carrier type (a C-17 takes 2 Bradleys).
    """

    name: str = ""
    unit: str
    unit_weight_t: PositiveFloat
    units_per_pallet: PositiveFloat | None = None
    footprint_m2: PositiveFloat | None = None
    divisible: bool = False
    priority: Annotated[int, Field(ge=1, le=99)] = 5
    carriers: Annotated[tuple[Id, ...] | None, Lax] = None
    per_load: dict[Id, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    source: str = ""

    @model_validator(mode="after")
    def _packing(self) -> CargoClass:
        if (self.units_per_pallet is None) == (self.footprint_m2 is None):
            raise ValueError("give exactly one of units_per_pallet (palletized) or footprint_m2 (rolling stock)")
        return self


class Release(Frozen):
    """When a quantity becomes available at an origin: all at `start_day`, or `per_day` from then."""

    node: Id
    quantity: PositiveFloat | None = None
    start_day: NonNegFloat = 0.0
    per_day: PositiveFloat | None = None


class Requirement(Frozen):
    """What must arrive: the target quantity of a class, the routes it may take, and its release."""

    quantity: PositiveFloat
    routes: Annotated[tuple[Id, ...], Field(min_length=1), Lax]
    route_shares: dict[Id, Fraction] | None = None
    release: Annotated[tuple[Release, ...], Field(min_length=1), Lax]

    @model_validator(mode="after")
    def _consistent(self) -> Requirement:
        if self.route_shares is not None:
            total = sum(self.route_shares.values())
            if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-6):
                raise ValueError(f"route_shares must add up to 1, got {total:g}")
            extra = sorted(set(self.route_shares) - set(self.routes))
            if extra:
                raise ValueError(f"route_shares names routes not in routes: {', '.join(extra)}")
        unspecified = [r for r in self.release if r.quantity is None]
        if len(unspecified) > 1:
            raise ValueError("at most one release entry may leave out quantity (it takes the remainder)")
        given = sum(r.quantity for r in self.release if r.quantity is not None)
        if unspecified and given >= self.quantity:
            raise ValueError(f"the release quantities already add up to {given:g}: nothing left for the entry without quantity")
        if not unspecified and not math.isclose(given, self.quantity, rel_tol=1e-9):
            raise ValueError(f"release quantities add up to {given:g}, but quantity is {self.quantity:g}")
        return self

    def release_quantities(self) -> tuple[float, ...]:
        """Quantity of each release entry, the one without quantity taking the remainder."""
        given = sum(r.quantity for r in self.release if r.quantity is not None)
        return tuple(r.quantity if r.quantity is not None else self.quantity - given for r in self.release)


class Fleet(Frozen):
    """Carriers of one type serving one or more legs that start at the same node (their home).

    Either `count` carriers that shuttle (or sail once when `cycling = false`), or a scheduled
    service with `departures_per_day` and as many vehicles as it needs.
    """

    carrier: Id
    legs: Annotated[tuple[Id, ...], Field(min_length=1), Lax]
    count: Annotated[int, Field(ge=0, le=100_000)] | None = None
    departures_per_day: Annotated[float, Field(gt=0, le=1440, allow_inf_nan=False)] | None = None
    available_from_day: NonNegFloat = 0.0
    cycling: bool = True
    max_hold_h: NonNegFloat = 0.0
    source: str = ""

    @model_validator(mode="after")
    def _sized(self) -> Fleet:
        if (self.count is None) == (self.departures_per_day is None):
            raise ValueError("give exactly one of count (carriers that shuttle) or departures_per_day (a scheduled service)")
        return self


class Reliability(Frozen):
    """Breakdowns of one carrier type: a sortie lost with some probability, then a repair."""

    breakdown_probability: Fraction = 0.0  # per loaded movement
    breakdown_at: Literal["origin", "destination"] = "origin"  # destination: it holds its spot or berth while repaired
    repair_time_h: Distribution | None = None
    unavailable_at_start: Fraction = 0.0  # each carrier is down at the start with this probability, back after a repair

    @model_validator(mode="after")
    def _repair(self) -> Reliability:
        if (self.breakdown_probability > 0 or self.unavailable_at_start > 0) and self.repair_time_h is None:
            raise ValueError("breakdowns need repair_time_h")
        return self


class Weather(Frozen):
    """Random closures of a node: each day one starts with this probability, at a uniform time of day."""

    daily_closure_probability: Fraction
    closure_duration_h: Distribution


class Activation(Frozen):
    """Activation of a fleet's carriers: each is ready on time with `ready_probability`, else delayed."""

    ready_probability: Fraction = 0.0
    delay_days: Distribution


class ReleaseVariation(Frozen):
    """How the release of a class from depot stocks varies."""

    per_day_factor: Distribution | None = None  # multiplies each daily release (per_day schedules)
    start_delay_days: Distribution | None = None  # delays every release of the class

    @model_validator(mode="after")
    def _moves(self) -> ReleaseVariation:
        if self.per_day_factor is not None and self.per_day_factor.mean <= 0:
            raise ValueError("per_day_factor must have a mean above 0, or nothing would ever be released")
        return self


class Uncertainty(Frozen):
    """Distributions attached to uncertain inputs; leave the block out for one deterministic run.

    Time factors multiply planned times (1 = as planned), per mode.
    """

    travel_time_factor: dict[Annotated[Mode, Lax], Distribution] = Field(default_factory=dict)
    handling_time_factor: dict[Annotated[Mode, Lax], Distribution] = Field(default_factory=dict)
    reliability: dict[Id, Reliability] = Field(default_factory=dict)  # by carrier type
    weather: dict[Id, Weather] = Field(default_factory=dict)  # by node
    activation: dict[Id, Activation] = Field(default_factory=dict)  # by fleet
    release: dict[Id, ReleaseVariation] = Field(default_factory=dict)  # by cargo class

    @property
    def empty(self) -> bool:
        return not any((self.travel_time_factor, self.handling_time_factor, self.reliability, self.weather,
                        self.activation, self.release))


Dispatch = Literal["greedy", "earliest_arrival"]
DISPATCH_POLICIES: tuple[str, ...] = ("earliest_arrival", "greedy")  # the default first


class Scenario(Frozen):
    """A whole scenario after library and `extends` merges: the one input of a run."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")]
    title: str = ""
    description: str = ""
    start_date: Annotated[dt.date, Lax]  # TOML date (2024-12-12); ISO text is accepted too
    deadline_days: Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)]
    horizon_days: Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)] | None = None
    nodes: Annotated[dict[Id, Node], Field(min_length=1)]
    legs: Annotated[dict[Id, Leg], Field(min_length=1)]
    routes: Annotated[dict[Id, Route], Field(min_length=1)]
    carriers: Annotated[dict[Id, CarrierType], Field(min_length=1)]
    cargo: Annotated[dict[Id, CargoClass], Field(min_length=1)]
    requirements: Annotated[dict[Id, Requirement], Field(min_length=1)]
    fleets: Annotated[dict[Id, Fleet], Field(min_length=1)]
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    # how carriers choose their cargo (sim.model.dispatch, docs/model.md)
    dispatch: Dispatch = "earliest_arrival"

    @model_validator(mode="after")
    def _horizon(self) -> Scenario:
        if self.horizon_days is not None and self.horizon_days < self.deadline_days:
            raise ValueError(f"horizon_days ({self.horizon_days:g}) must not be shorter than deadline_days ({self.deadline_days:g})")
        return self

    def planned(self) -> Scenario:
        """The same scenario without its uncertainty block: one deterministic run at planned values."""
        return self.model_copy(update={"uncertainty": Uncertainty()})

    def fingerprint(self) -> str:
        """SHA-256 of the fully resolved scenario (after library and extends merges)."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def horizon(self) -> float:
        """Days simulated: `horizon_days`, or twice the deadline so late closure is still measured."""
        return self.horizon_days if self.horizon_days is not None else 2 * self.deadline_days
