"""When a node is open: daily operating hours and closures, as merged closed intervals in hours."""

from __future__ import annotations

import bisect
import math
from collections.abc import Generator, Iterable

import simpy


class Calendar:
    """Closed periods of one node; handling work pauses while closed."""

    def __init__(self, closed: Iterable[tuple[float, float]]):
        merged: list[list[float]] = []
        for a, b in sorted((a, b) for a, b in closed if b > a):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self._starts = [a for a, _ in merged]
        self._ends = [b for _, b in merged]

    @classmethod
    def for_node(cls, operating_hours_per_day: float, opens_at_h: float, closures_h: Iterable[tuple[float, float]],
                 horizon_h: float) -> Calendar:
        """Closed intervals from daily operating hours (if under 24) and from explicit closures."""
        closed = list(closures_h)
        if operating_hours_per_day < 24:
            for day in range(-1, int(math.ceil(horizon_h / 24.0)) + 2):
                start = day * 24.0 + opens_at_h + operating_hours_per_day
                closed.append((start, day * 24.0 + opens_at_h + 24.0))
        return cls(closed)

    @property
    def always_open(self) -> bool:
        return not self._starts

    def next_open(self, t: float) -> float:
        """The earliest time >= t at which the node is open."""
        i = bisect.bisect_right(self._starts, t) - 1
        return self._ends[i] if i >= 0 and t < self._ends[i] else t

    def next_close(self, t: float) -> float:
        """Start of the first closed period after an open time t (inf if none)."""
        i = bisect.bisect_right(self._starts, t)
        return self._starts[i] if i < len(self._starts) else math.inf

    def open_hours(self, t0: float, t1: float) -> float:
        """Hours the node is open between t0 and t1."""
        closed = 0.0
        for a, b in zip(self._starts, self._ends):
            closed += max(0.0, min(b, t1) - max(a, t0))
        return max(0.0, t1 - t0 - closed)

    def work(self, env: simpy.Environment, duration_h: float) -> Generator[simpy.Event, None, None]:
        """Spend `duration_h` hours of open time, pausing across closed periods."""
        if not self._starts:  # always open: the common case, one timeout
            if duration_h > 1e-12:
                yield env.timeout(duration_h)
            return
        remaining = duration_h
        while remaining > 1e-12:
            now = env.now
            opened = self.next_open(now)
            if opened > now:
                yield env.timeout(opened - now)
                continue
            step = min(remaining, self.next_close(now) - now)
            yield env.timeout(step)
            remaining -= step

    def wait_open(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        """Wait until the node is open (at once if it is)."""
        opened = self.next_open(env.now)
        if opened > env.now:
            yield env.timeout(opened - env.now)
