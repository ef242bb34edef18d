"""Size a fleet or capacity, and sweep inputs: what is needed, and what is deliverable, by the deadline.

`size` finds the smallest integer value of a key at which every target is met by the
deadline with at least a target probability, by bisection (which assumes the probability
does not fall as the value grows) and then checks that assumption on every value it ran.
`sweep` runs a grid over one or two keys and, for one key, reports the largest value
deliverable by the deadline with a given probability (where the probability falls as the
value grows, as for a quantity) or the smallest value enough (where it rises, as for a fleet).
Both build and check every scenario they will run before running the first, and name the
value of the key in any error ("at fleets.f.count = 0: ...").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.errors import Problem, ScenarioError, UsageError
from sim.overrides import numeric_key, scenario_with
from sim.runner import RunResult
from sim.schema import Scenario

Check = Callable[[Scenario], None]


def _no_check(scenario: Scenario) -> None:
    """The default check before running: none beyond validation."""


def _label(changes: dict[str, Any]) -> str:
    """'fleets.f.count = 3' (or two such, comma-separated) for error messages."""
    return ", ".join(f"{k} = {v:.12g}" if isinstance(v, float) else f"{k} = {v}" for k, v in changes.items())


def build_checked(raw: dict[str, Any], changes: dict[str, Any], check: Check) -> Scenario:
    """The scenario with `changes`, validated and passed through `check`; errors prefixed 'at KEY = V: '."""
    where = _label(changes)
    try:
        scenario = scenario_with(raw, changes)
        check(scenario)
    except ScenarioError as exc:
        raise ScenarioError(Problem("", f"at {where}: {p}") for p in exc.problems) from None
    except UsageError as exc:
        raise UsageError(f"at {where}: {exc}") from None
    return scenario


def parse_range(text: str, integer: bool) -> tuple[float, float]:
    """'LO:HI' -> (lo, hi); `UsageError` for anything else (or an empty range)."""
    parts = text.split(":")
    if len(parts) != 2:
        raise UsageError(f"--range {text!r}: expected LO:HI, e.g. 4:40")
    lo, hi = (_number(p, "--range", integer) for p in parts)
    if hi < lo:
        raise UsageError(f"--range {text!r}: empty range (HI {hi:g} is below LO {lo:g})")
    return lo, hi


def parse_set(text: str) -> tuple[str, list[float]]:
    """'KEY=LO:HI:STEP' -> (key, grid values); `UsageError` for a bad form, step or empty range."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected KEY=LO:HI:STEP, e.g. requirements.rounds_155.quantity=100000:900000:100000")
    key, spec = text.split("=", 1)
    parts = spec.split(":")
    if len(parts) != 3:
        raise UsageError(f"--set {text!r}: expected KEY=LO:HI:STEP")
    lo, hi, step = (_number(p, "--set", False) for p in parts)
    if step <= 0:
        raise UsageError(f"--set {text!r}: STEP must be above 0")
    if hi < lo:
        raise UsageError(f"--set {text!r}: empty range (HI {hi:g} is below LO {lo:g})")
    count = int(math.floor((hi - lo) / step + 1e-9)) + 1
    if count > 1000:
        raise UsageError(f"--set {text!r}: {count} points; at most 1,000 per key")
    return key.strip(), [lo + i * step for i in range(count)]


def _number(text: str, option: str, integer: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"{option}: {text!r} is not a finite number")
    if integer and value != int(value):
        raise UsageError(f"{option}: {text!r} is not a whole number (this key is a count)")
    return value


@dataclass
class SizingPoint:
    """The outcome of one value tried."""

    value: float
    all_met_probability: float
    ci95: tuple[float, float]
    bottleneck: str | None
    p_met: dict[str, float]
    closure_p50: dict[str, float | None]


def _point(value: float, result: RunResult) -> SizingPoint:
    summary = result.aggregate.summary()
    return SizingPoint(value, summary.all_met_probability or 0.0, summary.all_met_ci95, summary.bottleneck,
                       {c: v.p_met or 0.0 for c, v in summary.classes.items()},
                       {c: v.closure_day.p50 for c, v in summary.classes.items()})


