"""One trial's honest score: out-of-fold scores, the requirement's threshold on them, and the
value the search maximises.

Each validation fold is scored by a clone fitted on the other folds only (samplers run inside
that fit, so resampled rows never reach a validation fold); the threshold is then chosen on
the out-of-fold scores with the requirement's policy (:func:`fnguard.decide.choose_threshold`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from fnguard.decide import Decision, Requirement, choose_threshold
from fnguard.decide.requirement import OBJECTIVES

__all__ = [
    "FoldExecutor",
    "OutOfTime",
    "fit_score",
    "oof_scores",
    "positive_scores",
    "rank_value",
    "threshold_on",
]

#: joblib backend of a batch of folds: worker processes, which the deadline can stop.
BACKEND = "loky"
#: Value of a trial whose constraint is not met, before subtracting its shortfall: below any
#: value of a trial that meets it (those lie in [-1, 1]).
NOT_MET = -2.0


class OutOfTime(Exception):
    """The time budget ran out before the trial's next folds could start."""


class FoldExecutor(Protocol):
    """Where the folds of a trial are fitted, when not on this machine.

    ``jobs`` is the number of folds :func:`oof_scores` gives :meth:`run` at once.
    """

    jobs: int

    def run(
        self,
        pipeline: Any,
        X: pd.DataFrame,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        batch: Sequence[int],
        timeout: float | None,
    ) -> list[tuple[np.ndarray, float]]:
        """:func:`fit_score` of the folds numbered ``batch``, in that order.

        ``X``, ``y`` and ``folds`` are the same objects for every trial of a search, so an
        executor may ship them once. It raises :class:`OutOfTime` (and stops what it
        started) when the batch is not done after ``timeout`` seconds.
        """


def rank_value(decision: Decision) -> float:
    """The number the search maximises: constraint met first, then the secondary metric.

    For a constraint (``recall>=0.95``), a trial that meets it scores its secondary metric
    (precision, or minus a metric to minimise, such as the FPR), a value in [-1, 1]; one that
    does not scores ``-2 - shortfall``, so every trial that meets the constraint beats every
    trial that does not, and among those that do not, the closer one wins. F-beta and Youden's
    J score themselves; a cost requirement scores minus the expected cost per row.

    Parameters
    ----------
    decision : Decision
        The threshold chosen on out-of-fold scores.

    Returns
    -------
    float
        Higher is better.

    Examples
    --------
    >>> from fnguard.decide import choose_threshold
    >>> y, s = [0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9]
    >>> rank_value(choose_threshold(y, s, "recall>=0.9", n_boot=0))  # precision 3/4
    0.75
    >>> d = choose_threshold([1, 0, 1], [0.2, 0.9, 0.1], "precision>=0.9", n_boot=0)
    >>> round(rank_value(d), 4)  # not met: best precision 2/3, short by 0.2333
    -2.2333
    >>> round(rank_value(choose_threshold(y, s, "cost:fn=10,fp=1", n_boot=0)), 4)
    -0.1667
    """
    req = decision.requirement
    objective = float(decision.objective)
    if math.isnan(objective):
        objective = 0.0
    if req.kind == "constraint":
        if not decision.met:
            return NOT_MET - float(decision.shortfall or 0.0)
        return -objective if OBJECTIVES.get(req.secondary or "") == "min" else objective
    if req.kind == "cost":
        return -objective
    return objective


def threshold_on(
    y: np.ndarray, scores: np.ndarray, requirement: Requirement, groups: Any = None
) -> Decision:
    """The requirement's threshold on labelled scores, with the metrics there (no bootstrap).

    Examples
    --------
    >>> y = np.array([False, False, True, True, False, True])
    >>> threshold_on(y, np.array([0.1, 0.6, 0.7, 0.4, 0.2, 0.9]), "recall>=0.9").threshold
    0.4
    """
    return choose_threshold(y, scores, requirement, positive=True, groups=groups, n_boot=0)


