"""One call that measures every metric at a threshold, each with its confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnguard.errors import DataError
from fnguard.metrics._validation import binary_labels, check_options, finite_scores
from fnguard.metrics.bootstrap import curve_replicates, threshold_replicates
from fnguard.metrics.calibration import brier_score, log_loss, reliability
from fnguard.metrics.confusion import ConfusionCurve, _curve_from_scores
from fnguard.metrics.intervals import percentile_interval, wilson_interval
from fnguard.metrics.point import threshold_metrics
from fnguard.metrics.ranking import average_precision, roc_auc

#: The metric names of :func:`summary`, in order.
METRICS = (
    "tp fp tn fn prevalence imbalance_ratio accuracy recall fnr specificity fpr precision npv "
    "f1 f2 mcc balanced_accuracy g_mean roc_auc pr_auc brier log_loss ece"
).split()

#: Threshold metrics whose interval is a bootstrap (they are not plain proportions).
_BOOTSTRAPPED = ("f1", "f2", "mcc", "balanced_accuracy", "g_mean")


@dataclass(frozen=True)
class Estimate:
    """A metric value with its confidence interval.

    Attributes
    ----------
    value : float
        The point estimate (an integer value for counts).
    low, high : float
        Ends of the interval; NaN when there is none (counts, undefined metrics).
    method : str
        ``"wilson"``, ``"bootstrap"``, ``"count"`` or ``"none"``.
    """

    value: float
    low: float
    high: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: NaN becomes ``None``."""

        def clean(x: float) -> float | int | None:
            if isinstance(x, int):
                return x
            return None if x is None or math.isnan(x) else float(x)

        return {
            "value": clean(self.value),
            "low": clean(self.low),
            "high": clean(self.high),
            "method": self.method,
        }

    def __format__(self, spec: str) -> str:
        if math.isnan(self.low):
            return format(self.value, spec)
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def _proportion(k: int, n: int, value: float, confidence: float) -> Estimate:
    low, high = wilson_interval(k, n, confidence)
    return Estimate(float(value), float(low), float(high), "wilson" if n else "none")


def summary(
    y_true: Any,
    y_score: Any,
    threshold: float = 0.5,
    positive: Any = 1,
    confidence: float = 0.95,
    *,
    n_boot: int = 1000,
    random_state: int | None = 0,
) -> dict[str, Estimate]:
    """Every metric of fnguard at ``threshold``, each with a confidence interval.

    A score **at or above** ``threshold`` is predicted positive. Proportions (prevalence,
    accuracy, recall, FNR, specificity, FPR, precision, NPV) get Wilson intervals; the
    imbalance ratio is read off the Wilson interval of the prevalence; ROC-AUC, PR-AUC
    (average precision), F-scores, MCC, balanced accuracy, G-mean, Brier score, log-loss and
    ECE get a stratified bootstrap (seeded, vectorised). Values equal scikit-learn's, with its
    convention that a ratio with a zero denominator is 0. Brier, log-loss and ECE are NaN when
    the scores are not probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels with exactly two classes.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive.
    threshold : float, default=0.5
        Scores ``>= threshold`` are predicted positive.
    positive : scalar, default=1
        The positive label.
    confidence : float, default=0.95
        Two-sided level of the intervals.
    n_boot : int, default=1000
        Bootstrap replicates; 0 skips the bootstrap (those intervals are NaN).
    random_state : int or None, default=0
        Seed of the bootstrap.

    Returns
    -------
    dict of str to Estimate
        Keys in the order of :data:`METRICS`.

    Examples
    --------
    >>> s = summary([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], n_boot=200)
    >>> s["recall"].value, s["fn"].value
    (0.6666666666666666, 1)
    >>> 0 <= s["recall"].low <= s["recall"].value <= s["recall"].high <= 1
    True
    """
    check_options(confidence=confidence, n_boot=n_boot, random_state=random_state)
    is_pos = binary_labels(y_true, positive)
    scores = finite_scores(y_score, is_pos.size)
    curve = _curve_from_scores(scores, is_pos)
    return summary_from_curve(
        curve, threshold, confidence, n_boot=n_boot, random_state=random_state
    )


