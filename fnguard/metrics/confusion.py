"""The kernel: confusion counts at every distinct threshold, from one sort.

Every threshold metric, policy and plot of fnguard reads a :class:`ConfusionCurve`; none sorts
the scores again. A score **at or above** the threshold is predicted positive, as in
scikit-learn's ``roc_curve`` and ``FixedThresholdClassifier``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnguard.errors import DataError
from fnguard.metrics._validation import binary_labels, finite_scores

# Positives are located in the sorted scores in blocks of this many rows, to bound memory.
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ConfusionCurve:
    """Confusion counts at every distinct threshold.

    Row ``i`` holds the counts when every score ``>= thresholds[i]`` is predicted positive.
    ``thresholds`` decreases; its first value is ``+inf`` (nothing predicted positive), as
    in ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``, and every later value is a
    distinct score, so that ``tp`` and ``fp`` grow with the row.

    Attributes
    ----------
    thresholds : ndarray of float64, shape (n_thresholds,)
    tp, fp, tn, fn : ndarray of int64, shape (n_thresholds,)
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray

    @property
    def n_positive(self) -> int:
        """Number of positive rows."""
        return int(self.tp[-1] + self.fn[-1])

    @property
    def n_negative(self) -> int:
        """Number of negative rows."""
        return int(self.fp[-1] + self.tn[-1])

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.n_positive + self.n_negative

    def __len__(self) -> int:
        return int(self.thresholds.size)

    def index_at(self, threshold: float) -> int:
        """Row of the curve that holds the counts for ``score >= threshold``.

        Parameters
        ----------
        threshold : float
            Any real number; scores at or above it are predicted positive.

        Returns
        -------
        int
            The index of the smallest curve threshold that is ``>= threshold``.
        """
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            value = math.nan
        if math.isnan(value):
            raise DataError(
                f"The threshold must be a number (scores at or above it are positive). Got "
                f"{threshold!r} instead."
            )
        # thresholds decrease: count how many are >= threshold.
        return int(np.searchsorted(-self.thresholds, -value, side="right")) - 1

    def counts_at(self, threshold: float) -> tuple[int, int, int, int]:
        """Return ``(tp, fp, tn, fn)`` when scores ``>= threshold`` are predicted positive.

        Examples
        --------
        >>> curve = confusion_curve([0, 1, 1, 0], [0.1, 0.4, 0.8, 0.4])
        >>> curve.counts_at(0.4)
        (2, 1, 1, 0)
        """
        i = self.index_at(threshold)
        return int(self.tp[i]), int(self.fp[i]), int(self.tn[i]), int(self.fn[i])

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """False and true positive rates at every threshold (the ROC points)."""
        fpr = self.fp / self.n_negative if self.n_negative else np.zeros(len(self))
        tpr = self.tp / self.n_positive if self.n_positive else np.zeros(len(self))
        return fpr, tpr

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall at every finite threshold (the PR points).

        The ``+inf`` row, where nothing is predicted positive, is left out: precision is
        undefined there.
        """
        tp, fp = self.tp[1:], self.fp[1:]
        precision = tp / (tp + fp)
        recall = tp / self.n_positive if self.n_positive else np.zeros(tp.size)
        return precision, recall


def confusion_curve(y_true: Any, y_score: Any, positive: Any = 1) -> ConfusionCurve:
    """Confusion counts at every distinct threshold, from one sort of the scores.

    A score **at or above** a threshold is predicted positive. Tied scores fall on the same
    side of every threshold, exactly as in scikit-learn's ranking metrics.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels with two classes (or only one).
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive: probabilities, logits or margins.
    positive : scalar, default=1
        The label of the positive class.

    Returns
    -------
    ConfusionCurve
        ``thresholds`` (decreasing, starting at ``+inf``) and the counts ``tp``, ``fp``,
        ``tn``, ``fn`` at each.

    Examples
    --------
    >>> curve = confusion_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> curve.thresholds.tolist()
    [inf, 0.8, 0.4, 0.35, 0.1]
    >>> curve.tp.tolist(), curve.fp.tolist()
    ([0, 1, 1, 2, 2], [0, 0, 1, 1, 2])
    """
    is_pos = binary_labels(y_true, positive)
    scores = finite_scores(y_score, is_pos.size)
    return _curve_from_scores(scores, is_pos)


def _curve_from_scores(scores: np.ndarray, is_pos: np.ndarray) -> ConfusionCurve:
    """Build the curve from validated float64 scores and a boolean positive mask."""
    n = scores.size
    n_pos = int(np.count_nonzero(is_pos))
    n_neg = n - n_pos
    ordered = np.sort(scores)  # the one sort, ascending
    # Last row of each run of equal scores: the distinct scores in ascending order.
    last = np.empty(n, dtype=bool)
    last[-1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=last[:-1])
    ends = np.flatnonzero(last)
    del last
    distinct = ordered[ends]
    del ordered
    # Rows with a score >= distinct[j]: n minus the rows before its run.
    at_or_above = n - np.concatenate(([0], ends[:-1] + 1))
    del ends
    # Locate the smaller class among the distinct scores by binary search, in blocks.
    minority_is_pos = n_pos <= n_neg
    members = np.flatnonzero(is_pos if minority_is_pos else ~is_pos)
    per_score = np.zeros(distinct.size, dtype=np.int64)
    for start in range(0, members.size, _BLOCK):
        idx = np.searchsorted(distinct, scores[members[start : start + _BLOCK]])
        per_score += np.bincount(idx, minlength=distinct.size)
    # Members with a score >= distinct[j]: reverse cumulative sum.
    minority_above = np.cumsum(per_score[::-1])[::-1]
    del per_score
    if minority_is_pos:
        tp_asc, fp_asc = minority_above, at_or_above - minority_above
    else:
        fp_asc, tp_asc = minority_above, at_or_above - minority_above
    thresholds = np.concatenate(([np.inf], distinct[::-1]))
    tp = np.concatenate(([0], tp_asc[::-1])).astype(np.int64, copy=False)
    fp = np.concatenate(([0], fp_asc[::-1])).astype(np.int64, copy=False)
    return ConfusionCurve(thresholds=thresholds, tp=tp, fp=fp, tn=n_neg - fp, fn=n_pos - tp)
