"""Under the greedy dispatch rule every shipped scenario gives the same result files as before the core restructuring.

The fingerprints in tests/golden/outputs.json were written by tools/golden.py from the code
before the model core was opened (commit d5ae3fa); a restructuring that changes any byte of
summary.json, deliveries.csv, replications.csv, trips.csv or utilization_daily.csv fails here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("golden", ROOT / "tools" / "golden.py")
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

EXPECTED = json.loads((ROOT / "tests" / "golden" / "outputs.json").read_text(encoding="utf-8"))


def test_every_shipped_scenario_has_a_fingerprint():
    assert sorted(EXPECTED) == sorted(golden.cases())


@pytest.mark.parametrize("case", sorted(golden.cases()))
def test_greedy_outputs_are_byte_identical(case):
    path, replications, bounds = golden.cases()[case]
    assert golden.fingerprint(path, replications, bounds, **golden.GREEDY) == EXPECTED[case]
