"""The SimPy model: nodes with capacities and stocks, carriers as processes, one run per call.

`simulate(scenario, rng)` is the only entry point; it returns a `RunRecord`.
"""

from sim.model.world import simulate

__all__ = ["simulate"]
