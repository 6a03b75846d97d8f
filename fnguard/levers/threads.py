"""Threads for the neighbour searches: numpy's matrix products release the GIL, so a pool
of threads, each with one BLAS thread, uses every core without copies of the data."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def _n_threads(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or a negative number means every core."""
    cores = os.cpu_count() or 1
    return cores if n_jobs is None or n_jobs < 0 else max(1, min(int(n_jobs), cores))


def _threaded(task, items, n_jobs: int) -> list:
    """``task`` of every item, in order, run on ``n_jobs`` threads (the caller limits BLAS to
    one thread each: :func:`threadpoolctl.threadpool_limits` costs milliseconds a call)."""
    if n_jobs > 1:
        with ThreadPoolExecutor(n_jobs) as pool:
            return list(pool.map(task, items))
    return [task(item) for item in items]
