"""Fingerprints of the shipped scenarios' result files, to prove a restructuring keeps behaviour.

`python tools/golden.py` rewrites tests/golden/outputs.json; tests/test_golden.py recomputes the
same fingerprints and compares. Each case is a shipped scenario run through the library pipeline
(the same files `sim run` writes, without the pictures). summary.json is compared without
`reproduce.scenario_sha256` and `reproduce.dispatch`: the scenario gained the `dispatch` key, which
changes its hash, and the provenance block now names the policy.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "outputs.json"
GREEDY: dict[str, object] = {"dispatch": "greedy"}  # the scenario key that selects the old dispatch rule
FILES = ("summary.json", "deliveries.csv", "replications.csv", "trips.csv", "utilization_daily.csv")


def cases() -> dict[str, tuple[str, int | None, bool]]:
    """Case name -> (scenario path from the repository root, replications or None for planned values, bounds)."""
    out: dict[str, tuple[str, int | None, bool]] = {}
    for path in sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "scenarios" / "validation").glob("*.toml")):
        rel = str(path.relative_to(ROOT))
        out[f"{rel} planned"] = (rel, None, False)
    out["scenarios/surge_dec2024.toml n=20 bounds"] = ("scenarios/surge_dec2024.toml", 20, True)
    out["scenarios/validation/berlin_easter_parade.toml n=20 bounds"] = ("scenarios/validation/berlin_easter_parade.toml", 20, True)
    return out


def _digest(name: str, data: bytes) -> str:
    if name == "summary.json":
        doc = json.loads(data)
        doc.get("reproduce", {}).pop("scenario_sha256", None)
        doc.get("reproduce", {}).pop("dispatch", None)
        data = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()


def fingerprint(path: str, replications: int | None, bounds: bool, **options: object) -> dict[str, str]:
    """SHA-256 of each result file of one case (greedy unless `options` say otherwise)."""
    from sim.bounds import bounds_summary
    from sim.loader import load_scenario
    from sim.output import write_tables
    from sim.runner import run

    scenario = load_scenario(ROOT / path)
    if options:
        scenario = scenario.model_copy(update=options)
    if replications is None:
        scenario = scenario.planned()
    result = run(scenario, replications=replications or 1, seed=0, jobs=1)
    if bounds:
        result.bounds = bounds_summary(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        write_tables(result, Path(tmp))
        return {name: _digest(name, (Path(tmp) / name).read_bytes()) for name in FILES if (Path(tmp) / name).exists()}


def main() -> int:
    doc = {name: fingerprint(*case, **GREEDY) for name, case in cases().items()}
    GOLDEN.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(doc)} cases written to {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
