"""Carriers as SimPy processes built from steps: shuttles (aircraft, vessels, trains, trucks) and scheduled services.

A shuttle's cycle is a sequence of steps, each a generator of its own: wait for cargo
(`await_cargo`), queue for a parking spot, berth or handling slot (`acquire`), load
(`load`), move (`move`), unload at the far end (`unload`), and return empty (`move`
again), or end there for a single voyage. A scheduled service departs every 24/n hours
with whatever waits, with as many vehicles as it needs. What to take is the dispatch
policy's (`sim.model.dispatch`); what is counted is the accounts' (`sim.model.accounting`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from sim import rules
from sim.model.accounting import CarrierClock
from sim.model.facilities import Facility
from sim.model.nodes import NodeState
from sim.packing import Load, empty_load
from sim.record import Trip
from sim.schema import CarrierType, Fleet, Mode

if TYPE_CHECKING:
    from sim.model.world import World

Steps = Generator[simpy.Event, Any, Any]


def start_fleet(world: World, fleet_id: str) -> None:
    """Start the processes of one fleet."""
    fleet = world.scenario.fleets[fleet_id]
    if fleet.departures_per_day is not None:
        world.env.process(scheduled_service(world, fleet_id))
        return
    for i in range(fleet.count or 0):
        world.env.process(shuttle(world, Shuttle.of(world, fleet_id, i)))


class FlyingHours:
    """Daily flying-hour limit as a budget: it accrues at limit/24 per hour, at most one day's worth banked."""

    def __init__(self, limit_per_day: float | None):
        self.limit = limit_per_day
        self.budget = limit_per_day or 0.0
        self.at = 0.0

    def wait_h(self, now: float, flight_h: float) -> float:
        """Hours to wait before a flight of `flight_h` may start."""
        if self.limit is None:
            return 0.0
        self.budget = min(self.limit, self.budget + (now - self.at) * self.limit / 24.0)
        self.at = now
        need = min(flight_h, self.limit)
        return max(0.0, (need - self.budget) * 24.0 / self.limit)

    def fly(self, now: float, flight_h: float) -> None:
        """Spend the budget of a flight starting now."""
        if self.limit is not None:
            self.budget = min(self.limit, self.budget + (now - self.at) * self.limit / 24.0) - flight_h
            self.at = now


@dataclass
class Shuttle:
    """One carrier of a fleet during a run: who it is, where home is, its clock and flying-hour budget."""

    id: str
    index: int
    fleet_id: str
    fleet: Fleet
    type_id: str
    carrier: CarrierType
    home: NodeState
    clock: CarrierClock
    hours: FlyingHours = field(default_factory=lambda: FlyingHours(None))

    @property
    def mode(self) -> Mode:
        return self.carrier.mode

    @classmethod
    def of(cls, world: World, fleet_id: str, index: int) -> Shuttle:
        """Carrier `index` of a fleet, at the start of its first leg."""
        s = world.scenario
        fleet = s.fleets[fleet_id]
        carrier = s.carriers[fleet.carrier]
        return cls(f"{fleet_id}-{index + 1:03d}", index, fleet_id, fleet, fleet.carrier, carrier,
                   world.nodes[s.legs[fleet.legs[0]].from_], world.accounts.clock(fleet_id),
                   FlyingHours(carrier.daily_flying_hours))


# --- steps -----------------------------------------------------------------------------------------


