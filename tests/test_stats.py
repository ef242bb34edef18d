"""Statistics helpers and distributions: known values, documented means, fixed-memory bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.distributions import Distribution
from sim.stats import BandSketch, describe, wilson_interval

DIST = TypeAdapter(Distribution)


def test_wilson_interval_known_values() -> None:
    # z = 1.96: 0 of 1 gives (0, z^2 / (1 + z^2)); 50 of 100 gives 0.5 -/+ 0.0962
    lo, hi = wilson_interval(0, 1)
    assert lo == 0.0 and hi == pytest.approx(1.959964**2 / (1 + 1.959964**2), abs=1e-6)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.40383, abs=1e-4) and hi == pytest.approx(0.59617, abs=1e-4)
    assert wilson_interval(100, 100)[1] == 1.0


def test_describe_uses_observed_values_and_nulls_for_never() -> None:
    assert describe([3.0]) == {"mean": 3.0, "p10": 3.0, "p50": 3.0, "p90": 3.0}
    values = list(range(1, 11))  # 1..10: inverted CDF p10 = 1, p50 = 5, p90 = 9
    assert describe(values) == {"mean": 5.5, "p10": 1.0, "p50": 5.0, "p90": 9.0}
    with_never = [1.0] * 8 + [math.inf] * 2
    out = describe(with_never)
    assert out["mean"] is None and out["p50"] == 1.0 and out["p90"] is None


@pytest.mark.parametrize("spec, mean", [
    ({"dist": "fixed", "value": 3}, 3.0),
    ({"dist": "uniform", "low": 2, "high": 6}, 4.0),
    ({"dist": "triangular", "low": 4, "mode": 5, "high": 20}, 29 / 3),
    ({"dist": "normal", "mean": 1.0, "sd": 0.1}, 1.0),
    ({"dist": "normal", "mean": 0.0, "sd": 1.0}, math.sqrt(2 / math.pi)),  # half-normal
    ({"dist": "lognormal", "mean": 12, "sd": 8}, 12.0),
    ({"dist": "exponential", "mean": 5}, 5.0),
])
def test_documented_mean_matches_samples(spec: dict, mean: float) -> None:
    dist = DIST.validate_python(spec)
    assert dist.mean == pytest.approx(mean, rel=1e-3)
    rng = np.random.default_rng(0)
    draws = np.array([dist.sample(rng) for _ in range(40_000)])
    assert draws.min() >= 0
    assert draws.mean() == pytest.approx(mean, abs=4 * draws.std() / math.sqrt(len(draws)) + 1e-12)


@pytest.mark.parametrize("spec", [
    {"dist": "uniform", "low": 5, "high": 1},
    {"dist": "triangular", "low": 1, "mode": 9, "high": 5},
    {"dist": "exponential", "mean": 0},
    {"dist": "exponential", "mean": -1},
    {"dist": "lognormal", "mean": 1, "sd": -1},
    {"dist": "normal", "mean": -10, "sd": 1},
    {"dist": "gamma", "mean": 1},
    {"dist": "fixed", "value": float("nan")},
])
def test_bad_distribution_parameters_are_rejected(spec: dict) -> None:
    with pytest.raises(ValidationError):
        DIST.validate_python(spec)


def test_band_sketch_exact_when_runs_agree_and_close_otherwise() -> None:
    band = BandSketch(points=3, scale=1000.0, bins=2000)
    band.add(np.array([0.0, 123.4, 1000.0]))
    assert list(band.percentile(50)) == [0.0, 123.4, 1000.0]
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1000, size=(501, 3))
    band = BandSketch(points=3, scale=1000.0, bins=2000)
    for row in values:
        band.add(row)
    for p in (10, 50, 90):
        exact = np.percentile(values, p, axis=0, method="inverted_cdf")
        assert np.all(np.abs(band.percentile(p) - exact) <= 1000.0 / 2000)
    assert np.allclose(band.mean(), values.mean(axis=0))
