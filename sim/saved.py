"""Read a results folder written by `sim run` back as plain data, for `sim plot` and report.html."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import UsageError


@dataclass
class Saved:
    """The saved files of one results folder, as plain data."""

    folder: Path
    summary: dict[str, Any]
    scenario: dict[str, Any] = field(default_factory=dict)  # {} when scenario_resolved.json is absent
    deliveries: list[dict[str, str]] = field(default_factory=list)
    utilization: list[dict[str, str]] = field(default_factory=list)
    trips: list[dict[str, str]] = field(default_factory=list)
    replications: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # optional files not found

    def closure_days(self) -> dict[str, list[float]]:
        """Closure day of each class per replication, from replications.csv (inf when never closed)."""
        out: dict[str, list[float]] = {}
        for cls in self.summary.get("classes", {}):
            key = f"{cls}_closure_day"
            out[cls] = [float(r[key]) if r.get(key) not in (None, "") else math.inf for r in self.replications]
        return out


def load(results_dir: Path) -> Saved:
    """Read a results folder written by `sim run`; raise `UsageError` when it is not one."""
    folder = Path(results_dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a results folder (give the folder that sim run wrote)")
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such results folder")
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        raise UsageError(f"{folder}: not a results folder (no summary.json)")
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{summary_file}: cannot read it ({exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("classes"), dict):
        raise UsageError(f"{summary_file}: not a surge-sim summary (no classes)")
    saved = Saved(folder, summary)
    scenario_file = folder / "scenario_resolved.json"
    if scenario_file.is_file():
        try:
            saved.scenario = json.loads(scenario_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{scenario_file}: cannot read it ({exc})") from None
        if not isinstance(saved.scenario, dict):
            raise UsageError(f"{scenario_file}: not a resolved scenario (not a JSON object)")
    else:
        saved.missing.append(scenario_file.name)
    for name, attr in (("deliveries.csv", "deliveries"), ("utilization_daily.csv", "utilization"),
                       ("trips.csv", "trips"), ("replications.csv", "replications")):
        path = folder / name
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as fh:
                setattr(saved, attr, list(csv.DictReader(fh)))
        else:
            saved.missing.append(name)
    return saved