def handle(world: World, node: NodeState, carrier: CarrierType, carrier_id: str, tonnes: float,
           loading: bool, clock: CarrierClock, held_h: float = 0.0, last_share: float = 1.0) -> Steps:
    """Load or unload at a node for the mode's time, within the node's open hours and its land handling limit.

    A carrier that held `held_h` open hours for more cargo loaded what it had meanwhile: what is
    left is the larger of its time less `held_h` and the time for the last share of the load.
    """
    mode = carrier.mode
    own_h = rules.own_time_h(carrier, world.scenario.nodes[node.id], loading, tonnes)
    own_h = world.vary.handling(carrier_id, mode, own_h)
    own_h = max(own_h - held_h, own_h * last_share, 0.0)
    if node.handling is not None and rules.uses_land_handling(mode, world.scenario.nodes[node.id], node.handling_on_unload, loading):
        clock.to("queue_h")
        request = yield from node.handling.acquire()
        clock.to("working_h")
        assert node.handling_rate_t_per_h is not None
        slot_h = world.vary.handling(carrier_id, mode, tonnes / node.handling_rate_t_per_h)
        yield from node.calendar.work(world.env, slot_h)
        node.handling.release(request)
        own_h = max(0.0, own_h - slot_h)
    yield from node.calendar.work(world.env, own_h)


def await_cargo(world: World, c: Shuttle) -> Steps:
    """Wait at home, idle, until the dispatch policy names a leg to load for; returns it."""
    c.clock.to("idle_h")
    policy, legs = world.policy, c.fleet.legs
    policy.at(c.id, c.home.id, world.env.now)
    leg_id = policy.choose_leg(c.home, legs, c.fleet_id, c.id)
    while leg_id is None:
        cargo_came = world.wait_for_cargo(c.home, legs, c.type_id)
        retry_h = policy.retry_after_h(c.id)
        if retry_h is None:
            yield cargo_came
        else:  # the policy left the cargo to a carrier due sooner: look again when it was due
            yield cargo_came | world.env.timeout(retry_h)
            if not cargo_came.triggered:
                c.home.cancel(cargo_came)
        leg_id = policy.choose_leg(c.home, legs, c.fleet_id, c.id)
    return leg_id


def wait_flying_hours(world: World, c: Shuttle, flight_h: float) -> Steps:
    """Queue until the daily flying-hour budget allows a flight of `flight_h`."""
    c.clock.to("queue_h")
    wait = c.hours.wait_h(world.env.now, flight_h)
    if wait > 0:
        yield world.env.timeout(wait)


def acquire(world: World, node: NodeState, c: Shuttle) -> Generator[simpy.Event, Any, tuple[Facility | None, Any]]:
    """Queue for the node's spot or berth (if the mode uses one) and for its open hours; returns (facility, request)."""
    c.clock.to("queue_h")
    facility = node.facility(rules.facility_kind(c.mode))
    request = (yield from facility.acquire()) if facility is not None else None
    yield from node.calendar.wait_open(world.env)
    c.clock.to("working_h")
    return facility, request


def release(facility: Facility | None, request: Any) -> None:
    """Give back what `acquire` took."""
    if facility is not None:
        facility.release(request)


def load(world: World, c: Shuttle, leg_id: str, facility: Facility | None, request: Any
         ) -> Generator[simpy.Event, Any, tuple[Load | None, float]]:
    """Take cargo aboard at home and load it; returns (load, load start), or (None, _) when the sortie is lost.

    A sortie is lost when the cargo is gone (another carrier took it while this one queued:
    it waits for more) or the carrier breaks down before leaving (cargo back to stock,
    carrier repaired). Either way the facility is given back.
    """
    env = world.env
    load_start = env.now
    cargo = world.take(c.home, leg_id, c.fleet_id, c.id, empty_load())
    if cargo.empty:
        world.policy.at(c.id, c.home.id, env.now)
        release(facility, request)
        c.clock.to("idle_h")
        yield world.wait_for_cargo(c.home, c.fleet.legs, c.type_id)
        return None, load_start
    repair_h = world.vary.breakdown_h(c.type_id, c.id, "origin")
    if repair_h > 0:
        world.put_back(c.home, cargo)
        world.policy.at(c.id, c.home.id, env.now + repair_h)
        release(facility, request)
        c.clock.to("down_h")
        yield env.timeout(repair_h)
        return None, load_start
    last_share = 1.0
    world.policy.took(c.id, c.home.id, cargo, load_start + c.fleet.max_hold_h)
    if c.fleet.max_hold_h > 0:
        last_share = yield from hold_for_more(world, c, leg_id, cargo, load_start + c.fleet.max_hold_h)
    # busy loading its own cargo: due back home after this cycle, at planned times
    leg = world.scenario.legs[leg_id]
    back_h = (env.now + rules.own_time_h(c.carrier, world.scenario.nodes[leg.from_], True, cargo.weight_t)
              + 2 * rules.travel_time_h(world.scenario, leg_id, c.type_id)
              + rules.own_time_h(c.carrier, world.scenario.nodes[leg.to], False, cargo.weight_t))
    world.policy.at(c.id, c.home.id, back_h) if c.fleet.cycling else world.policy.gone(c.id)
    yield from handle(world, c.home, c.carrier, c.id, cargo.weight_t, True, c.clock,
                      held_h=c.home.calendar.open_hours(load_start, env.now), last_share=last_share)
    release(facility, request)
    return cargo, load_start


