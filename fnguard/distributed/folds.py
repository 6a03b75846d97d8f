"""The folds of a search's trials fitted on the workers of a Dask cluster.

:class:`DaskFolds` is a :class:`fnguard.search.objective.FoldExecutor`: given to
:func:`fnguard.fit` (``executor=``), each batch of a trial's folds runs as Dask tasks, one fold
per task, so the folds of one trial are fitted in parallel across the workers. The search
rows, their labels and the folds are sent to every worker once per search, not once per
trial; a task carries only the unfitted pipeline and a fold number.

joblib's own Dask backend is not used: with joblib 1.6 and distributed 2026.8 it fails
(``Batch.__call__() got an unexpected keyword argument 'nesting_level'``), and the few lines
here also stop a trial at its deadline the same way on every version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fnguard.search.objective import OutOfTime, fit_score

__all__ = ["DaskFolds", "fit_fold"]

#: Lost workers tolerated over one search before it stops with a MemoryError.
MAX_LOSSES = 2


def _lost(exc: BaseException) -> bool:
    """Whether ``exc`` says a worker died under the tasks (not that a fold failed)."""
    from distributed.client import FuturesCancelledError
    from distributed.scheduler import KilledWorker

    return isinstance(exc, FuturesCancelledError | KilledWorker) or (
        "lost dependencies" in str(exc)
    )


def fit_fold(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    number: int,
) -> tuple[np.ndarray, float]:
    """:func:`~fnguard.search.objective.fit_score` of fold ``number`` (the task on a worker).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5]})
    >>> y = np.array([False, False, True, True, False, True])
    >>> scores, _ = fit_fold(LogisticRegression(), X, y, [(np.arange(4), np.arange(4, 6))], 0)
    >>> (scores > 0.5).tolist()
    [False, True]
    """
    train, valid = folds[number]
    return fit_score(pipeline, X, y, train, valid)


class DaskFolds:
    """Fit the folds of each trial as tasks on the workers of a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
        From :func:`fnguard.distributed.connect`.

    Attributes
    ----------
    jobs : int
        Folds of one trial run at once: the cluster's worker threads when created.
    tasks : int
        Fold tasks submitted so far.
    losses : int
        Times the workers lost the search's data (a worker killed or restarted): the data
        is sent again and the batch retried once; past :data:`MAX_LOSSES` the search stops
        with a ``MemoryError`` that says what to change.

    Notes
    -----
    At a trial's deadline its unfinished fold tasks are cancelled and
    :class:`~fnguard.search.objective.OutOfTime` is raised, as with the local worker
    processes. A fold a worker has already started cannot be interrupted (a worker thread
    cannot be stopped from outside): it runs to its end on that worker and its result is
    dropped. Call :meth:`close` (or use a ``with`` block) to free the data on the workers.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import StratifiedKFold
    >>> from fnguard.distributed import connect
    >>> from fnguard.search.objective import oof_scores
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=60)})
    >>> y = (X["x"] + rng.normal(size=60) > 0.5).to_numpy()
    >>> folds = list(StratifiedKFold(3).split(X, y))
    >>> with connect(workers=2, processes=False) as client, DaskFolds(client) as spread:
    ...     there, _ = oof_scores(LogisticRegression(), X, y, folds, executor=spread)
    >>> here, _ = oof_scores(LogisticRegression(), X, y, folds)
    >>> bool(np.allclose(there, here)), spread.tasks
    (True, 3)
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.jobs = max(1, int(sum(client.nthreads().values())))
        self.tasks = 0
        self._key: tuple[int, int, int] | None = None
        self._shared: list[Any] | None = None
        self._held: Any = None
        self.losses = 0

    def _data(self, X: Any, y: Any, folds: Any) -> list[Any]:
        """The futures of ``X``, ``y`` and ``folds`` on every worker, sent on first use."""
        key = (id(X), id(y), id(folds))
        if self._shared is None or key != self._key or not self._alive():
            self.close()
            self._shared = self._scatter([X, y, list(folds)])
            self._key = key
            self._held = (X, y, folds)  # keeps the ids above from being reused
        return self._shared

    def run(
        self,
        pipeline: Any,
        X: pd.DataFrame,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        batch: Sequence[int],
        timeout: float | None,
    ) -> list[tuple[np.ndarray, float]]:
        """Fit and score the folds numbered ``batch`` on the workers; see the class."""
        from distributed import wait

        for attempt in range(2):
            X_f, y_f, folds_f = self._data(X, y, folds)
            futures = [
                self.client.submit(fit_fold, pipeline, X_f, y_f, folds_f, int(i), pure=False)
                for i in batch
            ]
            self.tasks += len(futures)
            try:
                try:
                    with self.client.as_current():  # wait() looks for the current client
                        wait(futures, timeout=timeout)
                except TimeoutError:
                    raise OutOfTime from None
                return self.client.gather(futures)
            except OutOfTime:
                raise
            except Exception as exc:
                if not _lost(exc) and self._alive():
                    raise  # the fold's own error: the trial fails, the search goes on
                # a worker died (killed, or restarted by its nanny past its memory limit) and
                # the search's data with it: the next _data sends it again (waiting for the
                # restarted workers) and the batch is retried once
                self.losses += 1
                self.close()
                if attempt == 1 or self.losses > MAX_LOSSES:
                    raise MemoryError(
                        f"Dask workers were lost {self.losses} times while fitting the "
                        "search's folds (a worker past its memory limit is restarted by its "
                        "nanny): give each worker more memory (connect(memory_limit=...) or "
                        "your cluster's worker settings), fewer threads per worker, or a "
                        f"smaller sample (fit_dask(sample=...)). Last error: "
                        f"{type(exc).__name__}: {str(exc)[:200]}"
                    ) from exc
            finally:
                # Done futures are released; pending ones (a deadline, an error, an interrupt)
                # are cancelled so that no worker starts them.
                self.client.cancel([f for f in futures if not f.done()])
        raise AssertionError("unreachable")  # pragma: no cover

    def _scatter(self, data: list[Any], wait_s: float = 60.0) -> list[Any]:
        """Send ``data`` to every worker; after lost workers, wait for their restart."""
        import time

        until = time.monotonic() + wait_s
        while True:
            try:
                return self.client.scatter(data, broadcast=True, hash=False)
            except (TimeoutError, OSError):
                if time.monotonic() > until:
                    raise
                with contextlib.suppress(Exception):
                    self.client.wait_for_workers(1, timeout=max(1.0, until - time.monotonic()))
                time.sleep(0.5)

    def _alive(self) -> bool:
        """Whether the data sent to the workers is still there (a dead worker loses it)."""
        return self._shared is not None and all(f.status == "finished" for f in self._shared)

    def close(self) -> None:
        """Free the search's data on the workers."""
        if self._shared is not None:
            self.client.cancel(self._shared)
        self._shared, self._key, self._held = None, None, None

    def __enter__(self) -> DaskFolds:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
