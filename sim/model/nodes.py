"""One node during a run: its calendar, its facilities, its stock ledger, and the carriers waiting there for cargo."""

from __future__ import annotations

import simpy

from sim.model.calendar import Calendar
from sim.model.facilities import Facility
from sim.model.ledger import Key, StockLedger
from sim.rules import FacilityKind


class NodeState:
    """A node's calendar, facilities and stock, with the events carriers wait on for cargo."""

    def __init__(self, env: simpy.Environment, node_id: str, calendar: Calendar, unit_weight_t: dict[str, float]):
        self.env = env
        self.id = node_id
        self.calendar = calendar
        self.spots: Facility | None = None
        self.berths: Facility | None = None
        self.handling: Facility | None = None
        self.handling_rate_t_per_h: float | None = None
        self.handling_on_unload = False
        self.stock = StockLedger()
        self.unit_weight_t = unit_weight_t
        self._changed = env.event()
        self._waiters: list[tuple[frozenset[Key], float, simpy.Event]] = []

    def facility(self, kind: FacilityKind | None) -> Facility | None:
        """The parking spots or berths (None for a kind without a facility here)."""
        if kind == "parking_spots":
            return self.spots
        if kind == "berths":
            return self.berths
        return None

    def facilities(self) -> list[Facility]:
        """Every constrained facility of the node."""
        return [f for f in (self.spots, self.berths, self.handling) if f is not None]

    def changed(self) -> simpy.Event:
        """An event that fires the next time any cargo is added here."""
        return self._changed

    def wait_for(self, keys: frozenset[Key], payload_t: float) -> simpy.Event:
        """An event that fires when cargo with one of `keys` may be waiting for a carrier of `payload_t`."""
        event = self.env.event()
        self._waiters.append((keys, payload_t, event))
        return event

    def cancel(self, event: simpy.Event) -> None:
        """Stop waiting on an event from `wait_for` (its carrier woke for another reason)."""
        self._waiters = [w for w in self._waiters if w[2] is not event]

    def add(self, key: Key, quantity: float) -> None:
        """Put cargo into this node's stock and wake the carriers that may take it."""
        self.stock.hold(key, quantity)
        event, self._changed = self._changed, self.env.event()
        event.succeed()
        self.wake()

    def wake(self) -> None:
        """Wake waiting carriers, first come first served, until their payloads cover the stock they may take.

        Carriers that cannot take any waiting cargo stay asleep; one that wakes to find the cargo
        gone waits again, and a carrier that leaves cargo behind calls this again.
        """
        if not self._waiters:
            return
        covered: dict[frozenset[Key], float] = {}
        still = []
        for keys, payload_t, event in self._waiters:
            if keys not in covered:
                covered[keys] = sum(self.stock.held(k) * self.unit_weight_t[k[0]] for k in keys)
            if covered[keys] > 1e-9:
                covered[keys] -= payload_t
                event.succeed()
            else:
                still.append((keys, payload_t, event))
        self._waiters = still
