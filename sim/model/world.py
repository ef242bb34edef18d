"""The simulated world: nodes with stocks and facilities, fleets as processes, and one run of it."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Generator

import numpy as np
import simpy

from sim.model.calendar import Calendar
from sim.model.facilities import Facility
from sim.network import Network, release_schedule, travel_time_h
from sim.packing import Load, Offer, floor_share, pack
from sim.record import FacilityUse, FleetUse, RunRecord, Trip
from sim.schema import Mode, Scenario
from sim.variation import Variation

LAND_MODES = (Mode.rail, Mode.road)


class NodeState:
    """One node during a run: its calendar, its facilities and the cargo waiting there."""

    def __init__(self, env: simpy.Environment, node_id: str, calendar: Calendar):
        self.env = env
        self.id = node_id
        self.calendar = calendar
        self.spots: Facility | None = None
        self.berths: Facility | None = None
        self.handling: Facility | None = None
        self.handling_rate_t_per_h: float | None = None
        self.handling_on_unload = False
        self.stock: dict[tuple[str, str], float] = defaultdict(float)
        self._changed = env.event()
        self._waiters: list[tuple[frozenset[tuple[str, str]], float, simpy.Event]] = []
        self.unit_weight_t: dict[str, float] = {}

    def changed(self) -> simpy.Event:
        """An event that fires the next time any cargo is added here."""
        return self._changed

    def wait_for(self, keys: frozenset[tuple[str, str]], payload_t: float) -> simpy.Event:
        """An event that fires when cargo with one of `keys` may be waiting for a carrier of `payload_t`."""
        event = self.env.event()
        self._waiters.append((keys, payload_t, event))
        return event

    def add(self, key: tuple[str, str], quantity: float) -> None:
        """Put cargo into this node's stock and wake the carriers that may take it."""
        self.stock[key] += quantity
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
        covered: dict[frozenset[tuple[str, str]], float] = {}
        still = []
        for keys, payload_t, event in self._waiters:
            if keys not in covered:
                covered[keys] = sum(self.stock.get(k, 0.0) * self.unit_weight_t[k[0]] for k in keys)
            if covered[keys] > 1e-9:
                covered[keys] -= payload_t
                event.succeed()
            else:
                still.append((keys, payload_t, event))
        self._waiters = still


