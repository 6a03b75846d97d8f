"""Honest splits: the final test set first, then cross-validation folds on the rest.

Nothing that chooses (levers, parameters, threshold, review band) ever sees the rows of
:func:`holdout_split`'s test part. Every split is stratified and seeded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.search.budget import SearchError

__all__ = ["calibration_split", "cv_folds", "holdout_split"]

#: Fewest positives each validation fold must hold for its scores to say anything.
MIN_POSITIVES_PER_FOLD = 2


def holdout_split(y: Any, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the search part and of the final test set (stratified).

    Parameters
    ----------
    y : array-like of bool
        True for positive rows.
    test_size : float
        Share of rows held out, in (0, 0.9].
    seed : int
        Seed of the shuffle.

    Returns
    -------
    search, test : ndarray of int
        Sorted row positions.

    Raises
    ------
    SearchError
        When ``test_size`` is out of range, or either part would hold no positive or no
        negative row.

    Examples
    --------
    >>> y = np.r_[np.ones(10, bool), np.zeros(90, bool)]
    >>> search, test = holdout_split(y, 0.2, seed=0)
    >>> len(search), len(test), int(y[test].sum())
    (80, 20, 2)
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y, dtype=bool)
    if isinstance(test_size, bool) or not isinstance(test_size, int | float) or not (
        0 < test_size <= 0.9
    ):
        raise SearchError(
            f"The test size must be a share of the rows in (0, 0.9]. Got {test_size!r} "
            "instead: for instance 0.2."
        )
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    held = round(n_pos * test_size)
    if held < 1 or n_pos - held < 1 or min(n_pos, n_neg) < 2:
        raise SearchError(
            f"The data holds {n_pos} positive and {n_neg} negative rows: a test size of "
            f"{test_size:g} leaves no positive row on one side of the split. Use more data or "
            "a test size that keeps at least one positive in the test set."
        )
    rows = np.arange(y.size)
    search, test = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
    return np.sort(search), np.sort(test)


def cv_folds(y: Any, cv: int, seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """Stratified folds, with fewer than asked when the positives are too few.

    Each validation fold must hold at least two positives (and two negatives). When ``cv``
    folds cannot, the largest number that can is used and a note says so.

    Parameters
    ----------
    y : array-like of bool
        Labels of the search part.
    cv : int
        Folds asked for, at least 2.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    folds : list of (train, valid) row positions
    notes : list of str
        What was decided (fewer folds), empty otherwise.

    Raises
    ------
    SearchError
        When ``cv`` is below 2, or not even two folds of two positives each are possible.

    Examples
    --------
    >>> y = np.r_[np.ones(7, bool), np.zeros(93, bool)]
    >>> folds, notes = cv_folds(y, 5, seed=0)
    >>> len(folds), notes[0][:60]
    (3, 'Only 7 positive rows are left for cross-validation: 3 folds ')
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=bool)
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise SearchError(
            f"The number of cross-validation folds must be an integer >= 2. Got {cv!r} "
            "instead: for instance 5."
        )
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    fit = min(n_pos, n_neg) // MIN_POSITIVES_PER_FOLD
    notes = []
    if fit < 2:
        raise SearchError(
            f"Only {n_pos} positive rows are left for cross-validation after the test split: "
            f"2 folds need at least {2 * MIN_POSITIVES_PER_FOLD} (two per fold). Add positive "
            "rows, or lower --test-size."
        )
    k = int(cv)
    if fit < k:
        notes.append(
            f"Only {n_pos} positive rows are left for cross-validation: {fit} folds (of the "
            f"{k} asked) keep at least {MIN_POSITIVES_PER_FOLD} positives in each, so "
            f"{fit} folds are used."
        )
        k = fit
    folds = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(y.size), y))
    return folds, notes


