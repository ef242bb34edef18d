"""What a run counts, kept apart from how carriers behave: carrier clocks, trips, deliveries and the daily balance."""

from __future__ import annotations

from collections import defaultdict

import simpy

from sim.record import FleetUse, Trip
from sim.schema import Mode, Scenario


class CarrierClock:
    """Adds the time one carrier spends in each state to its fleet's totals."""

    STATES = ("working_h", "idle_h", "queue_h", "down_h")

    def __init__(self, env: simpy.Environment, use: FleetUse):
        self.env = env
        self.use = use
        self.state: str | None = None
        self.since = env.now

    def to(self, state: str | None) -> None:
        """Switch to `state` (one of STATES, or None for off)."""
        if state == self.state:
            return
        now = self.env.now
        if self.state is not None:
            self.use.__dict__[self.state] += now - self.since
        self.state, self.since = state, now

    def stop(self) -> None:
        """Account the current state up to now."""
        self.to(None)


class Accounts:
    """Cargo released, in transit and delivered per class; loaded movements; fleet clocks; the daily balance."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, keep_trips: bool):
        self.env = env
        classes = scenario.requirements
        self.fleet_use = {
            fid: FleetUse(fid, f.carrier, scenario.carriers[f.carrier].mode.value, f.count or 0)
            for fid, f in scenario.fleets.items()
        }
        self.released: dict[str, float] = {c: 0.0 for c in classes}
        self.in_transit: dict[str, float] = {c: 0.0 for c in classes}
        self.deliveries: dict[str, list[tuple[float, float]]] = {c: [] for c in classes}
        self.delivered: dict[str, float] = {c: 0.0 for c in classes}
        self.movements: dict[str, int] = defaultdict(int)
        self.tonnes_by_mode: dict[str, float] = {m.value: 0.0 for m in Mode}
        self.tonnes_by_leg: dict[tuple[str, str], float] = defaultdict(float)  # (fleet, leg) -> tonnes moved
        self.trips: list[Trip] | None = [] if keep_trips else None
        self.left_to_deliver = sum(r.quantity for r in classes.values())
        self.all_delivered = env.event()
        self.clocks: list[CarrierClock] = []
        self.balance: list[tuple[float, str, float, float, float, float]] = []

    def clock(self, fleet_id: str) -> CarrierClock:
        """A new clock for one carrier (or one service run) of a fleet."""
        clock = CarrierClock(self.env, self.fleet_use[fleet_id])
        self.clocks.append(clock)
        return clock

    def deliver(self, cls: str, quantity: float) -> None:
        """Count `quantity` of a class handed over now; fire `all_delivered` when nothing is left."""
        self.deliveries[cls].append((self.env.now, quantity))
        self.delivered[cls] += quantity
        self.left_to_deliver -= quantity

    def check_done(self) -> None:
        """Fire `all_delivered` once everything required has been handed over."""
        if self.left_to_deliver <= 1e-6 and not self.all_delivered.triggered:
            self.all_delivered.succeed()

    def record_trip(self, trip: Trip) -> None:
        """Count a loaded movement (and keep it, when trips are kept)."""
        self.movements[trip.carrier_type] += 1
        self.tonnes_by_mode[trip.mode] += trip.tonnes
        self.tonnes_by_leg[(trip.fleet, trip.leg)] += trip.tonnes
        if self.trips is not None:
            self.trips.append(trip)

    def record_balance(self, waiting: dict[str, float]) -> None:
        """Each class's released, delivered, in-transit and waiting quantities now."""
        for cls in self.released:
            self.balance.append((self.env.now, cls, self.released[cls], self.delivered[cls], self.in_transit[cls], waiting[cls]))

    def stop_clocks(self) -> None:
        """Account every clock up to now (at the end of the run)."""
        for clock in self.clocks:
            clock.stop()
