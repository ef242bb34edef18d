"""Probability distributions a scenario may attach to uncertain inputs.

Each is a small validated object with a `mean` and `sample(rng)`. In TOML they are
written as inline tables keyed by `dist`:

    { dist = "fixed", value = 3 }                          mean = value
    { dist = "uniform", low = 0.9, high = 1.2 }            mean = (low + high) / 2
    { dist = "triangular", low = 4, mode = 5, high = 20 }  mean = (low + mode + high) / 3
    { dist = "normal", mean = 1.0, sd = 0.1 }              truncated at zero (resampled); `mean` is the truncated mean
    { dist = "lognormal", mean = 12, sd = 8 }              mean and sd of the variable itself (not of its log)
    { dist = "exponential", mean = 12 }                    mean = mean
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"]
    value: NonNeg

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator) -> float:
        return self.value


class Uniform(_Dist):
    """Any value between low and high, equally likely."""

    dist: Literal["uniform"]
    low: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) must not be below low ({self.low:g})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high)) if self.high > self.low else self.low


class Triangular(_Dist):
    """Between low and high, most likely at mode."""

    dist: Literal["triangular"]
    low: NonNeg
    mode: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low <= mode <= high, got {self.low:g}, {self.mode:g}, {self.high:g}")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample(self, rng: np.random.Generator) -> float:
        if self.high == self.low:
            return self.low
        return float(rng.triangular(self.low, self.mode, self.high))


class Normal(_Dist):
    """Normal with the given mean and sd, truncated at zero (negative draws are drawn again)."""

    dist: Literal["normal"]
    mean_: Finite = Field(alias="mean")
    sd: NonNeg

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @model_validator(mode="after")
    def _mostly_positive(self) -> Normal:
        if self.sd > 0 and self.mean_ / self.sd < -3:
            raise ValueError("mean is more than 3 sd below zero: almost every draw would be cut off")
        if self.sd == 0 and self.mean_ < 0:
            raise ValueError("with sd = 0 the mean must not be negative")
        return self

    @property
    def mean(self) -> float:
        """Mean of the truncated distribution: mu + sd * phi(a) / (1 - Phi(a)), a = -mu / sd."""
        if self.sd == 0:
            return self.mean_
        a = -self.mean_ / self.sd
        phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(a / math.sqrt(2))
        return self.mean_ + self.sd * phi / tail

    def sample(self, rng: np.random.Generator) -> float:
        while True:
            x = float(rng.normal(self.mean_, self.sd))
            if x >= 0:
                return x


class LogNormal(_Dist):
    """Lognormal with the given mean and sd of the variable itself."""

    dist: Literal["lognormal"]
    mean_: Positive = Field(alias="mean")
    sd: NonNeg

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator) -> float:
        sigma2 = math.log(1 + (self.sd / self.mean_) ** 2)
        return float(rng.lognormal(math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)))


class Exponential(_Dist):
    """Exponential with the given mean (memoryless waiting time)."""

    dist: Literal["exponential"]
    mean_: Positive = Field(alias="mean")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_))


Distribution = Annotated[
    Fixed | Uniform | Triangular | Normal | LogNormal | Exponential,
    Field(discriminator="dist"),
]
