"""Read a results folder written by `sim run` back (typed summary, plain tables), for `sim plot` and report.html.

A folder is a user's input here: its JSON files may have been edited. `load` checks the values
the pictures and the page use against the shapes `sim run` writes (`SUMMARY`, `SCENARIO`) and
refuses a folder that does not match with a `UsageError` naming the file and key, before
anything is drawn.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.summary import RunSummary

# --- the shapes of the saved JSON ------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A finite number (not true/false) between `low` and `high`."""

    low: float = -1e15
    high: float = 1e15

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"must be a number from {self.low:g} to {self.high:g}"
        return None


@dataclass(frozen=True)
class Text:
    """A string; with `date`, an ISO date (YYYY-MM-DD)."""

    date: bool = False

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be text"
        if self.date:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                return "must be a date (YYYY-MM-DD)"
        return None


@dataclass(frozen=True)
class Opt:
    """`shape`, or null."""

    shape: Any

    def problem(self, value: Any) -> str | None:
        return None if value is None else _problem(self.shape, value)


@dataclass(frozen=True)
class Each:
    """A list (`dict_=False`) or a table with any keys (`dict_=True`) whose every entry has `shape`."""

    shape: Any
    dict_: bool = False


def _problem(shape: Any, value: Any) -> str | None:
    """What is wrong with `value` at the top of `shape`, or None (entries are checked by `_find`)."""
    if isinstance(shape, (Num, Text, Opt)):
        return shape.problem(value)
    if isinstance(shape, Each):
        if shape.dict_ and not isinstance(value, dict):
            return "must be a table (JSON object)"
        if not shape.dict_ and not isinstance(value, list):
            return "must be a list"
        return None
    if isinstance(shape, dict) or shape is dict:
        return None if isinstance(value, dict) else "must be a table (JSON object)"
    if shape is list:
        return None if isinstance(value, list) else "must be a list"
    return None


def _find(shape: Any, value: Any, where: str) -> tuple[str, str] | None:
    """The first (key path, problem) where `value` does not match `shape`; keys `shape` does not name are not checked."""
    problem = _problem(shape, value)
    if problem:
        return where, problem
    if isinstance(shape, Opt) and value is not None:
        return _find(shape.shape, value, where)
    if isinstance(shape, Each):
        items = value.items() if shape.dict_ else enumerate(value)
        for key, entry in items:
            found = _find(shape.shape, entry, f"{where}.{key}" if shape.dict_ else f"{where}[{key}]")
            if found:
                return found
    if isinstance(shape, dict):
        for key, sub in shape.items():
            if key in value:
                found = _find(sub, value[key], f"{where}.{key}" if where else key)
                if found:
                    return found
    return None


NUMBER, COUNT, DAY, FRACTION = Num(), Num(0, 1e12), Num(-36_500, 36_500), Num(0, 1)
STATS = Each(Opt(NUMBER), dict_=True)  # mean, p10, p50, p90
SUMMARY: dict[str, Any] = {
    "scenario": Text(), "title": Text(), "start_date": Text(date=True), "deadline_day": DAY, "deadline_date": Opt(Text(date=True)),
    "horizon_days": DAY, "replications": COUNT, "replications_completed": COUNT, "seed": COUNT,
    "failed_replications": Each(dict),
    "classes": Each({"name": Opt(Text()), "unit": Text(), "target": NUMBER, "delivered_by_deadline": STATS,
                     "fraction_by_deadline": STATS, "closure_day": Each(Opt(DAY), dict_=True),
                     "closure_date": Each(Opt(Text(date=True)), dict_=True), "closed_within_horizon": Opt(FRACTION),
                     "p_met": Opt(FRACTION), "p_met_ci95": Opt(Each(Opt(FRACTION)))}, dict_=True),
    "all_met_probability": Opt(FRACTION), "all_met_ci95": Opt(Each(Opt(FRACTION))),
    "flights": Each(STATS, dict_=True), "sailings": Each(STATS, dict_=True), "land_trips": Each(STATS, dict_=True),
    "tonnes_by_mode": Each(STATS, dict_=True),
    "utilization": Each({"resource": Text(), "kind": Text(), "where": Text(), "capacity": Opt(NUMBER),
                         "utilization": NUMBER, "queue_h": Opt(NUMBER)}),
    "bottleneck": Opt(Text()), "representative_replication": Opt(COUNT), "bounds": dict, "reproduce": dict,
}
SCENARIO: dict[str, Any] = {
    "name": Text(), "title": Text(), "description": Text(), "start_date": Text(date=True), "deadline_days": DAY,
    "horizon_days": Opt(DAY),
    "nodes": Each({"lat": Num(-90, 90), "lon": Num(-180, 180), "kind": Text(), "name": Opt(Text())}, dict_=True),
    "legs": Each({"from": Text(), "to": Text(), "mode": Text(), "distance_nm": Opt(NUMBER)}, dict_=True),
    "routes": Each(dict, dict_=True), "carriers": Each(dict, dict_=True), "cargo": Each(dict, dict_=True),
    "requirements": Each(dict, dict_=True), "fleets": Each(dict, dict_=True), "uncertainty": dict,
}


def check_shape(doc: Any, shape: dict[str, Any], file: Path) -> None:
    """Raise `UsageError` naming `file` and the key when `doc` does not have the shape `sim run` writes."""
    found = _find(shape, doc, "")
    if found:
        where, problem = found
        raise UsageError(f"{file}: {where or 'the document'} {problem}; the file is damaged or was edited: "
                         "rerun sim run to write the folder again")


@dataclass
class Saved:
    """The saved files of one results folder, as plain data."""

    folder: Path
    summary: RunSummary
    scenario: dict[str, Any] = field(default_factory=dict)  # {} when scenario_resolved.json is absent
    deliveries: list[dict[str, str]] = field(default_factory=list)
    utilization: list[dict[str, str]] = field(default_factory=list)
    trips: list[dict[str, str]] = field(default_factory=list)
    replications: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # optional files not found

    def closure_days(self) -> dict[str, list[float]]:
        """Closure day of each class per replication, from replications.csv (inf when never closed)."""
        out: dict[str, list[float]] = {}
        for cls in self.summary.classes:
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
    check_shape(summary, SUMMARY, summary_file)
    saved = Saved(folder, RunSummary.from_dict(summary))
    scenario_file = folder / "scenario_resolved.json"
    if scenario_file.is_file():
        try:
            saved.scenario = json.loads(scenario_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{scenario_file}: cannot read it ({exc})") from None
        if not isinstance(saved.scenario, dict):
            raise UsageError(f"{scenario_file}: not a resolved scenario (not a JSON object)")
        check_shape(saved.scenario, SCENARIO, scenario_file)
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


