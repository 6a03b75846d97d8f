"""Checks shared by the metric functions: labels and scores as the user passed them."""

from __future__ import annotations

from typing import Any

import numpy as np

from fnguard.errors import DataError


def binary_labels(y_true: Any, positive: Any = 1) -> np.ndarray:
    """Return ``y_true == positive`` as a boolean array, after checking the labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels with at most two distinct values.
    positive : scalar, default=1
        The label of the positive class. With a boolean array, ``True`` (or 1) is positive.

    Returns
    -------
    ndarray of bool
        ``True`` where the row is positive. With 0/1 labels of which only the negative one
        occurs it is all ``False`` (the caller says that both classes are needed); any other
        positive label missing from ``y_true`` is an error.
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise DataError(
            f"'y_true' must be one-dimensional. Got an array of shape {y.shape}: "
            "pass one label per row."
        )
    if y.size == 0:
        raise DataError("'y_true' is empty: pass at least one labelled row.")
    if y.dtype == bool:
        if positive in (True, 1):
            return y.copy()
        if positive in (False, 0):
            return ~y
        raise DataError(
            f"The positive label {positive!r} is not a boolean, but 'y_true' is boolean: "
            "pass positive=True."
        )
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise DataError(
            f"'y_true' holds {int(np.isnan(y).sum())} NaN labels: drop or fill those rows."
        )
    if y.dtype == object:
        import pandas as pd

        # None, NaN, pd.NA, NaT: what blank labels become in text, categorical, nullable
        # boolean or string columns
        missing = np.asarray(pd.isna(y), dtype=bool)
        if missing.any():
            n = int(missing.sum())
            raise DataError(
                f"'y_true' holds {n} missing label{'s' if n > 1 else ''} (None, NaN or NA; "
                f"first at row {int(np.flatnonzero(missing)[0])}): drop or fill those rows."
            )
    try:
        values = _distinct(y)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in y.tolist()})
        raise DataError(
            f"'y_true' mixes labels of different types ({', '.join(kinds)}), e.g. 1 and '1': "
            "give every label the same type."
        ) from None
    if values.size > 2:
        shown = ", ".join(repr(v) for v in values[:10].tolist())
        raise DataError(
            f"'y_true' must hold two classes. Got {values.size} distinct values ({shown}): "
            "map them to two classes."
        )
    mask = y == positive
    if values.size == 1 and _zero_one(positive, values.tolist()[0]):
        # 0/1 labels of which only the negative occurs (a batch without positives): the
        # callers say that both classes are needed, as for labels with only positives
        return np.zeros(y.shape, dtype=bool)
    if not np.any(mask) and positive not in values.tolist():
        shown = ", ".join(repr(v) for v in values.tolist())
        raise DataError(
            f"The positive label {positive!r} does not occur in 'y_true' (values: {shown}): "
            "pass one of those as 'positive'."
        )
    return np.asarray(mask, dtype=bool)


def _zero_one(positive: Any, value: Any) -> bool:
    """Whether ``positive`` and ``value`` are the labels 0 and 1 (numbers, or text)."""
    try:
        return {positive, value} in ({0, 1}, {"0", "1"})
    except TypeError:  # an unhashable label
        return False


def _distinct(y: np.ndarray) -> np.ndarray:
    """Distinct labels, sorted; linear time for numeric labels with at most two values."""
    if y.dtype.kind in "iuf" and y.size:
        low, high = y.min(), y.max()
        if low == high:
            return np.array([low])
        if np.all((y == low) | (y == high)):
            return np.array([low, high])
    return np.unique(y)


def finite_scores(y_score: Any, n: int | None = None) -> np.ndarray:
    """Return ``y_score`` as a float64 array, after checking it is finite and one-dimensional.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive.
    n : int, optional
        The expected length (the number of labels).

    Returns
    -------
    ndarray of float64
    """
    raw = np.asarray(y_score)
    if raw.dtype.kind in "cmM" or (raw.dtype.kind == "O" and raw.size and any(
        isinstance(v, complex) for v in raw.ravel()[:1000].tolist()
    )):
        raise DataError(
            f"'y_score' must hold real numbers; got {raw.dtype} values: pass the model's "
            "probability or score for the positive class."
        )
    try:
        s = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            "'y_score' must be numeric: pass the model's probability or score for the "
            "positive class."
        ) from None
    if s.ndim != 1:
        raise DataError(
            f"'y_score' must be one-dimensional. Got an array of shape {s.shape}: "
            "pass the score of the positive class only (e.g. predict_proba(X)[:, 1])."
        )
    if n is not None and s.size != n:
        raise DataError(
            f"'y_true' has {n} rows but 'y_score' has {s.size}: pass one score per label."
        )
    bad = ~np.isfinite(s)
    if bad.any():
        n_nan = int(np.isnan(s).sum())
        n_inf = int(bad.sum()) - n_nan
        raise DataError(
            f"'y_score' holds {n_nan} NaN and {n_inf} infinite values (first at row "
            f"{int(np.flatnonzero(bad)[0])}): drop those rows or fix the scores."
        )
    return s


def check_options(*, confidence: Any = 0.95, n_boot: Any = 0, random_state: Any = None) -> None:
    """Raise DataError for a confidence outside (0, 1), a negative or non-integer
    ``n_boot``, or a ``random_state`` that is not None, an int or a NumPy generator.

    Examples
    --------
    >>> check_options(confidence=0.9, n_boot=200, random_state=0)
    >>> check_options(confidence="95%")
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: The 'confidence' parameter must be in (0, 1). Got '95%' instead: pass a number such as 0.95.
    """  # noqa: E501
    real = isinstance(confidence, int | float | np.integer | np.floating)
    if isinstance(confidence, bool) or not real or not 0 < float(confidence) < 1:
        raise DataError(
            f"The 'confidence' parameter must be in (0, 1). Got {confidence!r} instead: pass "
            "a number such as 0.95."
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise DataError(
            f"The 'n_boot' parameter must be >= 0. Got {n_boot!r} instead: pass an integer "
            "(0 skips the bootstrap)."
        )
    seeds = (int, np.integer, np.random.Generator, np.random.RandomState)
    if random_state is not None and (
        isinstance(random_state, bool) or not isinstance(random_state, seeds)
    ):
        raise DataError(
            "The 'random_state' parameter must be None, an integer or a NumPy random "
            f"generator. Got {random_state!r} instead."
        )
