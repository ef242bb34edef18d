"""The `earliest_arrival` dispatch policy: cargo goes on the carrier that hands it over first.

When a carrier is ready to load at a node, the policy shares the cargo waiting there (and the
cargo planned to be released there while carriers may still hold for it) among the carriers
that could take it: those idle or loading at the node, and those due there (activating or
returning, and each cycling carrier's later sorties). Cargo is dealt out in small lots, latest
release first (so a carrier dealt cargo still to come is kept for it), each to the carrier whose
estimated hand-over time for its whole load stays earliest with the lot aboard; a carrier's lots
must fall within one hold (`max_hold_h`). Releases running short of plan are projected at their
shortened rate. The estimate counts loading
(a vessel's time grows with its load at the port's rate), the voyage, unloading, and the
backlog at the far end (cargo already waiting there or on its way, drained at the node's
land-handling or onward service rate) plus the onward travel. A carrier takes only its
share; it waits when others would deliver everything sooner, and it stops holding a berth
once the cargo it is planned to carry is aboard. Estimates use planned times (no random
variation): the policy knows the plan and where carriers are, not the future draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim import rules
from sim.model.dispatch import Greedy
from sim.model.nodes import NodeState
from sim.network import release_schedule
from sim.packing import Load, Offer, split_load

if TYPE_CHECKING:
    from sim.model.world import World

LOTS = 24  # the pool is dealt out in about this many lots (finer changes the split by well under a lot)
EPS = 1e-6
MAX_BIDS = 200  # the most carriers and later sorties one decision weighs
MAX_DISCHARGE_PARTS = 12  # a vessel's discharge is put on the quay in at most this many parts


@dataclass
class Whereabouts:
    """Where a shuttle will next load, and from when: `loading` with `aboard_t` once it has taken cargo."""

    node: str
    ready_h: float
    loading: bool = False
    aboard_t: float = 0.0
    hold_until_h: float = 0.0


@dataclass
class _Bid:
    carrier_id: str
    fleet_id: str
    leg_id: str
    ready_h: float
    aboard_t: float
    cap_t: float
    load_fixed_h: float
    load_per_t_h: float
    hold_until_h: float
    to: str
    travel_h: float
    unload_fixed_h: float
    unload_per_t_h: float
    max_hold_h: float = 0.0
    loading: bool = False  # already loading: its hold ends at hold_until_h; else it starts with its first lot
    x: float = 0.0
    last_lot_h: float = 0.0
    last_lot_t: float = 0.0
    first_lot_h: float | None = None  # the earliest lot dealt to it (lots are dealt latest first)

    def takes_lot_at(self, t: float, now: float) -> bool:
        """Whether a lot there at `t` can come aboard: within its hold (all its lots within `max_hold_h` of its first)."""
        if self.loading:
            return t <= max(now, self.hold_until_h)
        if t < self.ready_h and t <= now:
            t = max(t, self.ready_h)
        latest = max(self.last_lot_h, t) if self.first_lot_h is not None else t
        earliest = min(self.first_lot_h, t) if self.first_lot_h is not None else t
        return latest - max(earliest, self.ready_h) <= self.max_hold_h + EPS

    def start_h(self, lot_h: float) -> float:
        """When it starts loading: now if loading, else when it is ready and its earliest lot is there."""
        if self.loading:
            return self.ready_h
        first = lot_h if self.first_lot_h is None else min(self.first_lot_h, lot_h)
        return max(self.ready_h, first)


class EarliestArrival(Greedy):
    """Deal the cargo at a node to the carriers that would hand it over earliest (see the module docstring)."""

    name = "earliest_arrival"

    def __init__(self, world: World):
        super().__init__(world)
        s = world.scenario
        self.where: dict[str, Whereabouts] = {}
        self.quota: dict[str, float] = {}  # carrier -> tonnes planned aboard for its current load
        self._due: dict[str, float] = {}  # carrier -> when to look again after waiting for a sooner carrier
        # planned releases per node in tonnes, for the holds
        self.planned: dict[str, list[tuple[float, str, str, float]]] = {}
        for cls in s.requirements:
            w = s.cargo[cls].unit_weight_t
            for t, node, tag, qty in release_schedule(s, world.network, cls):
                self.planned.setdefault(node, []).append((t, cls, tag, qty * w))
        for events in self.planned.values():
            events.sort()
        self.inbound_t: dict[str, float] = {n: 0.0 for n in s.nodes}
        self.released_t: dict[tuple[str, tuple[str, str]], float] = {}  # (node, key) -> tonnes released there so far
        self._drain_cache: dict[str, tuple[float, float]] = {}  # node -> (onward t/h, quickest onward travel h)
        self._takers_cache: dict[tuple[str, str], list[tuple[str, str, tuple[float, float]]]] = {}
        self._static_cache: dict[tuple[str, str, str, str], tuple[float, float, float, float, float, str, float]] = {}
        self._shuttles_at: dict[str, list[str]] = {}
        for fid, fleet in s.fleets.items():
            if fleet.departures_per_day is None and fleet.count:
                self._shuttles_at.setdefault(s.legs[fleet.legs[0]].from_, []).append(fid)

    # --- what the carrier steps tell the policy ---------------------------------------------------

    def at(self, carrier_id: str, node_id: str, ready_h: float) -> None:
        """A shuttle will be ready to load at `node_id` from `ready_h` (or is there now)."""
        self.where[carrier_id] = Whereabouts(node_id, ready_h)

    def gone(self, carrier_id: str) -> None:
        """A shuttle left for good (a single voyage) or is busy handling: not a taker for now."""
        self.where.pop(carrier_id, None)
        self.quota.pop(carrier_id, None)

    def departed(self, carrier_id: str, to: str, tonnes: float, back_h: float | None, home: str) -> None:
        """A shuttle left loaded for `to`; it is due home again at `back_h` (None: it stays there)."""
        self.inbound_t[to] += tonnes
        self.quota.pop(carrier_id, None)
        if back_h is None:
            self.where.pop(carrier_id, None)
        else:
            self.where[carrier_id] = Whereabouts(home, back_h)

    def arrived(self, to: str, tonnes: float) -> None:
        """A loaded carrier put its cargo down at `to`."""
        self.inbound_t[to] = max(0.0, self.inbound_t[to] - tonnes)

    # --- the policy --------------------------------------------------------------------------------

    def choose_leg(self, node: NodeState, legs: tuple[str, ...], fleet_id: str, carrier_id: str) -> str | None:
        leg_id = super().choose_leg(node, legs, fleet_id, carrier_id)
        if leg_id is None or self.world.scenario.fleets[fleet_id].departures_per_day is not None:
            return leg_id
        if self._share(node, leg_id, fleet_id, carrier_id) <= EPS:
            return None  # a carrier due sooner, or one already loading, hands all of it over earlier
        return leg_id

    def offers(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str) -> list[Offer]:
        offers = super().offers(node, leg_id, fleet_id, carrier_id)
        if not offers or self.world.scenario.fleets[fleet_id].departures_per_day is not None:
            return offers
        room = self._share(node, leg_id, fleet_id, carrier_id) - self._aboard(carrier_id)
        if math.isinf(room):
            return offers
        out = []
        for o in offers:
            if room <= EPS:
                break
            qty = room / o.unit_weight_t
            if not o.divisible:  # whole units: up to one more than the share, so a share under a unit still moves
                qty = math.ceil(qty - 1e-9)
            qty = min(o.available, qty)
            out.append(Offer(o.key, qty, o.unit_weight_t, o.floor_share, o.divisible))
            room -= qty * o.unit_weight_t
        return out

    def discharge(self, node: NodeState, carrier_type: str, cargo: Load) -> list[Load]:
        """A vessel discharging at the port's rate puts its cargo on the quay by onward loads, so they can leave at once."""
        s = self.world.scenario
        carrier = s.carriers[carrier_type]
        if rules.port_rate_t_per_day(carrier, s.nodes[node.id], False) is None:
            return [cargo]
        onward = self._onward_payload_t(node.id)
        if onward <= 0:
            return [cargo]
        parts = min(MAX_DISCHARGE_PARTS, math.ceil(cargo.weight_t / onward - EPS))
        return split_load(cargo, parts, node.unit_weight_t)

    def _onward_payload_t(self, node_id: str) -> float:
        """The largest payload of a fleet that loads at `node_id` (0 if none)."""
        s = self.world.scenario
        return max((s.carriers[f.carrier].payload_t for f in s.fleets.values()
                    if s.legs[f.legs[0]].from_ == node_id), default=0.0)

    def keep_holding(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str, cargo: Load) -> bool:
        """Hold the berth only while more cargo planned for this carrier is still to come."""
        return cargo.weight_t < self.quota.get(carrier_id, math.inf) - EPS

    def took(self, carrier_id: str, node_id: str, cargo: Load, hold_until_h: float) -> None:
        """A shuttle took cargo aboard and is loading (holding until `hold_until_h`)."""
        where = self.where.get(carrier_id)
        if where is not None:
            where.loading, where.aboard_t, where.hold_until_h = True, cargo.weight_t, hold_until_h

    def retry_after_h(self, carrier_id: str) -> float | None:
        """Hours after which a carrier told to wait should look again (when the sooner carrier was due)."""
        due = self._due.pop(carrier_id, None)
        return None if due is None else max(due - self.world.env.now, 0.0) + 1e-6

    # --- the estimate ------------------------------------------------------------------------------

    def _aboard(self, carrier_id: str) -> float:
        where = self.where.get(carrier_id)
        return where.aboard_t if where is not None and where.loading else 0.0

    def _share(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str) -> float:
        """Tonnes this carrier should have aboard for its load (what is aboard included)."""
        w = self.world
        now = w.env.now
        ctype = w.scenario.fleets[fleet_id].carrier
        keys = [k for k, *_ in w.match.candidates(node.id, leg_id, ctype)]
        # the class that leads the load: the highest-priority one waiting here
        top_cls = next((k[0] for k in keys if node.stock.available(k) > EPS), None)
        if top_cls is None:
            return 0.0
        me = self.where.setdefault(carrier_id, Whereabouts(node.id, now))
        takers = self._takers(node.id, top_cls)
        if len(takers) == 1 and takers[0][2][0] == 0 and takers[0][2][1] == 0:
            # one fleet alone takes this class here, at fixed handling times: its carriers are alike, so the
            # one loading now fills up (a later one would hand over no sooner)
            return math.inf  # all that fits, as greedy
        bids = [self._bid(carrier_id, fleet_id, leg_id, me, node.id, top_cls)]
        for fid, other_leg, _times in takers:
            fleet = w.scenario.fleets[fid]
            for i in range(fleet.count or 0):
                cid = f"{fid}-{i + 1:03d}"
                where = self.where.get(cid)
                if cid == carrier_id or where is None or where.node != node.id:
                    continue
                bids.append(self._bid(cid, fid, other_leg, where, node.id, top_cls))
        if len(bids) == 1 and bids[0].load_per_t_h == 0:
            return math.inf  # no one else to share with and no per-tonne loading: all that fits
        # the pool: all this carrier may take here, dealt to the carriers that can take the leading class
        pool = sum(node.stock.available(k) * w.scenario.cargo[k[0]].unit_weight_t for k in keys)
        if all(b.load_per_t_h == 0 and b.unload_per_t_h == 0 for b in bids):
            return self._whole_loads(bids, pool, carrier_id)
        # a cycling carrier may come back for more: its next load is one more bid (a ship leaving a remnant to
        # an aircraft's second sortie rather than crossing with it)
        for b in list(bids):
            self._add_next(bids, b)
        lots = [(now, pool)] + self._coming(node.id, set(keys), now)
        total = sum(q for _, q in lots)
        if total <= EPS:
            return bids[0].aboard_t
        lot = max(min(total / LOTS, min(b.cap_t for b in bids) / 2), 1e-3)
        to_dest: dict[str, float] = {}
        for b in bids:
            to_dest[b.to] = to_dest.get(b.to, 0.0) + b.aboard_t
        # latest first: a carrier dealt cargo still to come is then kept for it, and the rest goes to the others
        for t, q in sorted(lots, reverse=True):
            while q > EPS:
                part = min(lot, q)
                best, best_h = None, math.inf
                for b in bids:
                    if b.aboard_t + b.x + part > b.cap_t + EPS or not b.takes_lot_at(t, now):
                        continue
                    h = self._finish_h(b, part, t, to_dest)
                    if h < best_h:
                        best, best_h = b, h
                if best is None:
                    break
                best.x += part
                if best.aboard_t + best.x + lot > best.cap_t + EPS and best.carrier_id.endswith("#next") and len(bids) < MAX_BIDS:
                    self._add_next(bids, best)  # a full next load: the sortie after it is one more bid
                best.first_lot_h = t if best.first_lot_h is None else min(best.first_lot_h, t)
                best.last_lot_h, best.last_lot_t = (t, part) if t > best.last_lot_h else (best.last_lot_h, best.last_lot_t + part)
                to_dest[best.to] = to_dest.get(best.to, 0.0) + part
                q -= part
        mine = bids[0]
        planned = mine.aboard_t + mine.x
        if not mine.loading and mine.first_lot_h is not None and mine.first_lot_h > now + EPS:
            self._due[carrier_id] = mine.first_lot_h  # its cargo is still to be released here: wait for it
            planned = 0.0
        self.quota[carrier_id] = planned
        if planned <= EPS and carrier_id not in self._due:
            # a carrier here now takes it and wakes the rest if it leaves any; one due later may not come on time
            due = [b.ready_h for b in bids[1:] if b.x > EPS and b.ready_h > now + EPS]
            if due:
                self._due[carrier_id] = min(due)
        return planned

    def _add_next(self, bids: list[_Bid], b: _Bid) -> None:
        """Add the load after `b`'s to `bids`, if its fleet cycles: ready when `b` is back from a full load."""
        if not self.world.scenario.fleets[b.fleet_id].cycling:
            return
        start = b.ready_h if b.loading or b.first_lot_h is None else max(b.ready_h, b.first_lot_h)
        again = start + b.load_fixed_h + b.cap_t * b.load_per_t_h + 2 * b.travel_h + b.unload_fixed_h + b.cap_t * b.unload_per_t_h
        base = b.carrier_id.split("#")[0]
        bids.append(_Bid(f"{base}#next", b.fleet_id, b.leg_id, again, 0.0, b.cap_t, b.load_fixed_h, b.load_per_t_h,
                         again + b.max_hold_h, b.to, b.travel_h, b.unload_fixed_h, b.unload_per_t_h, b.max_hold_h))

    def _whole_loads(self, bids: list[_Bid], pool: float, carrier_id: str) -> float:
        """Handling times that do not grow with the load: full loads, to the carriers that would hand them over first."""
        now = self.world.env.now
        to_dest: dict[str, float] = {}
        order = sorted(range(len(bids)), key=lambda i: (self._finish_h(bids[i], bids[i].cap_t - bids[i].aboard_t, now, to_dest), i))
        mine = 0.0
        for i in order:
            b = bids[i]
            b.x = min(max(b.cap_t - b.aboard_t, 0.0), pool)
            pool -= b.x
            if b.carrier_id == carrier_id:
                # a full load is all that fits (other classes may fill the floor the leading one leaves)
                mine = math.inf if b.x >= b.cap_t - b.aboard_t - EPS else b.aboard_t + b.x
                break
        self.quota[carrier_id] = mine
        if mine <= EPS:
            due = [b.ready_h for b in bids if b.x > EPS and b.ready_h > now + EPS]
            if due:
                self._due[carrier_id] = min(due)
        return mine

    def _takers(self, node_id: str, cls: str) -> list[tuple[str, str, tuple[float, float]]]:
        """(fleet, its first leg that takes `cls` from the node, (per-tonne load h, per-tonne unload h)) of every shuttle fleet here."""
        key = (node_id, cls)
        found = self._takers_cache.get(key)
        if found is None:
            w = self.world
            found = []
            for fid in self._shuttles_at.get(node_id, ()):
                fleet = w.scenario.fleets[fid]
                for leg_id in fleet.legs:
                    if w.share[(fleet.carrier, cls)] is not None and any(
                            k[0] == cls for k, *_ in w.match.candidates(node_id, leg_id, fleet.carrier)):
                        static = self._static(fid, leg_id, node_id, cls)
                        found.append((fid, leg_id, (static[2], static[4])))
                        break
            self._takers_cache[key] = found
        return found

    def _static(self, fleet_id: str, leg_id: str, node_id: str, cls: str) -> tuple[float, float, float, float, float, str, float]:
        """(cap t, load fixed h, load h per t, unload fixed h, unload h per t, destination, travel h): planned, cached."""
        key = (fleet_id, leg_id, node_id, cls)
        found = self._static_cache.get(key)
        if found is None:
            w = self.world
            s = w.scenario
            fleet = s.fleets[fleet_id]
            carrier = s.carriers[fleet.carrier]
            leg = s.legs[leg_id]
            here, there = s.nodes[node_id], s.nodes[leg.to]
            share = w.share[(fleet.carrier, cls)] or 0.0
            cap = carrier.payload_t
            if share > 0:
                cap = min(cap, s.cargo[cls].unit_weight_t / share)
            rate = rules.port_rate_t_per_day(carrier, here, True)
            lf, lp = (0.0, 24.0 / rate) if rate else (rules.own_time_h(carrier, here, True, 0.0), 0.0)
            rate = rules.port_rate_t_per_day(carrier, there, False)
            uf, up = (0.0, 24.0 / rate) if rate else (rules.own_time_h(carrier, there, False, 0.0), 0.0)
            found = (cap, lf, lp, uf, up, leg.to, rules.travel_time_h(s, leg_id, fleet.carrier))
            self._static_cache[key] = found
        return found

    def _bid(self, carrier_id: str, fleet_id: str, leg_id: str, where: Whereabouts, node_id: str, cls: str) -> _Bid:
        cap, lf, lp, uf, up, to, travel = self._static(fleet_id, leg_id, node_id, cls)
        hold = self.world.scenario.fleets[fleet_id].max_hold_h
        if where.loading:
            return _Bid(carrier_id, fleet_id, leg_id, where.ready_h, where.aboard_t, cap, lf, lp, where.hold_until_h,
                        to, travel, uf, up, hold, loading=True)
        ready = max(where.ready_h, self.world.env.now)
        return _Bid(carrier_id, fleet_id, leg_id, ready, 0.0, cap, lf, lp, ready + hold, to, travel, uf, up, hold)

    def _finish_h(self, b: _Bid, part: float, lot_h: float, to_dest: dict[str, float]) -> float:
        """Estimated hand-over time of the last tonne of `b`'s load with `part` more aboard (from a lot at `lot_h`)."""
        x = b.aboard_t + b.x + part
        depart = b.start_h(lot_h) + b.load_fixed_h + x * b.load_per_t_h
        last_h, last_t = (lot_h, part) if lot_h > b.last_lot_h else (b.last_lot_h, b.last_lot_t + part)
        depart = max(depart, last_h + last_t * b.load_per_t_h)
        arrive = depart + b.travel_h
        unloaded = arrive + b.unload_fixed_h + x * b.unload_per_t_h
        if b.unload_per_t_h > 0:  # the far end's berths discharge everything dealt there (and on its way) in turn
            berths = self.world.scenario.nodes[b.to].berths or 1
            queued_t = self.inbound_t[b.to] + to_dest.get(b.to, 0.0) + part
            unloaded = max(unloaded, arrive + queued_t * b.unload_per_t_h / berths)
        return unloaded + self._onward_h(b.to, to_dest.get(b.to, 0.0) + part)

    def _coming(self, node_id: str, keys: set[tuple[str, str]], now: float) -> list[tuple[float, float]]:
        """(time h, tonnes) of cargo with `keys` still to be released at a node.

        The plan's remaining releases, scaled by how far the releases so far have kept to it
        (depot outloading that runs short of plan stays short), and what that leaves behind at
        the same shortened daily rate after the plan's last release.
        """
        future, planned_total, planned_so_far = [], 0.0, 0.0
        for t, cls, tag, tonnes in self.planned.get(node_id, ()):
            if (cls, tag) in keys:
                planned_total += tonnes
                if t > now:
                    future.append((t, tonnes))
                else:
                    planned_so_far += tonnes
        released = sum(self.released_t.get((node_id, k), 0.0) for k in keys)
        ratio = min(1.0, released / planned_so_far) if planned_so_far > EPS else 1.0
        ratio = max(ratio, 0.05)
        coming = [(t, q * ratio) for t, q in future]
        behind = planned_total - released - sum(q for _, q in coming)
        last = max([now] + [t for t, _ in future])
        step = (future[-1][1] if future else max(behind, EPS)) * ratio
        while behind > EPS and len(coming) < 400:
            last += 24.0
            q = min(step, behind)
            coming.append((last, q))
            behind -= q
        return coming

    def released(self, node_id: str, key: tuple[str, str], quantity: float) -> None:
        """Cargo was released into a node's stock."""
        k = (node_id, key)
        self.released_t[k] = self.released_t.get(k, 0.0) + quantity * self.world.scenario.cargo[key[0]].unit_weight_t

    def _onward_h(self, node_id: str, extra_t: float) -> float:
        """Hours to clear a node's backlog with `extra_t` more, plus the quickest onward movement (0 at a hand-over point)."""
        rate_t_per_h, travel = self._drain(node_id)
        if rate_t_per_h <= 0:
            return 0.0
        node = self.world.nodes[node_id]
        backlog = self.inbound_t[node_id] + sum(q * node.unit_weight_t[k[0]] for k, q in node.stock.items())
        return (backlog + extra_t) / rate_t_per_h + travel

    def _drain(self, node_id: str) -> tuple[float, float]:
        cached = self._drain_cache
        if node_id in cached:
            return cached[node_id]
        s = self.world.scenario
        rate, travel = 0.0, math.inf
        for fleet in s.fleets.values():
            leg = s.legs[fleet.legs[0]]
            if leg.from_ != node_id or not fleet.count and fleet.departures_per_day is None:
                continue
            carrier = s.carriers[fleet.carrier]
            t_h = rules.travel_time_h(s, fleet.legs[0], fleet.carrier)
            if fleet.departures_per_day is not None:
                rate += fleet.departures_per_day * carrier.payload_t / 24.0
            else:
                cycle = 2 * t_h + (carrier.load_time_h or 0.0) + (carrier.unload_time_h or 0.0)
                rate += (fleet.count or 0) * carrier.payload_t / max(cycle, 1e-9)
            travel = min(travel, t_h)
        node = s.nodes[node_id]
        if node.throughput_t_per_day is not None and node_id not in self.world.network.land_arrivals:
            rate = min(rate, node.throughput_t_per_day / 24.0)
        cached[node_id] = (rate, 0.0 if math.isinf(travel) else travel)
        return cached[node_id]
