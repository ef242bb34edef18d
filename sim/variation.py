"""Random variation of a run: the one place the model draws from its generator.

Without an `uncertainty` block every method returns the planned value, so a run is
deterministic.
"""

from __future__ import annotations

import numpy as np

from sim.schema import Mode, Scenario


class Variation:
    """Draws the random parts of one replication from its own generator."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        self.scenario = scenario
        self.rng = rng

    def closures(self, node_id: str, horizon_h: float) -> list[tuple[float, float]]:
        """Random closed periods (weather) of a node, in hours."""
        return []

    def releases(self, schedule: list[tuple[float, str, str, float]], divisible: bool) -> list[tuple[float, str, str, float]]:
        """The release schedule as it happens in this replication."""
        return schedule

    def travel(self, mode: Mode, planned_h: float) -> float:
        """Hours of one movement over a leg."""
        return planned_h

    def handling(self, mode: Mode, planned_h: float) -> float:
        """Hours of one load or unload."""
        return planned_h

    def available_from_h(self, fleet_id: str, planned_h: float) -> float:
        """When a carrier of a fleet can start (activation delay)."""
        return planned_h
