"""Carriers as SimPy processes: shuttles (aircraft, vessels, trains, trucks) and scheduled services.

A shuttle waits at its home for cargo it may take, queues for a parking spot, berth or
handling slot, loads, moves, queues at the far end, unloads, and returns empty (or ends
there, for a single voyage). A scheduled service departs every 24/n hours with whatever
waits, with as many vehicles as it needs.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from sim.model.world import CarrierClock, NodeState, World
from sim.packing import Load, empty_load
from sim.record import Trip
from sim.schema import CarrierType, Mode


def start_fleet(world: World, fleet_id: str) -> None:
    """Start the processes of one fleet."""
    fleet = world.scenario.fleets[fleet_id]
    if fleet.departures_per_day is not None:
        world.env.process(scheduled_service(world, fleet_id))
        return
    for i in range(fleet.count or 0):
        world.env.process(shuttle(world, fleet_id, i))


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


def _facility(node: NodeState, mode: Mode):
    if mode is Mode.air:
        return node.spots
    if mode is Mode.sea:
        return node.berths
    return None


def handle(world: World, node: NodeState, mode: Mode, carrier: CarrierType, carrier_id: str, tonnes: float,
           loading: bool, clock: CarrierClock, held_h: float = 0.0, last_share: float = 1.0
           ) -> Generator[simpy.Event, None, None]:
    """Load or unload at a node for the mode's time, within the node's open hours and its land handling limit.

    A carrier that held `held_h` open hours for more cargo loaded what it had meanwhile: what is
    left is the larger of its time less `held_h` and the time for the last share of the load.
    """
    own_h = carrier.load_time_h if loading else carrier.unload_time_h
    if mode is Mode.sea and own_h is None:
        rate = world.scenario.nodes[node.id].handling_rate_t_per_day
        assert rate is not None, "checks.check_movable: a port without a rate needs vessel load/unload times"
        own_h = tonnes / rate * 24.0
    own_h = world.vary.handling(carrier_id, mode, float(own_h or 0.0))
    own_h = max(own_h - held_h, own_h * last_share, 0.0)
    uses_handling = mode in (Mode.rail, Mode.road) and node.handling is not None and node.handling_on_unload != loading
    if uses_handling:
        clock.to("queue_h")
        request = yield from node.handling.acquire()
        clock.to("working_h")
        slot_h = world.vary.handling(carrier_id, mode, tonnes / node.handling_rate_t_per_h)
        yield from node.calendar.work(world.env, slot_h)
        node.handling.release(request)
        own_h = max(0.0, own_h - slot_h)
    yield from node.calendar.work(world.env, own_h)


def shuttle(world: World, fleet_id: str, index: int) -> Generator[simpy.Event, None, None]:
    """One carrier of a fleet: load at home, move, unload, come back; repeat (or stop after one voyage)."""
    env, s = world.env, world.scenario
    fleet = s.fleets[fleet_id]
    carrier_id = f"{fleet_id}-{index + 1:03d}"
    ctype_id = fleet.carrier
    carrier = s.carriers[ctype_id]
    mode = carrier.mode
    home = world.nodes[s.legs[fleet.legs[0]].from_]
    clock = CarrierClock(env, world.fleet_use[fleet_id])
    world.clocks.append(clock)
    hours = FlyingHours(carrier.daily_flying_hours)
    start_h = world.vary.available_from_h(fleet_id, index, fleet.available_from_day * 24.0)
    if start_h > 0:
        yield env.timeout(start_h)
    down_h = world.vary.down_at_start_h(ctype_id, carrier_id)
    if down_h > 0:
        clock.to("down_h")
        yield env.timeout(down_h)
    while True:
        clock.to("idle_h")
        leg_id = world.choose_leg(home, fleet.legs, ctype_id)
        while leg_id is None:
            yield world.wait_for_cargo(home, fleet.legs, ctype_id)
            leg_id = world.choose_leg(home, fleet.legs, ctype_id)
        leg = s.legs[leg_id]
        out_h = world.travel_h(fleet_id, carrier_id, leg_id)
        clock.to("queue_h")
        wait = hours.wait_h(env.now, out_h)
        if wait > 0:
            yield env.timeout(wait)
        facility = _facility(home, mode)
        request = (yield from facility.acquire()) if facility is not None else None
        yield from home.calendar.wait_open(env)
        clock.to("working_h")
        load_start = env.now
        load = world.take(home, leg_id, ctype_id, empty_load())
        if load.empty:  # another carrier took it while this one queued: wait for more
            if facility is not None:
                facility.release(request)
            clock.to("idle_h")
            yield world.wait_for_cargo(home, fleet.legs, ctype_id)
            continue
        repair_h = world.vary.breakdown_h(ctype_id, carrier_id, "origin")
        if repair_h > 0:  # this sortie is lost before departure: cargo back to stock, carrier repaired
            world.put_back(home, load)
            if facility is not None:
                facility.release(request)
            clock.to("down_h")
            yield env.timeout(repair_h)
            continue
        last_share = 1.0
        if fleet.max_hold_h > 0:
            last_share = yield from _hold_for_more(world, home, leg_id, ctype_id, carrier, load,
                                                   load_start + fleet.max_hold_h, clock)
        yield from handle(world, home, mode, carrier, carrier_id, load.weight_t, True, clock,
                          held_h=home.calendar.open_hours(load_start, env.now), last_share=last_share)
        if facility is not None:
            facility.release(request)
        departure = env.now
        hours.fly(env.now, out_h)
        yield env.timeout(out_h)
        arrival = env.now
        far = world.nodes[leg.to]
        clock.to("queue_h")
        far_facility = _facility(far, mode)
        far_request = (yield from far_facility.acquire()) if far_facility is not None else None
        yield from far.calendar.wait_open(env)
        clock.to("working_h")
        yield from handle(world, far, mode, carrier, carrier_id, load.weight_t, False, clock)
        world.put_down(far, load)
        unloaded = env.now
        repair_h = world.vary.breakdown_h(ctype_id, carrier_id, "destination")
        if repair_h > 0:  # broken after unloading: repaired where it stands, keeping its spot or berth
            clock.to("down_h")
            yield env.timeout(repair_h)
        if far_facility is not None:
            far_facility.release(far_request)
        world.record_trip(_trip(carrier_id, ctype_id, fleet_id, mode, leg_id, leg.from_, leg.to,
                                load_start, departure, arrival, unloaded, load))
        if not fleet.cycling:
            clock.to(None)
            return
        back_h = world.travel_h(fleet_id, carrier_id, leg_id)
        clock.to("queue_h")
        wait = hours.wait_h(env.now, back_h)
        if wait > 0:
            yield env.timeout(wait)
        clock.to("working_h")
        hours.fly(env.now, back_h)
        yield env.timeout(back_h)


def _hold_for_more(world: World, node: NodeState, leg_id: str, ctype_id: str, carrier: CarrierType, load: Load,
                   until_h: float, clock: CarrierClock) -> Generator[simpy.Event, None, float]:
    """Keep the berth and top up the load as cargo arrives, until nearly full or `until_h`.

    Returns the share of the final load's weight that came aboard in the last top-up (0 if nothing
    came after the first take, which was loading all along), still to be loaded when the hold ends.
    """
    env = world.env
    clock.to("idle_h")
    last_share = 0.0
    while env.now < until_h and load.weight_t < 0.99 * carrier.payload_t and load.floor_used < 0.99:
        yield node.changed() | env.timeout(until_h - env.now)
        before = load.weight_t
        world.take(node, leg_id, ctype_id, load)
        if load.weight_t > before:
            last_share = (load.weight_t - before) / load.weight_t
    clock.to("working_h")
    return last_share


def scheduled_service(world: World, fleet_id: str) -> Generator[simpy.Event, None, None]:
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
        leg_id = world.choose_leg(home, fleet.legs, fleet.carrier)
        if leg_id is not None:
            load = world.take(home, leg_id, fleet.carrier, empty_load())
            env.process(_service_run(world, fleet_id, f"{fleet_id}#{k + 1:05d}", leg_id, load))
        k += 1
        t += interval_h


def _service_run(world: World, fleet_id: str, carrier_id: str, leg_id: str, load: Load) -> Generator[simpy.Event, None, None]:
    env, s = world.env, world.scenario
    ctype_id = s.fleets[fleet_id].carrier
    carrier = s.carriers[ctype_id]
    leg = s.legs[leg_id]
    clock = CarrierClock(env, world.fleet_use[fleet_id])
    world.clocks.append(clock)
    clock.to("working_h")
    load_start = env.now
    yield from handle(world, world.nodes[leg.from_], carrier.mode, carrier, carrier_id, load.weight_t, True, clock)
    departure = env.now
    yield env.timeout(world.travel_h(fleet_id, carrier_id, leg_id))
    arrival = env.now
    yield from handle(world, world.nodes[leg.to], carrier.mode, carrier, carrier_id, load.weight_t, False, clock)
    world.put_down(world.nodes[leg.to], load)
    world.record_trip(_trip(carrier_id, ctype_id, fleet_id, carrier.mode, leg_id, leg.from_, leg.to,
                            load_start, departure, arrival, env.now, load))
    clock.to(None)


def _trip(carrier_id: str, ctype_id: str, fleet_id: str, mode: Mode, leg_id: str, origin: str, destination: str,
          load_start: float, departure: float, arrival: float, unload_end: float, load: Load) -> Trip:
    return Trip(carrier_id, ctype_id, fleet_id, mode.value, leg_id, origin, destination, load_start, departure,
                arrival, unload_end, load.weight_t, tuple(sorted(load.by_class().items())))
