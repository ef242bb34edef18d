"""surge-sim: a discrete-event simulator of a military-aid delivery surge.

The public API a notebook needs: `load_scenario` reads and validates a scenario file,
`simulate` runs one replication and `run` runs and measures one or many.
"""

__version__ = "0.1.0"

from sim.loader import load_scenario  # noqa: E402
from sim.model import simulate  # noqa: E402
from sim.runner import RunResult, run  # noqa: E402

__all__ = ["load_scenario", "simulate", "run", "RunResult", "__version__"]
