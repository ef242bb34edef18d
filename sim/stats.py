"""Summary statistics used across replications: percentiles, Wilson intervals, fixed-memory bands."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PERCENTILES = (10, 50, 90)
Z95 = 1.959963984540054


def describe(values: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """Mean, p10, p50, p90 of a sample; infinite values (never happened) make a figure null.

    Percentiles are observed values (inverted CDF), so a single run reports itself exactly.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {"mean": None, "p10": None, "p50": None, "p90": None}
    out: dict[str, float | None] = {"mean": _finite(float(np.mean(arr))) if np.all(np.isfinite(arr)) else None}
    ordered = np.sort(arr)
    for p in PERCENTILES:
        out[f"p{p}"] = _finite(float(np.percentile(ordered, p, method="inverted_cdf")))
    return out


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


class BandSketch:
    """Percentiles of many curves with memory that does not grow with their number.

    Each point of a curve (a class's cumulative delivery on one day) is counted in a
    histogram of `bins` equal bins over [0, scale]; exact sum, min and max are kept
    beside it. A percentile is read from the histogram and clamped to [min, max], so it
    is exact whenever all runs agree (one deterministic run, days before the first or
    after the last delivery) and otherwise within scale / bins.
    """

    def __init__(self, points: int, scale: float, bins: int = 2000):
        self.scale = scale
        self.bins = bins
        self.counts = np.zeros((points, bins + 1), dtype=np.uint32)
        self.total = np.zeros(points)
        self.low = np.full(points, np.inf)
        self.high = np.full(points, -np.inf)
        self.n = 0

    def add(self, curve: np.ndarray) -> None:
        """Count one curve (one value per point)."""
        idx = np.clip(np.floor(curve / self.scale * self.bins + 1e-9).astype(np.int64), 0, self.bins)
        self.counts[np.arange(len(curve)), idx] += 1
        self.total += curve
        self.low = np.minimum(self.low, curve)
        self.high = np.maximum(self.high, curve)
        self.n += 1

    def mean(self) -> np.ndarray:
        """Mean at each point (NaN before any curve was added)."""
        return self.total / self.n if self.n else np.full(len(self.total), np.nan)

    def percentile(self, p: float) -> np.ndarray:
        """The p-th percentile at each point (inverted CDF on the bins, then clamped to the observed range)."""
        if not self.n:
            return np.full(len(self.total), np.nan)
        need = max(1, math.ceil(p / 100.0 * self.n))
        cum = np.cumsum(self.counts, axis=1)
        k = np.argmax(cum >= need, axis=1)
        centre = (k + 0.5) * self.scale / self.bins
        return np.clip(centre, self.low, self.high)
