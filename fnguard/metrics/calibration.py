"""Calibration and saturation of scores, read off a :class:`ConfusionCurve`.

The curve's rows are the distinct scores with how many positives and negatives hold each, so
every quantity here is computed without sorting the scores again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fnguard.errors import DataError
from fnguard.metrics.confusion import ConfusionCurve
from fnguard.metrics.intervals import wilson_interval

#: Scores within this distance of 0 or 1 count as saturated.
EXTREME = 1e-6
#: The threshold range across which a useful score changes some predictions.
SWEEP = (0.05, 0.95)


def score_groups(curve: ConfusionCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (decreasing) with the number of positives and negatives at each."""
    return curve.thresholds[1:], np.diff(curve.tp), np.diff(curve.fp)


def is_probability(curve: ConfusionCurve) -> bool:
    """Whether every score lies in [0, 1], so that it can be read as a probability."""
    return bool(curve.thresholds[-1] >= 0.0 and (len(curve) < 2 or curve.thresholds[1] <= 1.0))


def brier_score(curve: ConfusionCurve) -> float:
    """Mean squared difference between the score and the 0/1 label; NaN for non-probabilities."""
    if not is_probability(curve):
        return float("nan")
    s, pos, neg = score_groups(curve)
    return float((pos @ (1.0 - s) ** 2 + neg @ s**2) / curve.n)


def log_loss(curve: ConfusionCurve) -> float:
    """Binary cross-entropy of the scores, clipped to ``[eps, 1 - eps]`` as scikit-learn does."""
    if not is_probability(curve):
        return float("nan")
    s, pos, neg = score_groups(curve)
    eps = np.finfo(np.float64).eps
    s = np.clip(s, eps, 1 - eps)
    return float(-(pos @ np.log(s) + neg @ np.log1p(-s)) / curve.n)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation written as numpy's ``percentile`` writes it (same rounding)."""
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1 - t), out)


def quantile_edges(curve: ConfusionCurve, n_bins: int) -> np.ndarray:
    """``np.percentile(scores, linspace(0, 100, n_bins + 1))`` computed from the curve."""
    s, pos, neg = score_groups(curve)
    asc = s[::-1]
    cum = np.cumsum((pos + neg)[::-1])
    q = np.linspace(0, 1, n_bins + 1) * 100 / 100  # as calibration_curve asks np.percentile
    pos_f = q * (curve.n - 1)
    lo = np.floor(pos_f)
    hi = np.minimum(lo + 1, curve.n - 1)
    v_lo = asc[np.searchsorted(cum, lo, side="right")]
    v_hi = asc[np.searchsorted(cum, hi, side="right")]
    return _lerp(v_lo, v_hi, pos_f - lo)


@dataclass(frozen=True)
class Reliability:
    """Reliability curve on quantile bins (empty bins dropped), with ECE.

    Attributes
    ----------
    mean_score, fraction_positive : ndarray
        Per bin, as ``sklearn.calibration.calibration_curve(strategy="quantile")``'s
        ``prob_pred`` and ``prob_true``.
    count : ndarray of int
        Rows per bin.
    low, high : ndarray
        Wilson interval of the fraction of positives per bin.
    ece : float
        Expected calibration error: ``sum_b n_b / n |fraction_positive_b - mean_score_b|``.
    """

    mean_score: np.ndarray
    fraction_positive: np.ndarray
    count: np.ndarray
    low: np.ndarray
    high: np.ndarray
    ece: float

    def to_dict(self) -> dict[str, object]:
        """Plain lists, for JSON."""
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()
        }


def ece_bin_ids(curve: ConfusionCurve, n_bins: int) -> np.ndarray:
    """Quantile-bin index of every distinct score (decreasing order), as calibration_curve."""
    edges = quantile_edges(curve, n_bins)
    return np.searchsorted(edges[1:-1], curve.thresholds[1:])


def reliability(curve: ConfusionCurve, n_bins: int = 10, confidence: float = 0.95) -> Reliability:
    """Reliability curve and ECE on quantile bins of the scores.

    Parameters
    ----------
    curve : ConfusionCurve
        Counts at every threshold; the scores must lie in [0, 1].
    n_bins : int, default=10
        Number of quantile bins.
    confidence : float, default=0.95
        Level of the Wilson intervals per bin.

    Returns
    -------
    Reliability
        With NaN ``ece`` and empty arrays when the scores are not probabilities.
    """
    if not is_probability(curve):
        empty = np.array([])
        return Reliability(empty, empty, empty.astype(int), empty, empty, float("nan"))
    s, pos, neg = score_groups(curve)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise DataError(f"'n_bins' must be an integer >= 1. Got {n_bins!r} instead.")
    ids = ece_bin_ids(curve, n_bins)
    total = np.bincount(ids, weights=pos + neg, minlength=n_bins)
    true = np.bincount(ids, weights=pos, minlength=n_bins)
    sums = np.bincount(ids, weights=(pos + neg) * s, minlength=n_bins)
    keep = total > 0
    count = total[keep].astype(np.int64)
    frac = true[keep] / total[keep]
    mean = sums[keep] / total[keep]
    low, high = wilson_interval(true[keep], count, confidence)
    ece = float(np.sum(count / curve.n * np.abs(frac - mean)))
    return Reliability(mean, frac, count, low, high, ece)


