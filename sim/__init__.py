"""surge-sim: a discrete-event simulator of a military-aid delivery surge.

The public API a notebook needs: `load_scenario` reads and validates a scenario file,
`simulate` runs one replication and `run` runs and measures one or many.
"""

from sim.loader import load_scenario
from sim.model import simulate

__version__ = "0.1.0"
__all__ = ["load_scenario", "simulate", "__version__"]
