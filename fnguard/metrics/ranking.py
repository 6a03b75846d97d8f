"""Threshold-free ranking metrics read off a :class:`ConfusionCurve`."""

from __future__ import annotations

import numpy as np

from fnguard.errors import DataError
from fnguard.metrics.confusion import ConfusionCurve


def _need_both(curve: ConfusionCurve, name: str) -> None:
    if curve.n_positive == 0 or curve.n_negative == 0:
        raise DataError(
            f"{name} needs both classes, but the labels hold only "
            f"{'negatives' if curve.n_positive == 0 else 'positives'}: "
            "score a sample that has positive and negative rows."
        )


def roc_auc(curve: ConfusionCurve) -> float:
    """Area under the ROC curve (trapezoids), as ``sklearn.metrics.roc_auc_score``.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> roc_auc(confusion_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    _need_both(curve, "ROC-AUC")
    fpr, tpr = curve.roc()
    # The trapezoid rule written out as numpy's trapezoid computes it (that name needs numpy 2).
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(curve: ConfusionCurve) -> float:
    """Average precision (step-wise area under the PR curve), as scikit-learn's.

    ``sum_i (R_i - R_{i-1}) P_i`` over the thresholds, with no interpolation: the
    ``pr_auc`` of fnguard is this number, ``sklearn.metrics.average_precision_score``.

    Examples
    --------
    >>> from fnguard.metrics import confusion_curve
    >>> round(average_precision(confusion_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])), 6)
    0.833333
    """
    _need_both(curve, "PR-AUC")
    precision, recall = curve.precision_recall()
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))
