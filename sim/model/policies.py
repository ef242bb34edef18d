"""The dispatch policies by name: the registry behind the scenario key `dispatch` and the option `--dispatch`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.model.dispatch import DispatchPolicy, Greedy
from sim.model.earliest import EarliestArrival

if TYPE_CHECKING:
    from sim.model.world import World

POLICIES: dict[str, Callable[[World], DispatchPolicy]] = {
    "greedy": Greedy,
    "earliest_arrival": EarliestArrival,
}


def make_policy(name: str, world: World) -> DispatchPolicy:
    """The policy called `name` for one run of `world`."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown dispatch policy {name!r}: choose one of {', '.join(POLICIES)}") from None
    return factory(world)
