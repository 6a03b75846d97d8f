"""Columns that may leak the label: one column alone that separates the classes.

A feature recorded after the outcome (a severity code that says "dead", a refund date on a
fraud case) makes any model look perfect out of fold and fail on new data. No model search
can tell: :func:`leak_suspects` flags each column whose values alone rank the positives
above the negatives almost perfectly, so that a person can check where it comes from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LEAK_AUC", "leak_notes", "leak_suspects"]

#: A column whose ROC-AUC alone (or 1 - it) reaches this is a suspect: the classic leak of
#: the nassCDS crash data (``injSeverity``, 4 meaning killed) separates the deaths at 0.98.
LEAK_AUC = 0.97
#: Numeric columns with at most this many values are also read as codes (levels).
_CODES = 20
#: Rows looked at, at most (a random sample of larger tables).
_MAX_ROWS = 200_000
#: Rows of each class a suspect needs before anything is said.
_MIN_PER_CLASS = 10


def _auc(values: np.ndarray, y: np.ndarray) -> float:
    """ROC-AUC of ``values`` as scores of ``y`` (fnguard's, scikit-learn's to 1e-9)."""
    from fnguard.metrics.confusion import _curve_from_scores
    from fnguard.metrics.ranking import roc_auc

    return roc_auc(_curve_from_scores(np.asarray(values, dtype=np.float64), y))


def _numeric_auc(values: np.ndarray, y: np.ndarray) -> float:
    """Best separation of a numeric column, its missing values put below or above the rest."""
    missing = np.isnan(values)
    if missing.all():
        return 0.5
    if not missing.any():
        auc = _auc(values, y)
        return max(auc, 1.0 - auc)
    low, high = np.nanmin(values) - 1.0, np.nanmax(values) + 1.0
    best = 0.5
    for fill in (low, high):
        auc = _auc(np.where(missing, fill, values), y)
        best = max(best, auc, 1.0 - auc)
    return best


def _categorical_auc(values: pd.Series, y: np.ndarray, seed: int) -> float:
    """Separation by each level's positive rate, cross-fitted (a level's rate comes from the
    other folds), so that many small levels do not look like a leak."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    text = values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()
    encoder = TargetEncoder(
        target_type="binary", cv=StratifiedKFold(5, shuffle=True, random_state=seed)
    )
    rates = encoder.fit_transform(text.reshape(-1, 1), y).ravel()
    auc = _auc(rates, y)
    return max(auc, 1.0 - auc)


def leak_suspects(
    X: pd.DataFrame, y: Any, *, threshold: float = LEAK_AUC, seed: int = 0
) -> list[tuple[str, float]]:
    """Columns whose values alone separate the classes almost perfectly.

    Parameters
    ----------
    X : DataFrame
        Feature columns (numeric, boolean, datetime or categorical).
    y : array-like of bool
        True for positive rows.
    threshold : float, default=LEAK_AUC
        ROC-AUC (of the column or of its reverse) from which a column is a suspect.
    seed : int, default=0
        Seed of the folds that cross-fit the levels' rates of categorical columns (and of
        the sample of :data:`_MAX_ROWS` rows looked at in larger tables).

    Returns
    -------
    list of (name, auc)
        The suspects, the most separating first, with their ROC-AUC (at least 0.5: a column
        that ranks the negatives first counts by its reverse).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(200) < 0.2
    >>> X = pd.DataFrame({"noise": rng.normal(size=200), "outcome": np.where(y, "dead", "ok"),
    ...                   "late": np.where(y, rng.normal(size=200) + 9, rng.normal(size=200))})
    >>> leak_suspects(X, y)
    [('outcome', 1.0), ('late', 1.0)]
    """
    y = np.asarray(y, dtype=bool)
    if min(int(y.sum()), int((~y).sum())) < _MIN_PER_CLASS:
        return []
    if len(y) > _MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), _MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    found = []
    for name in X.columns:
        column = X[name]
        dtype = column.dtype
        numeric = not pd.api.types.is_bool_dtype(dtype) and (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)
        )
        if not numeric:  # text, categories, booleans: by their levels' rates
            if column.nunique(dropna=False) < 2:
                continue
            auc = _categorical_auc(column, y, seed)
        else:
            if pd.api.types.is_datetime64_any_dtype(column.dtype):
                values = column.astype("int64").to_numpy(dtype=float)
                values[column.isna().to_numpy()] = np.nan
            else:
                values = column.to_numpy(dtype=float, na_value=np.nan)
            auc = _numeric_auc(values, y)
            if column.nunique() <= _CODES:  # codes: a level may say it, not the order
                auc = max(auc, _categorical_auc(column, y, seed))
        if auc >= threshold:
            found.append((str(name), round(auc, 4)))
    return sorted(found, key=lambda item: -item[1])


def leak_notes(X: pd.DataFrame, y: Any, *, seed: int = 0) -> list[str]:
    """A note per column that alone separates the classes (:func:`leak_suspects`), with the
    option that leaves it out (its name quoted for the shell).

    Examples
    --------
    >>> y = np.r_[[True] * 30, [False] * 70]
    >>> leak_notes(pd.DataFrame({"paid back": np.where(y, 0, 1)}), y)[0].split("; ")[-1]
    "drop it with --drop 'paid back'."
    """
    import shlex

    return [
        f"Column '{name}' alone separates the classes almost perfectly (ROC-AUC {auc:.3f}): "
        "if it is known only after the outcome, it leaks the label and a model trained on it "
        f"will fail on new data. Check where it comes from; drop it with --drop "
        f"{shlex.quote(name)}."
        for name, auc in leak_suspects(X, y, seed=seed)
    ]