def positive_scores(model: Any, X: Any) -> np.ndarray:
    """The positive class's column of ``predict_proba`` (labels are bool: True is positive).

    Raises
    ------
    ValueError
        When the scores are not all finite (the trial is then recorded as failed).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([False, False, True, True])
    >>> positive_scores(LogisticRegression().fit(X, y), X).round(1).tolist()
    [0.2, 0.4, 0.6, 0.8]
    """
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = list(getattr(model, "classes_", [False, True]))
    column = classes.index(True) if True in classes else proba.shape[1] - 1
    scores = proba[:, column]
    if not np.all(np.isfinite(scores)):
        raise ValueError(
            f"the model gave {int((~np.isfinite(scores)).sum())} non-finite scores"
        )
    return scores


def fit_score(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, float]:
    """Fit a clone on the ``train`` rows, score the ``valid`` rows; return scores and seconds.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5]})
    >>> y = np.array([False, False, True, True, False, True])
    >>> scores, seconds = fit_score(LogisticRegression(), X, y, np.arange(4), np.arange(4, 6))
    >>> (scores > 0.5).tolist()
    [False, True]
    """
    from sklearn.base import clone

    start = time.perf_counter()
    with warnings.catch_warnings():
        # Convergence and sampler warnings of one fold are noise here; a fold that fails
        # raises, and the trial is recorded as failed with its message.
        warnings.simplefilter("ignore")
        model = clone(pipeline).fit(X.iloc[train], y[train])
        scores = positive_scores(model, X.iloc[valid])
    return scores, time.perf_counter() - start


def oof_scores(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    jobs: int = 1,
    deadline: float | None = None,
    on_batch: Callable[[np.ndarray, np.ndarray, int], None] | None = None,
    executor: FoldExecutor | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold scores of ``pipeline``, folds fitted ``jobs`` at a time.

    Parameters
    ----------
    pipeline : estimator
        Unfitted; cloned for each fold.
    X, y : DataFrame, ndarray of bool
        The search part only.
    folds : sequence of (train, valid) row positions
    jobs : int, default=1
        Folds per batch. Above 1 the batch runs in worker processes (joblib's loky), which
        are stopped at the deadline; with 1 the folds run here, one after another, and the
        deadline is checked between them.
    deadline : float, optional
        ``time.monotonic()`` after which the trial stops (:class:`OutOfTime` is raised).
    on_batch : callable, optional
        ``on_batch(scored, oof, step)`` after each batch but the last, with the mask of rows
        scored so far; it may raise ``optuna.TrialPruned`` to stop the trial.
    executor : FoldExecutor, optional
        Runs each batch elsewhere (e.g. :class:`fnguard.distributed.folds.DaskFolds`); its
        ``jobs`` then replaces ``jobs``.

    Returns
    -------
    oof : ndarray of float
        One score per row of ``X``.
    seconds : list of float
        Fit-and-score time of each fold.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import StratifiedKFold
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=60)})
    >>> y = (X["x"] + rng.normal(size=60) > 0.5).to_numpy()
    >>> folds = list(StratifiedKFold(3).split(X, y))
    >>> oof, seconds = oof_scores(LogisticRegression(), X, y, folds)
    >>> oof.shape, len(seconds)
    ((60,), 3)
    """
    oof = np.full(len(y), np.nan)
    scored = np.zeros(len(y), dtype=bool)
    seconds: list[float] = []
    jobs = max(1, int(jobs if executor is None else executor.jobs))
    numbers = [list(range(i, min(i + jobs, len(folds)))) for i in range(0, len(folds), jobs)]
    steps = [[folds[i] for i in batch] for batch in numbers]
    for step, group in enumerate(steps):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise OutOfTime
        if executor is not None:
            results = executor.run(pipeline, X, y, folds, numbers[step], left)
        elif len(group) > 1:
            from multiprocessing import TimeoutError as PoolTimeout

            from joblib import Parallel, delayed

            try:
                results = Parallel(n_jobs=len(group), backend=BACKEND, timeout=left)(
                    delayed(fit_score)(pipeline, X, y, tr, va) for tr, va in group
                )
            except PoolTimeout:
                raise OutOfTime from None
        else:
            results = [fit_score(pipeline, X, y, tr, va) for tr, va in group]
        for (_, valid), (scores, sec) in zip(group, results, strict=True):
            oof[valid] = scores
            scored[valid] = True
            seconds.append(sec)
        if on_batch is not None and step < len(steps) - 1:
            on_batch(scored, oof, step)
    return oof, seconds
