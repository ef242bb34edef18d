"""Constrained node resources (parking spots, berths, land handling) that record their own use."""

from __future__ import annotations

from collections.abc import Generator

import simpy

from sim.record import FacilityUse


class Facility:
    """A SimPy resource with time-weighted use, per-day use and queueing time recorded."""

    def __init__(self, env: simpy.Environment, use: FacilityUse, horizon_days: int):
        self.env = env
        self.use = use
        self.resource = simpy.Resource(env, capacity=int(use.capacity))
        self.use.daily_busy_h = [0.0] * (horizon_days + 1)
        self._in_use = 0
        self._since = 0.0
        self._queued: dict[simpy.resources.resource.Request, float] = {}  # requests still waiting -> when they asked

    def _advance(self) -> None:
        now, t = self.env.now, self._since
        if self._in_use and now > t:
            self.use.busy_h += self._in_use * (now - t)
            days = self.use.daily_busy_h
            while t < now:
                day = int(t // 24.0)
                end = min(now, (day + 1) * 24.0)
                if day < len(days):
                    days[day] += self._in_use * (end - t)
                t = end
        self._since = now

    def acquire(self) -> Generator[simpy.Event, None, simpy.resources.resource.Request]:
        """Queue for one unit; returns the request to hand back to `release`. Queueing time is recorded."""
        request = self.resource.request()
        asked = self.env.now
        self._queued[request] = asked
        yield request
        del self._queued[request]
        self.use.wait_h += self.env.now - asked
        self.use.uses += 1
        self._advance()
        self._in_use += 1
        self.use.peak_in_use = max(self.use.peak_in_use, self._in_use)
        return request

    def release(self, request: simpy.resources.resource.Request) -> None:
        """Give back the unit taken by `acquire`."""
        self._advance()
        self._in_use -= 1
        self.resource.release(request)

    def close(self) -> None:
        """Account use and the waiting of carriers still in the queue up to now (call once when the run ends)."""
        self._advance()
        self.use.wait_h += sum(self.env.now - asked for asked in self._queued.values())
        self._queued.clear()