def calibration_split(
    y: Any, needed: int, seed: int, share: float = 0.25, requirement: Any = None,
    needed_negatives: int = 0, left: str = "are left after the test split",
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions to fit on and to calibrate (choose a guaranteed threshold) on.

    The calibration part takes ``share`` of the rows, or more (up to half) when it must hold
    ``needed`` positives.

    Parameters
    ----------
    y : array-like of bool
        Labels of the search part.
    needed : int
        Positives the calibration part must hold (a guarantee's minimum).
    seed : int
        Seed of the shuffle.
    share : float, default=0.25
        Share of rows to calibrate on when ``needed`` allows.
    requirement : Requirement, optional
        The guaranteed requirement, so that the error can name a confidence and a target
        that the positives (or negatives) there are can hold.
    needed_negatives : int, default=0
        Negatives the calibration part must hold (an FPR or specificity guarantee's minimum).
    left : str, default="are left after the test split"
        Where the rows of ``y`` come from, as the error says it ("are in the training table"
        when a test table was given and nothing was split off).

    Returns
    -------
    fit, calibrate : ndarray of int

    Raises
    ------
    SearchError
        When half the positives are fewer than ``needed``.

    Examples
    --------
    >>> y = np.r_[np.ones(100, bool), np.zeros(300, bool)]
    >>> fit, cal = calibration_split(y, needed=20, seed=0)
    >>> len(cal), int(y[cal].sum())
    (100, 25)
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    if n_pos // 2 < needed:
        raise SearchError(
            f"The guarantee needs at least {needed} positive rows in a calibration split that "
            f"the model does not train on, but only {n_pos} positives {left} "
            f"(at most half, {n_pos // 2}, can calibrate). Add positive rows, lower the "
            f"guarantee's confidence or its target{_within_reach(requirement, n_pos // 2)}, "
            "or drop the guarantee."
        )
    n_neg = int(y.size - n_pos)
    if n_neg // 2 < needed_negatives:
        raise SearchError(
            f"The guarantee needs at least {needed_negatives} negative rows in a calibration "
            f"split that the model does not train on, but only {n_neg} negatives {left} "
            f"(at most half, {n_neg // 2}, can calibrate). Add negative "
            "rows, lower the guarantee's confidence or loosen its target"
            f"{_within_reach(requirement, n_neg // 2)}, or drop the guarantee."
        )
    share = max(share, needed / n_pos + 1e-9, needed_negatives / max(n_neg, 1) + 1e-9)
    rows = np.arange(y.size)
    fit, cal = train_test_split(rows, test_size=share, stratify=y, random_state=seed)
    return np.sort(fit), np.sort(cal)


def guarantee_split(
    y: Any, req: Any, seed: int, left: str = "are left after the test split"
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`calibration_split` holding the positives and negatives that the guarantee of
    ``req`` needs (:func:`~fnguard.decide.guarantee.positives_needed`,
    :func:`~fnguard.decide.guarantee.negatives_needed`), its errors naming the guarantees
    within reach."""
    from fnguard.decide.guarantee import negatives_needed, positives_needed

    return calibration_split(y, positives_needed(req), seed, requirement=req,
                             needed_negatives=negatives_needed(req), left=left)


def _within_reach(req: Any, n: int) -> str:
    """`` (with 13 positives: 'recall>=0.79 @95%' or 'recall>=0.9 @74%')``: the guarantees
    of a recall or FNR requirement that ``n`` calibration positives can hold (of an FPR or
    specificity requirement, ``n`` negatives), or ``""``."""
    from fnguard.decide.guarantee import rule_target

    metrics = ("recall", "fnr", "fpr", "specificity")
    if req is None or req.metric not in metrics or n < 1 or not req.confidence:
        return ""
    r, c = rule_target(req), float(req.confidence)
    # n positives hold recall >= r at confidence c when r ** n <= 1 - c
    best_r = math.floor((1 - c) ** (1 / n) * 100) / 100
    best_c = math.floor((1 - r**n) * 100) / 100
    options = []
    if best_r > 0:
        target = best_r if req.metric in ("recall", "specificity") else round(1 - best_r, 2)
        options.append(f"'{req.metric}{req.op}{target:g} @{c:.0%}'")
    if best_c >= 0.5:
        options.append(f"'{req.metric}{req.op}{req.target:g} @{best_c:.0%}'")
    rows = "positives" if req.metric in ("recall", "fnr") else "negatives"
    return f" (with {n} {rows}: {' or '.join(options)})" if options else ""
