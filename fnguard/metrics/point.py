"""Threshold metrics from confusion counts, vectorised over arrays of counts.

Zero divisions follow scikit-learn's default (``zero_division="warn"``): the metric is 0,
and no warning is raised here. Every function takes counts (scalars or arrays of the same
shape) and returns float64 values of that shape.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def fbeta(tp: ArrayLike, fp: ArrayLike, fn: ArrayLike, beta: float = 1.0) -> np.ndarray:
    """F-beta score: ``(1 + b²) tp / ((1 + b²) tp + b² fn + fp)``, 0 when undefined.

    Examples
    --------
    >>> float(fbeta(8, 2, 2, beta=1.0))
    0.8
    """
    b2 = float(beta) ** 2
    tp = np.asarray(tp, dtype=np.float64)
    return _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * np.asarray(fn) + np.asarray(fp))


def mcc(tp: ArrayLike, fp: ArrayLike, tn: ArrayLike, fn: ArrayLike) -> np.ndarray:
    """Matthews correlation coefficient, 0 when a margin of the matrix is empty.

    Examples
    --------
    >>> float(mcc(5, 0, 5, 0))
    1.0
    """
    tp, fp, tn, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, tn, fn))
    den = np.sqrt((tp + fp) * (tp + fn)) * np.sqrt((tn + fp) * (tn + fn))
    # Two square roots avoid overflow but may round |MCC| an ulp past 1: keep it in range.
    return np.clip(_ratio(tp * tn - fp * fn, den), -1.0, 1.0)


def threshold_metrics(
    tp: ArrayLike, fp: ArrayLike, tn: ArrayLike, fn: ArrayLike
) -> dict[str, np.ndarray]:
    """Every threshold metric of fnguard from confusion counts.

    Parameters
    ----------
    tp, fp, tn, fn : array-like
        Confusion counts, scalars or arrays of one shape.

    Returns
    -------
    dict of str to ndarray
        ``accuracy recall fnr specificity fpr precision npv f1 f2 mcc balanced_accuracy
        g_mean``.

    Examples
    --------
    >>> m = threshold_metrics(tp=8, fp=10, tn=80, fn=2)
    >>> float(m["recall"]), float(m["fnr"]), float(m["specificity"])
    (0.8, 0.2, 0.8888888888888888)
    """
    tp, fp, tn, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, tn, fn))
    pos, neg = tp + fn, fp + tn
    recall = _ratio(tp, pos)
    specificity = _ratio(tn, neg)
    return {
        "accuracy": _ratio(tp + tn, pos + neg),
        "recall": recall,
        "fnr": _ratio(fn, pos),
        "specificity": specificity,
        "fpr": _ratio(fp, neg),
        "precision": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "f1": fbeta(tp, fp, fn, 1.0),
        "f2": fbeta(tp, fp, fn, 2.0),
        "mcc": mcc(tp, fp, tn, fn),
        "balanced_accuracy": (recall + specificity) / 2,
        "g_mean": np.sqrt(recall * specificity),
    }


def threshold_metric(
    name: str, tp: ArrayLike, fp: ArrayLike, tn: ArrayLike, fn: ArrayLike
) -> np.ndarray:
    """One threshold metric of :func:`threshold_metrics`, computing only that one.

    Parameters
    ----------
    name : str
        A key of :func:`threshold_metrics`.
    tp, fp, tn, fn : array-like
        Confusion counts.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> float(threshold_metric("precision", tp=8, fp=2, tn=80, fn=2))
    0.8
    """
    # Only the arrays this metric reads are touched: at 10 million thresholds each extra
    # array operation costs tens of milliseconds.
    if name == "recall":
        return _ratio(tp, np.add(tp, fn))
    if name == "fnr":
        return _ratio(fn, np.add(tp, fn))
    if name == "specificity":
        return _ratio(tn, np.add(fp, tn))
    if name == "fpr":
        return _ratio(fp, np.add(fp, tn))
    if name == "precision":
        return _ratio(tp, np.add(tp, fp))
    if name == "npv":
        return _ratio(tn, np.add(tn, fn))
    if name == "accuracy":
        return _ratio(np.add(tp, tn), np.add(np.add(tp, fp), np.add(tn, fn)))
    if name in ("f1", "f2"):
        return fbeta(tp, fp, fn, 1.0 if name == "f1" else 2.0)
    if name == "mcc":
        return mcc(tp, fp, tn, fn)
    if name in ("balanced_accuracy", "g_mean"):
        recall = _ratio(tp, np.add(tp, fn))
        spec = _ratio(tn, np.add(fp, tn))
        return (recall + spec) / 2 if name == "balanced_accuracy" else np.sqrt(recall * spec)
    raise KeyError(f"Unknown threshold metric {name!r}.")