def hold_for_more(world: World, c: Shuttle, leg_id: str, cargo: Load, until_h: float) -> Generator[simpy.Event, Any, float]:
    """Keep the berth and top up the load as cargo arrives, until nearly full or `until_h`.

    Returns the share of the final load's weight that came aboard in the last top-up (0 if nothing
    came after the first take, which was loading all along), still to be loaded when the hold ends.
    """
    env, payload, policy = world.env, c.carrier.payload_t, world.policy
    c.clock.to("idle_h")
    last_share = 0.0
    while (env.now < until_h and cargo.weight_t < 0.99 * payload and cargo.floor_used < 0.99
           and policy.keep_holding(c.home, leg_id, c.fleet_id, c.id, cargo)):
        yield c.home.changed() | env.timeout(until_h - env.now)
        before = cargo.weight_t
        world.take(c.home, leg_id, c.fleet_id, c.id, cargo)
        if cargo.weight_t > before:
            last_share = (cargo.weight_t - before) / cargo.weight_t
            policy.took(c.id, c.home.id, cargo, until_h)
    c.clock.to("working_h")
    return last_share


def move(world: World, c: Shuttle, flight_h: float) -> Steps:
    """Move over a leg (loaded or empty) for `flight_h`, spending flying hours."""
    c.hours.fly(world.env.now, flight_h)
    yield world.env.timeout(flight_h)


def unload(world: World, c: Shuttle, far: NodeState, cargo: Load) -> Generator[simpy.Event, Any, float]:
    """Queue at the far end, unload, put the cargo down, and be repaired there if broken; returns when unloading ended."""
    env = world.env
    facility, request = yield from acquire(world, far, c)
    for part in world.policy.discharge(far, c.type_id, cargo):
        yield from handle(world, far, c.carrier, c.id, part.weight_t, False, c.clock)
        world.put_down(far, part)
        world.policy.arrived(far.id, part.weight_t)
    unloaded = env.now
    repair_h = world.vary.breakdown_h(c.type_id, c.id, "destination")
    if repair_h > 0:  # broken after unloading: repaired where it stands, keeping its spot or berth
        c.clock.to("down_h")
        yield env.timeout(repair_h)
    release(facility, request)
    return unloaded


# --- processes ---------------------------------------------------------------------------------


def become_available(world: World, c: Shuttle) -> Steps:
    """Wait for the carrier's activation, then for it to be mission capable."""
    env = world.env
    start_h = world.vary.available_from_h(c.fleet_id, c.index, c.fleet.available_from_day * 24.0)
    world.policy.at(c.id, c.home.id, start_h)
    if start_h > 0:
        yield env.timeout(start_h)
    down_h = world.vary.down_at_start_h(c.type_id, c.id)
    if down_h > 0:
        c.clock.to("down_h")
        yield env.timeout(down_h)