@dataclass
class SizingResult:
    """The answer of `size` and every value it ran."""

    key: str
    target_probability: float
    lo: int
    hi: int
    answer: int | None
    points: list[SizingPoint] = field(default_factory=list)
    monotone: bool = True
    violations: list[tuple[float, float]] = field(default_factory=list)

    def message(self) -> str:
        """One plain sentence: the answer, or why there is none."""
        if self.answer is not None:
            return (f"{self.key} = {self.answer} is the smallest value in {self.lo}..{self.hi} at which all targets are met "
                    f"by the deadline with probability >= {self.target_probability:g}")
        top = max(self.points, key=lambda p: p.value)
        return (f"no value of {self.key} in {self.lo}..{self.hi} is enough: at {top.value:g} all targets are met with "
                f"probability {top.all_met_probability:.2f} (< {self.target_probability:g}); "
                f"what then binds: {top.bottleneck}")


def size(raw: dict[str, Any], key: str, lo: int, hi: int, target_probability: float,
         run_one: Callable[[Scenario], RunResult], check: Check = _no_check) -> SizingResult:
    """Smallest integer `key` in [lo, hi] with all-met probability >= target, by bisection; then check monotonicity.

    The scenarios at LO and HI are built and checked (`check`) before anything runs.
    """
    numeric_key(raw, key, integer=True)
    if lo < 0:
        raise UsageError(f"--range: {key} cannot be negative")
    for v in (lo, hi):
        build_checked(raw, {key: v}, check)
    cache: dict[int, SizingPoint] = {}

    def evaluate(v: int) -> SizingPoint:
        if v not in cache:
            cache[v] = _point(v, run_one(build_checked(raw, {key: v}, check)))
        return cache[v]

    def ok(v: int) -> bool:
        return evaluate(v).all_met_probability >= target_probability - 1e-12

    result = SizingResult(key, target_probability, lo, hi, None)
    evaluate(lo)
    if ok(hi):
        a, b = lo, hi  # invariant: ok(b); answer in (a, b] unless ok(lo)
        if ok(lo):
            result.answer = lo
        else:
            while b - a > 1:
                mid = (a + b) // 2
                if ok(mid):
                    b = mid
                else:
                    a = mid
            result.answer = b
            evaluate(b - 1)
    result.points = [cache[v] for v in sorted(cache)]
    for p, q in itertools.pairwise(result.points):
        if q.all_met_probability < p.all_met_probability - 1e-12:
            result.monotone = False
            result.violations.append((p.value, q.value))
    return result


RISES, FALLS = "rises", "falls"
READINGS = {FALLS: "largest_met", RISES: "smallest_met"}  # sweep.json "reading": which value `deliverable` is


@dataclass
class SweepResult:
    """Every grid point of a sweep and, for one key, the value read off the curve at the target probability.

    `reading` says which: "largest_met" (the largest value met, interpolated, where the
    probability falls as the value grows) or "smallest_met" (the smallest swept value met,
    where it rises); None with two keys.
    """

    keys: list[str]
    target_probability: float
    points: list[tuple[tuple[float, ...], SizingPoint]]
    deliverable: float | None = None
    deliverable_note: str = ""
    reading: str | None = None

    def rows(self) -> list[dict[str, Any]]:
        """Rows of sweep.csv: the key values, then all-met probability and per class p_met and P50 closure day."""
        out = []
        for values, point in self.points:
            row: dict[str, Any] = dict(zip(self.keys, values))
            row["all_met_probability"] = point.all_met_probability
            for cls, p in point.p_met.items():
                row[f"{cls}_p_met"] = p
                row[f"{cls}_closure_day_p50"] = point.closure_p50[cls]
            out.append(row)
        return out