def summary_from_curve(
    curve: ConfusionCurve,
    threshold: float = 0.5,
    confidence: float = 0.95,
    *,
    n_boot: int = 1000,
    random_state: int | None = 0,
    n_bins: int = 10,
) -> dict[str, Estimate]:
    """:func:`summary` for a curve already computed (no second sort).

    Parameters
    ----------
    curve : ConfusionCurve
        Counts at every threshold, both classes present.
    threshold, confidence, n_boot, random_state
        As in :func:`summary`.
    n_bins : int, default=10
        Quantile bins of the ECE.

    Returns
    -------
    dict of str to Estimate
    """
    if curve.n_positive == 0 or curve.n_negative == 0:
        only = "negative" if curve.n_positive == 0 else "positive"
        raise DataError(
            f"The labels hold only {only} rows: the metrics need both classes. "
            "Score a sample with positive and negative rows."
        )
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise DataError(
            f"The 'threshold' parameter must be a number. Got {threshold!r} instead."
        ) from None
    if math.isnan(threshold):
        raise DataError("The 'threshold' parameter must be a number. Got NaN instead.")
    if n_boot < 0:
        raise DataError(f"The 'n_boot' parameter must be >= 0. Got {n_boot} instead.")
    rng = np.random.default_rng(random_state)
    n, n_pos, n_neg = curve.n, curve.n_positive, curve.n_negative
    tp, fp, tn, fn = curve.counts_at(threshold)
    point = {k: float(v) for k, v in threshold_metrics(tp, fp, tn, fn).items()}
    out: dict[str, Estimate] = {}
    for name, value in zip(("tp", "fp", "tn", "fn"), (tp, fp, tn, fn), strict=True):
        out[name] = Estimate(value, math.nan, math.nan, "count")
    out["prevalence"] = _proportion(n_pos, n, n_pos / n, confidence)
    minority = min(n_pos, n_neg)
    m_low, m_high = wilson_interval(minority, n, confidence)
    out["imbalance_ratio"] = Estimate(
        max(n_pos, n_neg) / minority,
        max(1.0, float((1 - m_high) / m_high)),
        float((1 - m_low) / m_low) if m_low > 0 else math.inf,
        "wilson",
    )
    proportions = {
        "accuracy": (tp + tn, n),
        "recall": (tp, n_pos),
        "fnr": (fn, n_pos),
        "specificity": (tn, n_neg),
        "fpr": (fp, n_neg),
        "precision": (tp, tp + fp),
        "npv": (tn, tn + fn),
    }
    for name, (k, m) in proportions.items():
        out[name] = _proportion(k, m, point[name], confidence)

    exact = {
        "roc_auc": roc_auc(curve),
        "pr_auc": average_precision(curve),
        "brier": brier_score(curve),
        "log_loss": log_loss(curve),
        "ece": reliability(curve, n_bins, confidence).ece,
    }
    nan_interval = (math.nan, math.nan)
    boot_t: dict[str, tuple[float, float]] = {}
    boot_c: dict[str, tuple[float, float]] = {}
    if n_boot > 0:
        reps = threshold_replicates(tp, fp, n_pos, n_neg, n_boot, rng)
        for name in _BOOTSTRAPPED:
            low, high = percentile_interval(reps[name], confidence)
            boot_t[name] = (float(low), float(high))
        reps_c, grouped = curve_replicates(curve, n_boot, rng, n_bins=n_bins)
        for name, r in reps_c.items():
            low, high = percentile_interval(r, confidence)
            shift = exact[name] - grouped[name]
            boot_c[name] = (float(low) + shift, float(high) + shift)
    for name in _BOOTSTRAPPED:
        low, high = boot_t.get(name, nan_interval)
        out[name] = Estimate(point[name], low, high, "bootstrap" if name in boot_t else "none")
    for name, value in exact.items():
        low, high = boot_c.get(name, nan_interval)
        method = "bootstrap" if name in boot_c else "none"
        if not math.isnan(value) and not math.isnan(low):
            # A shifted interval still brackets the value and stays in the metric's range.
            hi_cap = 1.0 if name in ("roc_auc", "pr_auc", "brier", "ece") else math.inf
            low, high = max(0.0, min(low, value)), min(hi_cap, max(high, value))
        out[name] = Estimate(value, low, high, method)
    return {name: out[name] for name in METRICS}
