"""Change one value of a scenario by its key path (`fleets.c17_airlift.count`), for sizing and sweeps.

Works on the plain data after `extends` and library merges, then validates the result,
so every changed scenario passes the same checks as a file would.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from sim.errors import UsageError, did_you_mean
from sim.loader import resolve_raw, validate_raw
from sim.schema import Scenario


def get_value(raw: dict[str, Any], key: str) -> Any:
    """The value at a dotted key path; `UsageError` naming the first part that does not exist."""
    table: Any = raw
    walked = []
    for part in key.split("."):
        if not isinstance(table, dict) or part not in table:
            where = ".".join(walked) or "the scenario"
            choices = table.keys() if isinstance(table, dict) else []
            raise UsageError(f'unknown key "{key}": {where} has no "{part}"{did_you_mean(part, choices)}')
        table = table[part]
        walked.append(part)
    return table


def set_value(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of `raw` with the value at `key` replaced (the key must exist).

    Setting `requirements.<class>.quantity` scales that class's release amounts (quantity and
    per_day) by the same factor, keeping release dates, so the schedule still adds up.
    """
    old = get_value(raw, key)
    out = copy.deepcopy(raw)
    parts = key.split(".")
    table = out
    for part in parts[:-1]:
        table = table[part]
    table[parts[-1]] = value
    if len(parts) == 3 and parts[0] == "requirements" and parts[2] == "quantity":
        _scale_releases(table, value / old, whole=not out.get("cargo", {}).get(parts[1], {}).get("divisible", False))
    return out


def _scale_releases(requirement: dict[str, Any], factor: float, whole: bool) -> None:
    releases = requirement.get("release", [])
    total = requirement["quantity"]
    explicit = [r for r in releases if "quantity" in r]
    for rel in releases:
        if "quantity" in rel:
            rel["quantity"] = rel["quantity"] * factor
        if "per_day" in rel:
            rel["per_day"] = rel["per_day"] * factor
            if whole:
                rel["per_day"] = max(1, round(rel["per_day"]))
    if whole and explicit:
        for rel in explicit:
            rel["quantity"] = math.floor(rel["quantity"])
        if len(explicit) == len(releases):  # every entry explicit: put the rounding remainder on the first
            explicit[0]["quantity"] += round(total - sum(r["quantity"] for r in explicit))


def numeric_key(raw: dict[str, Any], key: str, integer: bool) -> float:
    """The current value at `key`, checked to be a number (a whole number if `integer`)."""
    value = get_value(raw, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f'"{key}" is {value!r}, not a number: only numeric keys can be varied')
    if integer and not isinstance(value, int):
        raise UsageError(f'"{key}" is {value!r}, not a whole number: sizing varies counts (fleets.X.count, nodes.X.parking_spots, ...)')
    return value


def scenario_with(raw: dict[str, Any], changes: dict[str, Any], file: str = "") -> Scenario:
    """The validated scenario with each key path in `changes` set to its value."""
    for key, value in changes.items():
        raw = set_value(raw, key, value)
    return validate_raw(raw, file=file)


def load_raw(path: Path) -> dict[str, Any]:
    """Plain scenario data of a file after `extends` and library merges (validated once, to fail early)."""
    raw = resolve_raw(path)
    validate_raw(copy.deepcopy(raw), file=str(path))
    return raw