def sweep(raw: dict[str, Any], grid: list[tuple[str, list[float]]], target_probability: float,
          run_one: Callable[[Scenario], RunResult], check: Check = _no_check) -> SweepResult:
    """Run every combination of the grid values; with one key, read the deliverable (or needed) value.

    Every grid scenario is built and checked (`check`) before the first runs; they are built
    again when run rather than kept, so a large grid does not hold every scenario in memory.
    Values of keys that are whole numbers in the scenario stay whole (ints) in the result.
    """
    if not 1 <= len(grid) <= 2:
        raise UsageError("--set: give one or two keys")
    keys = [k for k, _ in grid]
    if len(set(keys)) != len(keys):
        raise UsageError("--set: the same key twice")
    whole = {}
    for key, values in grid:
        whole[key] = isinstance(numeric_key(raw, key, integer=False), int)
        if whole[key] and any(v != int(v) for v in values):
            raise UsageError(f"--set {key}: this key is a whole number; give whole LO, HI and STEP")
    combos = [tuple(int(v) if whole[k] else v for k, v in zip(keys, combo))
              for combo in itertools.product(*(values for _, values in grid))]
    for combo in combos:
        build_checked(raw, dict(zip(keys, combo)), check)
    points = [(combo, _point(combo[0], run_one(build_checked(raw, dict(zip(keys, combo)), check)))) for combo in combos]
    result = SweepResult(keys, target_probability, points)
    if len(keys) == 1:
        curve = [(v[0], pt.all_met_probability) for v, pt in points]
        direction = _direction(curve, keys[0])
        result.reading = READINGS[direction]
        reader = _largest_met if direction == FALLS else _smallest_met
        result.deliverable, result.deliverable_note = reader(curve, target_probability, keys[0])
    return result


def _direction(curve: list[tuple[float, float]], key: str) -> str:
    """Whether the probability rises or falls as the value grows: the sign of its least-squares slope.

    The curve decides because the key cannot (a quantity, a distance or a load time make it
    fall; a fleet, spots or a handling rate make it rise). Only a curve with no slope (flat,
    or symmetric) falls back on the key: a requirement quantity falls, anything else rises.
    """
    mean_x = sum(x for x, _ in curve) / len(curve)
    mean_y = sum(y for _, y in curve) / len(curve)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in curve)  # times a positive constant
    if abs(slope) > 1e-9 * sum(abs(x - mean_x) for x, _ in curve):
        return RISES if slope > 0 else FALLS
    parts = key.split(".")
    return FALLS if len(parts) == 3 and parts[0] == "requirements" and parts[2] == "quantity" else RISES


def _none_met(curve: list[tuple[float, float]], p: float, key: str) -> str:
    best_x, best_y = max(curve, key=lambda c: c[1])
    return (f"no swept value of {key} ({curve[0][0]:g} to {curve[-1][0]:g}) is met with probability >= {p:g}; "
            f"the highest is {best_y:.2f}, at {key} = {best_x:g}")


def _largest_met(curve: list[tuple[float, float]], p: float, key: str) -> tuple[float | None, str]:
    """The end of the first run of swept values met with probability >= p, interpolated where the curve then crosses p."""
    met = [y >= p for _, y in curve]
    if not any(met):
        return None, _none_met(curve, p, key)
    first = met.index(True)
    end = met.index(False, first) - 1 if False in met[first:] else len(curve) - 1
    start = f"every swept value from {curve[first][0]:g}" if first else "every swept value"
    caveat = f"; values below {curve[first][0]:g} are not: the probability does not fall steadily" if first else ""
    if end == len(curve) - 1:
        return curve[-1][0], f"{start} up to {key} = {curve[-1][0]:g} is met with probability >= {p:g}{caveat}"
    (x0, y0), (x1, y1) = curve[end], curve[end + 1]
    x = x0 + (y0 - p) / (y0 - y1) * (x1 - x0)
    return x, (f"{key} deliverable by the deadline with probability {p:g}: about {x:,.0f} "
               f"(interpolated between {x0:g}, P = {y0:.2f}, and {x1:g}, P = {y1:.2f}){caveat}")


def _smallest_met(curve: list[tuple[float, float]], p: float, key: str) -> tuple[float | None, str]:
    """Smallest swept value with all-met probability >= p (not interpolated: such keys are often counts)."""
    met = [i for i, (_, y) in enumerate(curve) if y >= p]
    if not met:
        return None, _none_met(curve, p, key)
    i = met[0]
    x, y = curve[i]
    below = f"; at {curve[i - 1][0]:g}, P = {curve[i - 1][1]:.2f}" if i else ""
    return x, f"{key} = {x:g} is the smallest swept value met with probability >= {p:g} (P = {y:.2f}{below})"
