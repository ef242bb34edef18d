"""Random variation of a run: the one place the model draws random numbers.

Without an `uncertainty` block every method returns the planned value, so a run is
deterministic. Draws come from named streams derived from the replication's one
seed sequence (per carrier, per node's weather, per fleet's activation, per class's
release), so adding uncertainty to one part of a scenario does not shift the draws
of another. That keeps comparisons between scenarios on common random numbers fair.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from sim.distributions import Distribution
from sim.schema import Mode, Scenario


class Variation:
    """Draws the random parts of one replication from streams of its own generator."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        self.scenario = scenario
        self.u = scenario.uncertainty
        seq = getattr(rng.bit_generator, "seed_seq", None)
        self._root = seq if isinstance(seq, np.random.SeedSequence) else np.random.SeedSequence(int(rng.integers(2**63)))
        self._streams: dict[tuple[str, str], np.random.Generator] = {}

    def stream(self, purpose: str, name: str) -> np.random.Generator:
        """The generator for one purpose and entity (e.g. "carrier", "c17_dover-004")."""
        key = (purpose, name)
        if key not in self._streams:
            words = tuple(zlib.crc32(part.encode()) for part in key)
            child = np.random.SeedSequence(self._root.entropy, spawn_key=(*self._root.spawn_key, *words))
            self._streams[key] = np.random.default_rng(child)
        return self._streams[key]

    def _scaled(self, dist: Distribution | None, carrier_id: str, planned: float) -> float:
        if dist is None or planned == 0:
            return planned
        return planned * dist.sample(self.stream("carrier", carrier_id))

    def closures(self, node_id: str, horizon_h: float) -> list[tuple[float, float]]:
        """Random closed periods (weather) of a node, in hours."""
        weather = self.u.weather.get(node_id)
        if weather is None or weather.daily_closure_probability == 0:
            return []
        rng = self.stream("weather", node_id)
        out = []
        for day in range(int(math.ceil(horizon_h / 24.0))):
            if rng.random() < weather.daily_closure_probability:
                start = day * 24.0 + rng.uniform(0, 24.0)
                out.append((start, start + weather.closure_duration_h.sample(rng)))
        return out

    def daily_factor(self, cls: str) -> float:
        """Multiplier of one daily release of a class (1 without variation)."""
        var = self.u.release.get(cls)
        if var is None or var.per_day_factor is None:
            return 1.0
        return var.per_day_factor.sample(self.stream("release", cls))

    def release_delay_days(self, cls: str) -> float:
        """Days by which every release of a class is late in this replication."""
        var = self.u.release.get(cls)
        if var is None or var.start_delay_days is None:
            return 0.0
        return var.start_delay_days.sample(self.stream("release-delay", cls))

    def travel(self, carrier_id: str, mode: Mode, planned_h: float) -> float:
        """Hours of one movement over a leg (block time, voyage, run)."""
        return self._scaled(self.u.travel_time_factor.get(mode), carrier_id, planned_h)

    def handling(self, carrier_id: str, mode: Mode, planned_h: float) -> float:
        """Hours of one load or unload (ground time, berth time, border processing)."""
        return self._scaled(self.u.handling_time_factor.get(mode), carrier_id, planned_h)

    def available_from_h(self, fleet_id: str, index: int, planned_h: float) -> float:
        """When carrier `index` of a fleet can start: on plan if ready, else after an activation delay."""
        activation = self.u.activation.get(fleet_id)
        if activation is None:
            return planned_h
        rng = self.stream("activation", f"{fleet_id}#{index}")
        if rng.random() < activation.ready_probability:
            return planned_h
        return planned_h + 24.0 * activation.delay_days.sample(rng)

    def down_at_start_h(self, carrier_type: str, carrier_id: str) -> float:
        """Hours a carrier is unavailable at the start (0 if mission capable)."""
        rel = self.u.reliability.get(carrier_type)
        if rel is None or rel.unavailable_at_start == 0 or rel.repair_time_h is None:
            return 0.0
        rng = self.stream("carrier", carrier_id)
        return rel.repair_time_h.sample(rng) if rng.random() < rel.unavailable_at_start else 0.0

    def breakdown_h(self, carrier_type: str, carrier_id: str, where: str) -> float:
        """Repair hours if this sortie is lost to a breakdown at `where` ("origin"/"destination"), else 0."""
        rel = self.u.reliability.get(carrier_type)
        if rel is None or rel.breakdown_probability == 0 or rel.breakdown_at != where or rel.repair_time_h is None:
            return 0.0
        rng = self.stream("carrier", carrier_id)
        return rel.repair_time_h.sample(rng) if rng.random() < rel.breakdown_probability else 0.0