@dataclass(frozen=True)
class Saturation:
    """How much room the threshold has: are the scores piled up at 0 and 1?

    Attributes
    ----------
    saturated : bool
        True when moving the threshold changes (almost) nothing: fewer than 1% of the
        predictions change across the threshold sweep, 90% or more of the scores sit within
        1e-6 of 0 or 1, or the scores take at most two values.
    probability : bool
        Whether the scores lie in [0, 1]; the sweep is then [0.05, 0.95].
    n_distinct : int
        Number of distinct scores.
    share_extreme : float
        Share of scores within 1e-6 of 0 or 1 (NaN for non-probabilities).
    flip_fraction : float
        Share of predictions that change when the threshold moves across the sweep.
    misses_recoverable : float
        Share of the misses at the threshold that a threshold of 0.05 would catch (NaN when
        there are no misses or the scores are not probabilities).
    message : str
        What it means and what helps.
    """

    saturated: bool
    probability: bool
    n_distinct: int
    share_extreme: float
    flip_fraction: float
    misses_recoverable: float
    message: str

    def to_dict(self) -> dict[str, object]:
        """Plain values, for JSON."""
        return asdict(self)


def saturation(curve: ConfusionCurve, threshold: float = 0.5) -> Saturation:
    """Measure whether the scores are saturated, so that lowering the threshold cannot help.

    Parameters
    ----------
    curve : ConfusionCurve
        Counts at every threshold.
    threshold : float, default=0.5
        The operating threshold whose misses we ask about.

    Returns
    -------
    Saturation

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> saturation(confusion_curve([0, 1, 1, 0], [1e-9, 1.0, 2.7e-15, 1.0])).saturated
    True
    """
    s, pos, neg = score_groups(curve)
    n = curve.n
    prob = is_probability(curve)
    n_distinct = int(s.size)
    if prob:
        extreme = (s <= EXTREME) | (s >= 1 - EXTREME)
        share_extreme = float((pos + neg)[extreme].sum() / n)
        low_t, high_t = SWEEP
    else:
        share_extreme = float("nan")
        low_t, high_t = np.quantile(s, [0.05, 0.95])  # unused range for margins: report only
    i_low, i_high = curve.index_at(low_t), curve.index_at(high_t)
    flagged = curve.tp + curve.fp
    flip_fraction = float((flagged[i_low] - flagged[i_high]) / n)
    tp_t, _, _, fn_t = curve.counts_at(threshold)
    if prob and fn_t > 0:
        # A threshold already below 0.05 leaves nothing for 0.05 to catch (never negative).
        misses_recoverable = float(max(0, curve.tp[i_low] - tp_t) / fn_t)
    else:
        misses_recoverable = float("nan")
    saturated = n_distinct <= 2 or (
        prob and (flip_fraction < 0.01 or share_extreme >= 0.9)
    )
    if saturated:
        message = (
            f"Scores are saturated: {share_extreme:.0%} lie within 1e-6 of 0 or 1 and only "
            f"{flip_fraction:.1%} of predictions change as the threshold moves from 0.05 to 0.95, "
            "so lowering the threshold cannot catch the misses. What helps: calibrate on the "
            "logits (temperature or Platt scaling; see what it changes with "
            "`fnguard diagnose ... --calibrate temperature`), train with label smoothing, or "
            "use a less over-confident model (regularise, stop earlier)."
            if prob and n_distinct > 2
            else f"The scores take only {n_distinct} distinct values: they are hard decisions, "
            "so no threshold can trade false alarms for misses. Pass the model's probabilities "
            "or margins instead of its 0/1 predictions."
        )
    elif prob:
        message = (
            f"Scores are spread out: {flip_fraction:.1%} of predictions change as the threshold "
            "moves from 0.05 to 0.95, so the threshold is a working lever"
            + (
                f" (a threshold of 0.05 would catch {misses_recoverable:.0%} of the misses)."
                if misses_recoverable == misses_recoverable
                else "."
            )
        )
    else:
        message = (
            "Scores are not probabilities (outside [0, 1]); saturation near 0 and 1 does not "
            "apply. Calibrate them to read them as probabilities."
        )
    return Saturation(
        saturated=bool(saturated),
        probability=prob,
        n_distinct=n_distinct,
        share_extreme=share_extreme,
        flip_fraction=flip_fraction,
        misses_recoverable=misses_recoverable,
        message=message,
    )
