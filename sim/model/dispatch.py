"""Dispatch policies: what a carrier ready to load at a node takes, and for which of its legs.

A policy answers two questions for a carrier of a fleet at a node (`DispatchPolicy`):
`choose_leg` (which leg to load for now, or None to wait for cargo) and `offers` (the
cargo it may take for that leg, in the order it is packed, with how much of each). The
carrier processes (`sim.model.carriers`) ask; the world (`sim.model.world`) takes what is
packed from the node's ledger. Policies are chosen by name (`POLICIES`, scenario key
`dispatch`, option `--dispatch`).

- `greedy`: the leg whose waiting cargo has the highest priority (first listed on a tie),
  and all of that cargo it can carry, highest priority first. The rule of surge-sim 0.1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from sim.model.ledger import Key
from sim.model.nodes import NodeState
from sim.packing import Load, Offer

if TYPE_CHECKING:
    from sim.model.world import World

Candidate = tuple[Key, float, float, bool]  # (stock key, unit weight t, floor share, divisible)


class DispatchPolicy(Protocol):
    """What a carrier ready at a node takes, and for which leg."""

    name: str

    def choose_leg(self, node: NodeState, legs: tuple[str, ...], fleet_id: str, carrier_id: str) -> str | None:
        """The leg a carrier of `fleet_id` at `node` loads for now, or None to wait for cargo."""
        ...

    def offers(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str) -> list[Offer]:
        """The cargo that carrier may take for `leg_id`, in packing order, each with the quantity it may take."""
        ...

    def keep_holding(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str, cargo: Load) -> bool:
        """Whether a carrier holding its berth for more cargo (`max_hold_h`) should go on holding."""
        ...

    def retry_after_h(self, carrier_id: str) -> float | None:
        """Hours after which a carrier told to wait should look again without new cargo (None: only on new cargo)."""
        ...

    def discharge(self, node: NodeState, carrier_type: str, cargo: Load) -> list[Load]:
        """The parts a carrier unloads and puts down one after another (one part: all of it at the end)."""
        ...

    # what the carrier steps tell the policy (where carriers are, what they carry)
    def at(self, carrier_id: str, node_id: str, ready_h: float) -> None: ...
    def took(self, carrier_id: str, node_id: str, cargo: Load, hold_until_h: float) -> None: ...
    def gone(self, carrier_id: str) -> None: ...
    def departed(self, carrier_id: str, to: str, tonnes: float, back_h: float | None, home: str) -> None: ...
    def arrived(self, to: str, tonnes: float) -> None: ...
    def released(self, node_id: str, key: Key, quantity: float) -> None: ...


class CargoMatch:
    """Which stock keys may go aboard which carrier type on which leg from which node (computed once, cached)."""

    def __init__(self, world: World):
        self.world = world
        self._cache: dict[tuple[str, str, str], list[Candidate]] = {}

    def candidates(self, node_id: str, leg_id: str, carrier_type: str) -> list[Candidate]:
        """Stock keys that may take `leg_id` aboard `carrier_type` at a node, highest priority first."""
        key = (node_id, leg_id, carrier_type)
        found = self._cache.get(key)
        if found is None:
            w = self.world
            found = []
            for cls in w.order:
                share = w.share[(carrier_type, cls)]
                if share is None:
                    continue
                cargo = w.scenario.cargo[cls]
                for tag in w.network.tags[cls]:
                    if leg_id in w.network.next_legs[(cls, tag)].get(node_id, ()):
                        found.append(((cls, tag), cargo.unit_weight_t, share, cargo.divisible))
            self._cache[key] = found
        return found

    def keys(self, node_id: str, legs: tuple[str, ...], carrier_type: str) -> frozenset[Key]:
        """Every stock key a carrier type may take on one of `legs` from a node."""
        return frozenset(k for leg_id in legs for k, *_ in self.candidates(node_id, leg_id, carrier_type))

    def waiting(self, node: NodeState, leg_id: str, carrier_type: str, owner: str | None = None) -> list[Offer]:
        """Cargo waiting at `node` that may take `leg_id` aboard `carrier_type`, highest priority first."""
        stock = node.stock
        out = []
        for key, weight, share, divisible in self.candidates(node.id, leg_id, carrier_type):
            available = stock.available(key, owner)
            if available > 1e-9:
                out.append(Offer(key, available, weight, share, divisible))
        return out


class Greedy:
    """The highest-priority waiting cargo, all of it that fits, on the first leg that has it."""

    name = "greedy"

    def __init__(self, world: World):
        self.world = world

    def choose_leg(self, node: NodeState, legs: tuple[str, ...], fleet_id: str, carrier_id: str) -> str | None:
        w = self.world
        carrier_type = w.scenario.fleets[fleet_id].carrier
        best, best_rank = None, math.inf
        for leg_id in legs:
            offers = w.match.waiting(node, leg_id, carrier_type)
            if offers:
                rank = w.scenario.cargo[offers[0].key[0]].priority
                if rank < best_rank:
                    best, best_rank = leg_id, rank
        return best

    def offers(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str) -> list[Offer]:
        return self.world.match.waiting(node, leg_id, self.world.scenario.fleets[fleet_id].carrier)

    def keep_holding(self, node: NodeState, leg_id: str, fleet_id: str, carrier_id: str, cargo: Load) -> bool:
        return True  # until nearly full or the fleet's max_hold_h

    def retry_after_h(self, carrier_id: str) -> float | None:
        return None

    def discharge(self, node: NodeState, carrier_type: str, cargo: Load) -> list[Load]:
        return [cargo]  # the whole load is put down when unloading ends

    def at(self, carrier_id: str, node_id: str, ready_h: float) -> None:
        """A shuttle will be ready to load at `node_id` from `ready_h` (greedy needs no whereabouts)."""

    def took(self, carrier_id: str, node_id: str, cargo: Load, hold_until_h: float) -> None:
        """A shuttle took cargo aboard and is loading."""

    def gone(self, carrier_id: str) -> None:
        """A shuttle stopped taking cargo (handling its load, or gone for good)."""

    def departed(self, carrier_id: str, to: str, tonnes: float, back_h: float | None, home: str) -> None:
        """A shuttle left loaded for `to`, due home at `back_h` (None: it stays there)."""

    def arrived(self, to: str, tonnes: float) -> None:
        """A loaded carrier put its cargo down at `to`."""

    def released(self, node_id: str, key: Key, quantity: float) -> None:
        """Cargo was released into a node's stock."""
