"""What one simulation run leaves behind: a compact record of movements, deliveries and resource use.

Plain dataclasses and tuples, cheap to pickle between processes; measuring and writing
happen elsewhere. Times are hours from the scenario start.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Trip:
    """One loaded movement of one carrier over one leg."""

    carrier_id: str
    carrier_type: str
    fleet: str
    mode: str
    leg: str
    origin: str
    destination: str
    load_start_h: float
    departure_h: float
    arrival_h: float
    unload_end_h: float
    tonnes: float
    cargo: tuple[tuple[str, float], ...]  # (class, quantity) aboard, sorted by class


@dataclass
class FacilityUse:
    """Use of one constrained node resource: parking spots, berths or land handling."""

    name: str
    kind: str  # "parking_spots" | "berths" | "handling"
    node: str
    capacity: float
    busy_h: float = 0.0  # unit-hours in use (spot-hours, berth-hours, handling-hours)
    wait_h: float = 0.0  # carrier-hours spent queuing for it
    uses: int = 0
    peak_in_use: int = 0  # most units in use at once (never above capacity)
    daily_busy_h: list[float] = field(default_factory=list)  # unit-hours in use per day


@dataclass
class FleetUse:
    """Time the carriers of one fleet spent working, waiting for cargo, and queuing."""

    fleet: str
    carrier_type: str
    mode: str
    carriers: int  # 0 for a scheduled service
    working_h: float = 0.0  # loading, moving, unloading, returning
    idle_h: float = 0.0  # at home with no cargo to take
    queue_h: float = 0.0  # waiting for a spot, berth, handling slot, opening hours or flying-hour budget
    down_h: float = 0.0  # broken down or not yet mission capable, under repair


@dataclass
class RunRecord:
    """Everything measured in one replication."""

    end_h: float
    horizon_h: float
    deliveries: dict[str, list[tuple[float, float]]]  # class -> (time h, quantity) in time order
    released: dict[str, float]
    delivered: dict[str, float]
    in_transit: dict[str, float]
    waiting: dict[str, float]
    movements: dict[str, int]  # carrier type -> loaded movements
    tonnes_by_mode: dict[str, float]
    facilities: list[FacilityUse]
    fleets: list[FleetUse]
    trips: list[Trip] | None = None  # only when asked for
    # (time h, class, released, delivered, in transit, waiting) at every day boundary, for audits
    balance: list[tuple[float, str, float, float, float, float]] = field(default_factory=list)
    tonnes_by_leg: dict[tuple[str, str], float] = field(default_factory=dict)  # (fleet, leg) -> tonnes moved
