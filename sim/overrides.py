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
    if len(parts) == 3 and parts[0] == "requirements" and parts[2] == "quantity" and _positive_number(value):
        _scale_releases(table, old, whole=not out.get("cargo", {}).get(parts[1], {}).get("divisible", False))
    return out


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _scale_releases(requirement: dict[str, Any], old_total: float, whole: bool) -> None:
    """Scale a requirement's releases from `old_total` to its (new) quantity.

    Whole units: the new quantity is shared out over the entries in proportion to their old
    quantities by largest remainders, so the entries add up exactly; entries whose share is 0
    are dropped (at least one always remains) and each per_day is rounded, at least 1.
    """
    releases = requirement.get("release") or []
    total = requirement["quantity"]
    factor = total / old_total
    for rel in releases:
        if "per_day" in rel:
            rel["per_day"] = max(1, round(rel["per_day"] * factor)) if whole else rel["per_day"] * factor
    if not whole or total != int(total) or not releases:  # divisible (or a fraction the checks will report): scale
        for rel in releases:
            if "quantity" in rel:
                rel["quantity"] = rel["quantity"] * factor
        return
    given = sum(r["quantity"] for r in releases if "quantity" in r)
    old = [r.get("quantity", old_total - given) for r in releases]
    shares = apportion(int(total), old)
    for rel, share in zip(releases, shares):
        if "quantity" in rel:
            rel["quantity"] = share
    requirement["release"] = [rel for rel, share in zip(releases, shares) if share > 0]


def apportion(total: int, weights: list[float]) -> list[int]:
    """Whole shares of `total` in proportion to `weights`, adding up to `total` (largest remainders, ties to the first)."""
    whole_weight = sum(weights)
    quotas = [total * w / whole_weight for w in weights]
    shares = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - quotas[i])  # stable: ties keep order
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


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
