"""The simulated world: nodes with ledgers and facilities, a dispatch policy, fleets as processes, one run of it."""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import simpy

from sim import rules
from sim.model.accounting import Accounts
from sim.model.calendar import Calendar
from sim.model.carriers import start_fleet
from sim.model.dispatch import CargoMatch, DispatchPolicy
from sim.model.facilities import Facility
from sim.model.nodes import NodeState
from sim.model.policies import make_policy
from sim.network import Network, release_schedule
from sim.packing import Load, floor_share, pack
from sim.record import FacilityUse, RunRecord
from sim.schema import Scenario
from sim.variation import Variation


class World:
    """Everything one run needs, built from a scenario, a generator and its random variation."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator, keep_trips: bool = False,
                 policy: str | None = None):
        self.scenario = scenario
        self.rng = rng
        self.env = simpy.Environment()
        self.network = Network(scenario)
        self.vary = Variation(scenario, rng)
        self.horizon_h = scenario.horizon * 24.0
        self.accounts = Accounts(self.env, scenario, keep_trips)
        days = int(math.ceil(scenario.horizon))
        self.nodes = {nid: self._build_node(nid, days) for nid in scenario.nodes}
        self.share = {
            (cid, cls): floor_share(scenario.cargo[cls], scenario.carriers[cid], cid)
            for cid in scenario.carriers for cls in scenario.requirements
        }
        self.order = sorted(scenario.requirements, key=lambda c: (scenario.cargo[c].priority, c))
        self.match = CargoMatch(self)
        self.policy: DispatchPolicy = make_policy(policy or scenario.dispatch, self)

    def _build_node(self, node_id: str, days: int) -> NodeState:
        node = self.scenario.nodes[node_id]
        weights = {cls: self.scenario.cargo[cls].unit_weight_t for cls in self.scenario.requirements}
        closed = rules.closed_intervals(node, self.horizon_h, self.vary.closures(node_id, self.horizon_h))
        state = NodeState(self.env, node_id, Calendar(closed), weights)
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
            self.accounts.released[cls] += qty
            self.policy.released(node, (cls, tag), qty)
            self.nodes[node].add((cls, tag), qty)

    def take(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str, load: Load) -> Load:
        """Fill `load` from the node's stock with what the dispatch policy offers for this leg."""
        before = dict(load.quantities)
        carrier_type = self.scenario.fleets[fleet_id].carrier
        pack(load, self.policy.offers(node, leg_id, fleet_id, carrier_id), self.scenario.carriers[carrier_type].payload_t)
        for key, qty in load.quantities.items():
            added = qty - before.get(key, 0.0)
            if added > 0:
                node.stock.take(key, added, carrier_id)
                self.accounts.in_transit[key[0]] += added
        if node.stock:
            node.wake()  # cargo left behind: maybe for another carrier
        return load

    def put_back(self, node: NodeState, load: Load) -> None:
        """Return a load to the node's stock (its carrier broke down before leaving)."""
        for key, qty in load.quantities.items():
            self.accounts.in_transit[key[0]] -= qty
            node.add(key, qty)

    def wait_for_cargo(self, node: NodeState, legs: tuple[str, ...], carrier_type: str) -> simpy.Event:
        """An event that fires when cargo that this carrier type may take on one of `legs` may be waiting."""
        return node.wait_for(self.match.keys(node.id, legs, carrier_type), self.scenario.carriers[carrier_type].payload_t)

    def put_down(self, node: NodeState, load: Load) -> None:
        """Unloaded cargo: delivered if this is its hand-over point, otherwise into the node's stock."""
        accounts = self.accounts
        for (cls, tag), qty in load.quantities.items():
            accounts.in_transit[cls] -= qty
            if node.id in self.network.hand_over[cls]:
                accounts.deliver(cls, qty)
            else:
                node.add((cls, tag), qty)
        accounts.check_done()

    def waiting(self) -> dict[str, float]:
        """Quantity of each class sitting in node stocks now."""
        out = {c: 0.0 for c in self.scenario.requirements}
        for node in self.nodes.values():
            for (cls, _tag), qty in node.stock.items():
                out[cls] += qty
        return out

    def travel_h(self, fleet_id: str, carrier_id: str, leg_id: str) -> float:
        """Hours one carrier of this fleet takes over the leg, with random variation if any."""
        carrier = self.scenario.fleets[fleet_id].carrier
        return self.vary.travel(carrier_id, self.scenario.carriers[carrier].mode, rules.travel_time_h(self.scenario, leg_id, carrier))

    # --- run -------------------------------------------------------------------------------

    def _audit(self) -> Generator[simpy.Event, None, None]:
        """Record each class's balance (released, delivered, in transit, waiting) at every day boundary."""
        while True:
            yield self.env.timeout(24.0)
            self.accounts.record_balance(self.waiting())

    def run(self) -> RunRecord:
        """Simulate until everything is delivered or the horizon is reached."""
        for cls in self.scenario.requirements:
            self.env.process(self.release_process(cls))
        for fleet_id in self.scenario.fleets:
            start_fleet(self, fleet_id)
        self.env.process(self._audit())
        stop = self.env.any_of([self.accounts.all_delivered, self.env.timeout(self.horizon_h)])
        try:
            self.env.run(until=stop)
        except RuntimeError as exc:  # nothing left that could happen: every carrier waits for cargo that never comes
            if "No scheduled events left" not in str(exc):
                raise
        end_h = min(self.env.now, self.horizon_h)
        a = self.accounts
        a.record_balance(self.waiting())
        a.stop_clocks()
        facilities = []
        for node in self.nodes.values():
            for fac in node.facilities():
                fac.close()
                facilities.append(fac.use)
        return RunRecord(
            end_h=end_h,
            horizon_h=self.horizon_h,
            deliveries=a.deliveries,
            released=a.released,
            delivered=a.delivered,
            in_transit=a.in_transit,
            waiting=self.waiting(),
            movements=dict(sorted(a.movements.items())),
            tonnes_by_mode=a.tonnes_by_mode,
            facilities=facilities,
            fleets=list(a.fleet_use.values()),
            trips=a.trips,
            balance=a.balance,
            tonnes_by_leg=dict(sorted(a.tonnes_by_leg.items())),
        )


def simulate(scenario: Scenario, rng: np.random.Generator, keep_trips: bool = False, policy: str | None = None) -> RunRecord:
    """Run one replication of `scenario` with generator `rng` (under `policy`, default the scenario's); keep the trip log if asked."""
    return World(scenario, rng, keep_trips, policy).run()
