"""Run replications of a scenario, serially or on a process pool, and aggregate them as they arrive.

A replication is a pure function of (scenario, root seed, index): its generator is
`numpy.random.default_rng(SeedSequence(root, spawn_key=(index,)))`, which is exactly
`SeedSequence(root).spawn(n)[index]` for any n, so replication k is the same whatever
the number of replications, jobs or the executor.
"""

from __future__ import annotations

import collections
import itertools
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim import __version__
from sim.aggregate import Aggregate, Failure
from sim.errors import UsageError
from sim.measure import Outcome, measure
from sim.model import simulate
from sim.record import RunRecord, Trip
from sim.schema import Scenario
from sim.summary import RunSummary


def generator_for(seed: int, index: int) -> np.random.Generator:
    """The generator of replication `index` under root `seed` (child `index` of SeedSequence(seed))."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def replicate(scenario: Scenario, seed: int, index: int) -> Outcome | Failure:
    """Run and measure one replication; an exception becomes a `Failure` naming the replication."""
    try:
        record = simulate(scenario, generator_for(seed, index))
        return measure(scenario, record, index)
    except Exception as exc:  # a failing replication must not lose the others
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f"{os.sep}sim{os.sep}" in f.filename] or frames
        last = ours[-1]
        return Failure(index, f"{type(exc).__name__}: {exc} (at {os.path.basename(last.filename)}:{last.lineno})")


def trace(scenario: Scenario, seed: int, index: int) -> RunRecord:
    """Rerun one replication keeping its per-movement trip log."""
    return simulate(scenario, generator_for(seed, index), keep_trips=True)


# A worker process keeps the scenario it was started with, so it is sent once, not per task.
_WORKER_SCENARIO: Scenario | None = None


def _init_worker(scenario: Scenario) -> None:
    global _WORKER_SCENARIO
    _WORKER_SCENARIO = scenario
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler, inherited by fork: SIGTERM ends a worker
    _die_with_parent()


def _die_with_parent() -> None:
    """On Linux, have the kernel end this worker if the main process dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass  # best effort: without it, an orphaned worker finishes its current task and exits


def _replicate_chunk(seed: int, indices: list[int]) -> list[Outcome | Failure]:
    assert _WORKER_SCENARIO is not None
    return [replicate(_WORKER_SCENARIO, seed, index) for index in indices]


def _serial(scenario: Scenario, seed: int, indices: list[int]) -> Iterator[Outcome | Failure]:
    for index in indices:
        yield replicate(scenario, seed, index)