class World:
    """Everything one run needs, built from a scenario, a generator and its random variation."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator, keep_trips: bool = False):
        self.scenario = scenario
        self.rng = rng
        self.env = simpy.Environment()
        self.network = Network(scenario)
        self.vary = Variation(scenario, rng)
        self.horizon_h = scenario.horizon * 24.0
        self.trips: list[Trip] | None = [] if keep_trips else None
        days = int(math.ceil(scenario.horizon))
        self.nodes = {nid: self._build_node(nid, days) for nid in scenario.nodes}
        self.fleet_use = {
            fid: FleetUse(fid, f.carrier, scenario.carriers[f.carrier].mode.value, f.count or 0)
            for fid, f in scenario.fleets.items()
        }
        self.share = {
            (cid, cls): floor_share(scenario.cargo[cls], scenario.carriers[cid], cid)
            for cid in scenario.carriers for cls in scenario.requirements
        }
        self.order = sorted(scenario.requirements, key=lambda c: (scenario.cargo[c].priority, c))
        self.released: dict[str, float] = {c: 0.0 for c in scenario.requirements}
        self.in_transit: dict[str, float] = {c: 0.0 for c in scenario.requirements}
        self.deliveries: dict[str, list[tuple[float, float]]] = {c: [] for c in scenario.requirements}
        self.delivered: dict[str, float] = {c: 0.0 for c in scenario.requirements}
        self.movements: dict[str, int] = defaultdict(int)
        self.tonnes_by_mode: dict[str, float] = {m.value: 0.0 for m in Mode}
        self.left_to_deliver = sum(r.quantity for r in scenario.requirements.values())
        self.all_delivered = self.env.event()
        self.clocks: list[CarrierClock] = []
        self.balance: list[tuple[float, str, float, float, float, float]] = []
        self._candidate_cache: dict[tuple[str, str, str], list[tuple[tuple[str, str], float, float, bool]]] = {}

    def _build_node(self, node_id: str, days: int) -> NodeState:
        node = self.scenario.nodes[node_id]
        state_weights = {cls: self.scenario.cargo[cls].unit_weight_t for cls in self.scenario.requirements}
        closures = [(c.start_day * 24.0, c.end_day * 24.0) for c in node.closures]
        closures += self.vary.closures(node_id, self.horizon_h)
        state = NodeState(self.env, node_id, Calendar.for_node(node.operating_hours_per_day, node.opens_at_h, closures, self.horizon_h))
        state.unit_weight_t = state_weights
        # a capacity of 0 is only allowed where no served leg needs it (checks.check_movable): no facility then
        if node.parking_spots:
            state.spots = Facility(self.env, FacilityUse(f"{node_id} parking spots", "parking_spots", node_id, node.parking_spots), days)
        if node.berths:
            state.berths = Facility(self.env, FacilityUse(f"{node_id} berths", "berths", node_id, node.berths), days)
        if node.throughput_t_per_day is not None:
            state.handling = Facility(self.env, FacilityUse(f"{node_id} land handling", "handling", node_id, 1), days)
            state.handling_rate_t_per_h = node.throughput_t_per_day / 24.0
            state.handling_on_unload = node_id in self.network.land_arrivals
        return state

    # --- cargo -------------------------------------------------------------------------

    def release_process(self, cls: str) -> Generator[simpy.Event, None, None]:
        """Put each release of a class into its origin's stock at its time."""
        schedule = release_schedule(self.scenario, self.network, cls, self.vary.release_delay_days(cls),
                                    lambda: self.vary.daily_factor(cls))
        for t, node, tag, qty in schedule:
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self.released[cls] += qty
            self.nodes[node].add((cls, tag), qty)

    def _candidates(self, node_id: str, leg_id: str, carrier_id: str) -> list[tuple[tuple[str, str], float, float, bool]]:
        """Stock keys that may take `leg_id` aboard `carrier_id` at a node, highest priority first (cached)."""
        key = (node_id, leg_id, carrier_id)
        found = self._candidate_cache.get(key)
        if found is None:
            found = []
            for cls in self.order:
                share = self.share[(carrier_id, cls)]
                if share is None:
                    continue
                cargo = self.scenario.cargo[cls]
                for tag in self.network.tags[cls]:
                    if leg_id in self.network.next_legs[(cls, tag)].get(node_id, ()):
                        found.append(((cls, tag), cargo.unit_weight_t, share, cargo.divisible))
            self._candidate_cache[key] = found
        return found

    def offers(self, node: NodeState, leg_id: str, carrier_id: str) -> list[Offer]:
        """Cargo waiting at `node` that may take `leg_id` aboard `carrier_id`, highest priority first."""
        stock = node.stock
        return [Offer(key, stock[key], weight, share, divisible)
                for key, weight, share, divisible in self._candidates(node.id, leg_id, carrier_id)
                if stock.get(key, 0.0) > 1e-9]

    def choose_leg(self, node: NodeState, legs: tuple[str, ...], carrier_id: str) -> str | None:
        """The leg whose waiting cargo has the highest priority (first listed on a tie), or None."""
        best, best_rank = None, math.inf
        for leg_id in legs:
            offers = self.offers(node, leg_id, carrier_id)
            if offers:
                rank = self.scenario.cargo[offers[0].key[0]].priority
                if rank < best_rank:
                    best, best_rank = leg_id, rank
        return best

    def take(self, node: NodeState, leg_id: str, carrier_id: str, load: Load) -> Load:
        """Fill `load` from the node's stock for this leg, removing what goes aboard."""
        before = dict(load.quantities)
        pack(load, self.offers(node, leg_id, carrier_id), self.scenario.carriers[carrier_id].payload_t)
        for key, qty in load.quantities.items():
            added = qty - before.get(key, 0.0)
            if added > 0:
                node.stock[key] -= added
                if node.stock[key] <= 1e-9:
                    del node.stock[key]
                self.in_transit[key[0]] += added
        if node.stock:
            node.wake()  # cargo left behind: maybe for another carrier
        return load

    def put_back(self, node: NodeState, load: Load) -> None:
        """Return a load to the node's stock (its carrier broke down before leaving)."""
        for key, qty in load.quantities.items():
            self.in_transit[key[0]] -= qty
            node.add(key, qty)

    def wait_for_cargo(self, node: NodeState, legs: tuple[str, ...], carrier_id: str) -> simpy.Event:
        """An event that fires when cargo that this carrier type may take on one of `legs` may be waiting."""
        keys = frozenset(k for leg_id in legs for k, *_ in self._candidates(node.id, leg_id, carrier_id))
        return node.wait_for(keys, self.scenario.carriers[carrier_id].payload_t)

    def put_down(self, node: NodeState, load: Load) -> None:
        """Unloaded cargo: delivered if this is its hand-over point, otherwise into the node's stock."""
        for (cls, tag), qty in load.quantities.items():
            self.in_transit[cls] -= qty
            if node.id in self.network.hand_over[cls]:
                self.deliveries[cls].append((self.env.now, qty))
                self.delivered[cls] += qty
                self.left_to_deliver -= qty
            else:
                node.add((cls, tag), qty)
        if self.left_to_deliver <= 1e-6 and not self.all_delivered.triggered:
            self.all_delivered.succeed()

    def waiting(self) -> dict[str, float]:
        """Quantity of each class sitting in node stocks now."""
        out = {c: 0.0 for c in self.scenario.requirements}
        for node in self.nodes.values():
            for (cls, _tag), qty in node.stock.items():
                out[cls] += qty
        return out

    # --- times ---------------------------------------------------------------------------

    def travel_h(self, fleet_id: str, carrier_id: str, leg_id: str) -> float:
        """Hours one carrier of this fleet takes over the leg, with random variation if any."""
        carrier = self.scenario.fleets[fleet_id].carrier
        return self.vary.travel(carrier_id, self.scenario.carriers[carrier].mode, travel_time_h(self.scenario, leg_id, carrier))

    def record_trip(self, trip: Trip) -> None:
        """Count a loaded movement (and keep it, when trips are kept)."""
        self.movements[trip.carrier_type] += 1
        self.tonnes_by_mode[trip.mode] += trip.tonnes
        if self.trips is not None:
            self.trips.append(trip)

    # --- run -------------------------------------------------------------------------------

    def _audit(self) -> Generator[simpy.Event, None, None]:
        """Record each class's balance (released, delivered, in transit, waiting) at every day boundary."""
        while True:
            yield self.env.timeout(24.0)
            self._record_balance()

    def _record_balance(self) -> None:
        waiting = self.waiting()
        for cls in self.scenario.requirements:
            self.balance.append((self.env.now, cls, self.released[cls], self.delivered[cls], self.in_transit[cls], waiting[cls]))

    def run(self) -> RunRecord:
        """Simulate until everything is delivered or the horizon is reached."""
        from sim.model.carriers import start_fleet

        for cls in self.scenario.requirements:
            self.env.process(self.release_process(cls))
        for fleet_id in self.scenario.fleets:
            start_fleet(self, fleet_id)
        self.env.process(self._audit())
        stop = self.env.any_of([self.all_delivered, self.env.timeout(self.horizon_h)])
        try:
            self.env.run(until=stop)
        except RuntimeError as exc:  # nothing left that could happen: every carrier waits for cargo that never comes
            if "No scheduled events left" not in str(exc):
                raise
        end_h = min(self.env.now, self.horizon_h)
        self._record_balance()
        for clock in self.clocks:
            clock.stop()
        facilities = []
        for node in self.nodes.values():
            for fac in (node.spots, node.berths, node.handling):
                if fac is not None:
                    fac.close()
                    facilities.append(fac.use)
        return RunRecord(
            end_h=end_h,
            horizon_h=self.horizon_h,
            deliveries=self.deliveries,
            released=self.released,
            delivered=self.delivered,
            in_transit=self.in_transit,
            waiting=self.waiting(),
            movements=dict(sorted(self.movements.items())),
            tonnes_by_mode=self.tonnes_by_mode,
            facilities=facilities,
            fleets=list(self.fleet_use.values()),
            trips=self.trips,
            balance=self.balance,
        )


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


def simulate(scenario: Scenario, rng: np.random.Generator, keep_trips: bool = False) -> RunRecord:
    """Run one replication of `scenario` with generator `rng`; keep the trip log if asked."""
    return World(scenario, rng, keep_trips).run()
