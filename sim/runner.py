"""Run replications of a scenario, serially or on a process pool, and aggregate them as they arrive.

A replication is a pure function of (scenario, root seed, index): its generator is
`numpy.random.default_rng(SeedSequence(root, spawn_key=(index,)))`, which is exactly
`SeedSequence(root).spawn(n)[index]` for any n, so replication k is the same whatever
the number of replications, jobs or the executor.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from sim.aggregate import Aggregate, Failure
from sim.measure import Outcome, measure
from sim.model import simulate
from sim.record import RunRecord
from sim.schema import Scenario


def generator_for(seed: int, index: int) -> np.random.Generator:
    """The generator of replication `index` under root `seed` (child `index` of SeedSequence(seed))."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def replicate(scenario: Scenario, seed: int, index: int) -> Outcome | Failure:
    """Run and measure one replication; an exception becomes a `Failure` naming the replication."""
    try:
        record = simulate(scenario, generator_for(seed, index))
        return measure(scenario, record, index)
    except Exception as exc:  # a failing replication must not lose the others
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return Failure(index, f"{type(exc).__name__}: {exc} (at {os.path.basename(last.filename)}:{last.lineno})")


def trace(scenario: Scenario, seed: int, index: int) -> RunRecord:
    """Rerun one replication keeping its per-movement trip log."""
    return simulate(scenario, generator_for(seed, index), keep_trips=True)


# A worker process keeps the scenario it was started with, so it is sent once, not per task.
_WORKER_SCENARIO: Scenario | None = None


def _init_worker(scenario: Scenario) -> None:
    global _WORKER_SCENARIO
    _WORKER_SCENARIO = scenario


def _replicate_in_worker(args: tuple[int, int]) -> Outcome | Failure:
    assert _WORKER_SCENARIO is not None
    return replicate(_WORKER_SCENARIO, *args)


def _serial(scenario: Scenario, seed: int, indices: list[int]) -> Iterator[Outcome | Failure]:
    for index in indices:
        yield replicate(scenario, seed, index)


def _process_pool(scenario: Scenario, seed: int, indices: list[int], jobs: int) -> Iterator[Outcome | Failure]:
    chunk = max(1, min(64, len(indices) // (jobs * 8) or 1))
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(scenario,)) as pool:
        yield from pool.map(_replicate_in_worker, [(seed, i) for i in indices], chunksize=chunk)


@dataclass
class RunResult:
    """Aggregated results of a run, plus the trip log of its representative replication."""

    scenario: Scenario
    aggregate: Aggregate
    representative: int | None
    record: RunRecord | None


def run(scenario: Scenario, replications: int = 1, seed: int = 0, jobs: int = 1,
        only: int | None = None, progress: Callable[[int], None] | None = None) -> RunResult:
    """Run `replications` replications (or only replication `only`) and aggregate them.

    `jobs` > 1 uses a process pool. `progress` is called with the number done after each.
    """
    indices = [only] if only is not None else list(range(replications))
    agg = Aggregate(scenario, len(indices), seed, first_index=indices[0])
    stream: Iterable[Outcome | Failure]
    if jobs > 1 and len(indices) > 1:
        stream = _process_pool(scenario, seed, indices, jobs)
    else:
        stream = _serial(scenario, seed, indices)
    for done, item in enumerate(stream, start=1):
        agg.add(item)
        if progress:
            progress(done)
    rep = agg.representative_index()
    record = trace(scenario, seed, rep) if rep is not None else None
    return RunResult(scenario, agg, rep, record)