def shuttle(world: World, c: Shuttle) -> Steps:
    """One carrier of a fleet: load at home, move, unload, come back; repeat (or stop after one voyage)."""
    env, s = world.env, world.scenario
    yield from become_available(world, c)
    while True:
        leg_id = yield from await_cargo(world, c)
        leg = s.legs[leg_id]
        out_h = world.travel_h(c.fleet_id, c.id, leg_id)
        yield from wait_flying_hours(world, c, out_h)
        facility, request = yield from acquire(world, c.home, c)
        cargo, load_start = yield from load(world, c, leg_id, facility, request)
        if cargo is None:
            continue
        departure = env.now
        back_h = departure + 2 * out_h + rules.own_time_h(c.carrier, s.nodes[leg.to], False, cargo.weight_t)
        world.policy.departed(c.id, leg.to, cargo.weight_t, back_h if c.fleet.cycling else None, c.home.id)
        yield from move(world, c, out_h)
        arrival = env.now
        unloaded = yield from unload(world, c, world.nodes[leg.to], cargo)
        world.accounts.record_trip(_trip(c.id, c.type_id, c.fleet_id, c.mode, leg_id, leg.from_, leg.to,
                                         load_start, departure, arrival, unloaded, cargo))
        if not c.fleet.cycling:
            c.clock.to(None)
            return
        back_h = world.travel_h(c.fleet_id, c.id, leg_id)
        yield from wait_flying_hours(world, c, back_h)
        c.clock.to("working_h")
        yield from move(world, c, back_h)


def scheduled_service(world: World, fleet_id: str) -> Steps:
    """A timetable: every 24/n hours a departure takes what waits (if anything) and runs the leg."""
    env, s = world.env, world.scenario
    fleet = s.fleets[fleet_id]
    home = world.nodes[s.legs[fleet.legs[0]].from_]
    interval_h = 24.0 / float(fleet.departures_per_day)  # type: ignore[arg-type]
    t = world.vary.available_from_h(fleet_id, 0, fleet.available_from_day * 24.0)
    k = 0
    while True:
        if t > env.now:
            yield env.timeout(t - env.now)
        run_id = f"{fleet_id}#{k + 1:05d}"
        leg_id = world.policy.choose_leg(home, fleet.legs, fleet_id, run_id)
        if leg_id is not None:
            cargo = world.take(home, leg_id, fleet_id, run_id, empty_load())
            env.process(_service_run(world, fleet_id, run_id, leg_id, cargo))
        k += 1
        t += interval_h


def _service_run(world: World, fleet_id: str, carrier_id: str, leg_id: str, cargo: Load) -> Steps:
    env, s = world.env, world.scenario
    ctype_id = s.fleets[fleet_id].carrier
    carrier = s.carriers[ctype_id]
    leg = s.legs[leg_id]
    clock = world.accounts.clock(fleet_id)
    clock.to("working_h")
    load_start = env.now
    yield from handle(world, world.nodes[leg.from_], carrier, carrier_id, cargo.weight_t, True, clock)
    departure = env.now
    yield env.timeout(world.travel_h(fleet_id, carrier_id, leg_id))
    arrival = env.now
    yield from handle(world, world.nodes[leg.to], carrier, carrier_id, cargo.weight_t, False, clock)
    world.put_down(world.nodes[leg.to], cargo)
    world.accounts.record_trip(_trip(carrier_id, ctype_id, fleet_id, carrier.mode, leg_id, leg.from_, leg.to,
                                     load_start, departure, arrival, env.now, cargo))
    clock.to(None)


def _trip(carrier_id: str, ctype_id: str, fleet_id: str, mode: Mode, leg_id: str, origin: str, destination: str,
          load_start: float, departure: float, arrival: float, unload_end: float, cargo: Load) -> Trip:
    return Trip(carrier_id, ctype_id, fleet_id, mode.value, leg_id, origin, destination, load_start, departure,
                arrival, unload_end, cargo.weight_t, tuple(sorted(cargo.by_class().items())))
