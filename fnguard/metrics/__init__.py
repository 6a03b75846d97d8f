"""Measure every miss: confusion counts at every threshold, metrics with intervals, calibration.

A score **at or above** the threshold is predicted positive, as in scikit-learn's
``roc_curve`` and ``FixedThresholdClassifier``.
"""

from fnguard.metrics.calibration import (
    Reliability,
    Saturation,
    brier_score,
    log_loss,
    reliability,
    saturation,
)
from fnguard.metrics.confusion import ConfusionCurve, confusion_curve
from fnguard.metrics.intervals import clopper_pearson_interval, wilson_interval
from fnguard.metrics.point import fbeta, mcc, threshold_metrics
from fnguard.metrics.ranking import average_precision, roc_auc
from fnguard.metrics.summary import METRICS, Estimate, summary, summary_from_curve

__all__ = [
    "METRICS",
    "ConfusionCurve",
    "Estimate",
    "Reliability",
    "Saturation",
    "average_precision",
    "brier_score",
    "clopper_pearson_interval",
    "confusion_curve",
    "fbeta",
    "log_loss",
    "mcc",
    "reliability",
    "roc_auc",
    "saturation",
    "summary",
    "summary_from_curve",
    "threshold_metrics",
    "wilson_interval",
]

from fnguard.metrics.diagnosis import Diagnosis, diagnose, diagnose_table
from fnguard.metrics.findings import Finding
from fnguard.metrics.slices import Slice, fnr_by_slice

__all__ += ["Diagnosis", "Finding", "Slice", "diagnose", "diagnose_table", "fnr_by_slice"]
