"""Confidence intervals: Wilson and Clopper-Pearson for proportions, bootstrap helpers."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from fnguard.errors import DataError


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise DataError(
            f"The 'confidence' parameter must be in (0, 1). Got {confidence!r} instead: "
            "pass e.g. 0.95."
        )
    return float(confidence)


def wilson_interval(
    k: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion ``k / n``; NaN where ``n`` is 0.

    Parameters
    ----------
    k : array-like of int
        Successes.
    n : array-like of int
        Trials.
    confidence : float, default=0.95
        Two-sided confidence level.

    Returns
    -------
    low, high : ndarray of float64

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    """
    confidence = _check_confidence(confidence)
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = special.ndtri(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    # The exact ends: no rounding error may push the interval off 0 or 1 (none when n is 0).
    low = np.where((k == 0) & (n > 0), 0.0, low)
    high = np.where((k == n) & (n > 0), 1.0, high)
    return low, high


def clopper_pearson_interval(
    k: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval for ``k / n``; NaN where ``n`` is 0.

    Examples
    --------
    >>> low, high = clopper_pearson_interval(0, 20)
    >>> float(low), round(float(high), 4)
    (0.0, 0.1684)
    """
    confidence = _check_confidence(confidence)
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    low = np.where(n > 0, low, np.nan)
    high = np.where(n > 0, high, np.nan)
    return low, high


def percentile_interval(
    replicates: np.ndarray, confidence: float = 0.95, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of ``replicates`` along ``axis``, ignoring NaN."""
    confidence = _check_confidence(confidence)
    alpha = 1 - confidence
    q = np.nanquantile(replicates, [alpha / 2, 1 - alpha / 2], axis=axis)
    return q[0], q[1]