def _process_pool(scenario: Scenario, seed: int, indices: list[int], jobs: int) -> Iterator[Outcome | Failure]:
    """Replications on a local process pool, in chunks, with a bounded number in flight (flat memory), in order."""
    chunk = max(1, min(32, len(indices) // (jobs * 8) or 1))
    chunks = iter([indices[i:i + chunk] for i in range(0, len(indices), chunk)])
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(scenario,))
    try:
        in_flight = collections.deque(pool.submit(_replicate_chunk, seed, c) for c in itertools.islice(chunks, 4 * jobs))
        while in_flight:
            done = in_flight.popleft().result()
            following = next(chunks, None)
            if following is not None:
                in_flight.append(pool.submit(_replicate_chunk, seed, following))
            yield from done
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or failed: drop queued work and stop the workers now
        workers = list(getattr(pool, "_processes", {}).values())
        for process in workers:
            process.terminate()
        # with its workers gone the pool's manager thread ends at once; wait for it, so nothing
        # is left to complain at interpreter exit
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _dask(scenario: Scenario, seed: int, indices: list[int], jobs: int, scheduler: str | None) -> Iterator[Outcome | Failure]:
    """Replications on a Dask cluster: the one at `scheduler`, or a local one with `jobs` workers.

    At most a few tasks per worker are in flight at once, so memory stays flat however many
    replications there are; the aggregator restores replication order.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError("the dask executor needs the dask extra: pip install -e '.[dask]'") from None
    cluster = None
    if scheduler:
        _check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        remote = client.scatter(scenario, broadcast=True)
        pending = iter(indices)
        window = as_completed()
        index_of = {}

        def submit(index: int) -> None:
            future = client.submit(replicate, remote, seed, index, pure=False)
            index_of[future.key] = index
            window.add(future)

        for index in list(itertools.islice(pending, 4 * workers)):
            submit(index)
        done = 0
        for future in window:
            index = index_of.pop(future.key)
            _check_scheduler_alive(client, future, scheduler, done, len(indices))
            done += 1
            try:
                yield future.result()
            except Exception as exc:  # the worker itself failed (killed, lost): report, keep the rest
                yield Failure(index, f"{type(exc).__name__} on the Dask worker: {exc}")
            future.release()
            nxt = next(pending, None)
            if nxt is not None:
                submit(nxt)
    finally:
        _close_client(client)
        if cluster is not None:
            cluster.close()


def _close_client(client: Any) -> None:
    """Close a Dask client; one that lost its scheduler is closed quietly (Dask would log its cancelled
    reconnection attempt with a traceback under the run's own message)."""
    if client.status == "running":
        client.close()
        return
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        client.close(timeout=10)
    finally:
        logging.disable(previous)


def _check_scheduler_alive(client: Any, future: Any, scheduler: str | None, done: int, total: int) -> None:
    """Raise `UsageError` when the client lost its scheduler (its futures come back cancelled).

    On a lost connection the Dask client cancels every future it holds and tries to reconnect; new
    tasks would wait forever, so the run stops here, before anything is written.
    """
    if future.status != "cancelled" and client.status == "running":
        return
    where = f"at {scheduler}" if scheduler else "of the local cluster"
    raise UsageError(f"lost the Dask scheduler {where} after {done:,} of {total:,} replications (client {client.status}, "
                     f"task {future.status}); nothing was written and previous results are left as they were")


def _check_scheduler_address(scheduler: str) -> None:
    """Raise `UsageError` for a Dask scheduler address that cannot be parsed (before a client is made)."""
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(scheduler)
    except ValueError as exc:
        raise UsageError(f"--scheduler {scheduler}: not a scheduler address ({exc}); "
                         "give one such as tcp://HOST:PORT") from None


@dataclass
class RunResult:
    """Aggregated results of a run, plus the trip log of its representative replication."""

    scenario: Scenario
    aggregate: Aggregate
    representative: int | None
    record: RunRecord | None
    only: int | None = None  # the one replication run (--replication K), or None for replications 0..N-1
    bounds: dict[str, Any] | None = None  # sim.bounds.bounds_summary of the scenario, when computed

    def summary(self) -> RunSummary:
        """The run's typed summary: aggregate figures plus what is needed to reproduce them (summary.json is its `to_dict()`)."""
        return self.aggregate.summary().with_(
            representative_replication=self.representative,
            bounds=self.bounds,
            reproduce={
                "tool": "surge-sim",
                "version": __version__,
                "scenario_sha256": self.scenario.fingerprint(),
                "dispatch": self.scenario.dispatch,
                "seed": self.aggregate.seed,
                "replications": self.aggregate.replications,
                "only_replication": self.only,
                "seed_derivation": "replication k uses numpy.random.SeedSequence(seed).spawn(n)[k], the same for any n > k",
            },
        )

    def replication_rows(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows and columns of replications.csv."""
        return self.aggregate.replication_rows()

    def trips(self) -> list[Trip]:
        """The per-movement log of the representative replication."""
        return list(self.record.trips or []) if self.record is not None else []

    def frames(self) -> dict[str, Any]:
        """The result tables as pandas DataFrames: deliveries, replications, trips, utilization (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("frames() needs pandas: pip install pandas") from None
        rows, _ = self.replication_rows()
        return {
            "deliveries": pd.DataFrame(self.aggregate.delivery_rows()),
            "replications": pd.DataFrame(rows),
            "trips": pd.DataFrame([asdict(t) for t in self.trips()]),
            "utilization": pd.DataFrame(self.aggregate.resources()),
        }


EXECUTORS = ("process", "dask")
DEFAULT_REPLICATIONS = 200  # replications when a scenario has an uncertainty block and none are asked for
MAX_REPLICATIONS = 10_000_000  # more is a typing mistake, not a study (and would not fit in memory)


def run(scenario: Scenario, replications: int = 1, seed: int = 0, jobs: int = 1,
        only: int | None = None, progress: Callable[[int], None] | None = None,
        executor: str = "process", scheduler: str | None = None) -> RunResult:
    """Run `replications` replications (or only replication `only`) and aggregate them.

    `executor` "process" runs serially for one job and on a process pool for more;
    "dask" runs on the Dask scheduler at `scheduler` (or a local cluster of `jobs` workers).
    `progress` is called with the number done after each replication.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if only is None and not 1 <= replications <= MAX_REPLICATIONS:
        raise UsageError(f"replications must be between 1 and {MAX_REPLICATIONS:,}, got {replications:,}")
    indices = [only] if only is not None else list(range(replications))
    agg = Aggregate(scenario, len(indices), seed, first_index=indices[0])
    stream: Iterable[Outcome | Failure]
    if executor == "dask":
        stream = _dask(scenario, seed, indices, jobs, scheduler)
    elif jobs > 1 and len(indices) > 1:
        stream = _process_pool(scenario, seed, indices, jobs)
    else:
        stream = _serial(scenario, seed, indices)
    for done, item in enumerate(stream, start=1):
        agg.add(item)
        if progress:
            progress(done)
    rep = agg.representative_index()
    record = trace(scenario, seed, rep) if rep is not None else None
    return RunResult(scenario, agg, rep, record, only)
