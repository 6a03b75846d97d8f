"""Suspected label errors: rows whose label disagrees with out-of-fold probabilities.

cleanlab's confident learning finds them (:func:`cleanlab.filter.find_label_issues`) and ranks
them (:func:`cleanlab.rank.get_label_quality_scores`); this module only splits them by the
direction of the doubt and lays them out for review:

- *labelled negative, looks positive* (hidden positives): each one may be a positive the
  training data teaches the model to miss;
- *labelled positive, looks negative*: a positive the model misses may be no positive at all.

The probabilities must be out of fold (each row scored by a model that did not see it), or a
flexible model will have memorised the wrong labels. And the model must rank positives
better than chance (:func:`ranking_signal`): a model that learnt nothing disagrees with the
labels at random, and cleanlab would suspect rows for no reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fnguard.errors import DataError

__all__ = [
    "HIDDEN_POSITIVE",
    "MIN_AUC",
    "NOT_POSITIVE",
    "LabelIssues",
    "find_label_issues",
    "ranking_signal",
]

HIDDEN_POSITIVE = "labelled negative, looks positive"
NOT_POSITIVE = "labelled positive, looks negative"
#: Least cross-validated ROC-AUC (with an interval above 0.5) for label issues to be looked for.
MIN_AUC = 0.6


@dataclass
class LabelIssues:
    """The rows cleanlab suspects, most suspect first.

    Attributes
    ----------
    rows : ndarray of int
        0-based positions in the table, most suspect first (lowest label quality).
    labelled_positive : ndarray of bool
        For each suspect row, whether its given label is the positive one.
    quality : ndarray of float
        For each suspect row, cleanlab's label quality score (self-confidence: the
        out-of-fold probability of the given label).
    score : ndarray of float
        For each suspect row, the out-of-fold probability of the positive class.
    n_rows, n_positive : int
        Rows and positive rows of the whole table.
    """

    rows: np.ndarray
    labelled_positive: np.ndarray
    quality: np.ndarray
    score: np.ndarray
    n_rows: int
    n_positive: int

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def hidden_positives(self) -> np.ndarray:
        """Rows labelled negative that look positive, most suspect first."""
        return self.rows[~self.labelled_positive]

    @property
    def not_positives(self) -> np.ndarray:
        """Rows labelled positive that look negative, most suspect first."""
        return self.rows[self.labelled_positive]

    @property
    def share(self) -> float:
        """Share of the table's rows that are suspect."""
        return len(self) / self.n_rows if self.n_rows else float("nan")

    def to_frame(
        self,
        features: pd.DataFrame | None = None,
        *,
        positive: Any = True,
        negative: Any = False,
    ) -> pd.DataFrame:
        """One row per suspect, most suspect first: what a reviewer needs.

        Parameters
        ----------
        features : DataFrame, optional
            The table's feature columns (indexed by position); added after the fixed columns.
        positive, negative : scalar
            The class labels, to write the given and suggested labels.

        Returns
        -------
        DataFrame
            ``row`` (0-based position in the table), ``kind``, ``given_label``,
            ``suggested_label``, ``score`` (out-of-fold probability of the positive class),
            ``label_quality``, then the features.
        """
        pos = self.labelled_positive
        frame = pd.DataFrame(
            {
                "row": self.rows.astype(np.int64),
                "kind": np.where(pos, NOT_POSITIVE, HIDDEN_POSITIVE),
                "given_label": np.where(pos, _as_object(positive), _as_object(negative)),
                "suggested_label": np.where(pos, _as_object(negative), _as_object(positive)),
                "score": self.score,
                "label_quality": self.quality,
            }
        )
        if features is not None and features.shape[1]:
            extra = features.reset_index(drop=True).iloc[self.rows].reset_index(drop=True)
            extra = extra.rename(
                columns={c: f"{c} (feature)" for c in extra.columns if c in frame.columns}
            )
            frame = pd.concat([frame, extra], axis=1)
        return frame

    def to_dict(self, *, max_rows: int = 1000) -> dict[str, Any]:
        """Counts and rows for JSON (at most ``max_rows`` positions per list)."""
        hidden, doubtful = self.hidden_positives, self.not_positives
        return {
            "count": len(self),
            "share": None if math.isnan(self.share) else self.share,
            "hidden_positives": int(hidden.size),
            "not_positives": int(doubtful.size),
            "rows": self.rows[:max_rows].tolist(),
            "hidden_positive_rows": hidden[:max_rows].tolist(),
            "not_positive_rows": doubtful[:max_rows].tolist(),
            "rows_truncated": bool(len(self) > max_rows),
        }


def ranking_signal(
    y_true: ArrayLike, y_score: ArrayLike, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """ROC-AUC of the scores with DeLong's interval: whether they rank better than chance.

    It is ``(1 + delta) / 2`` for Cliff's delta of the positives' scores against the
    negatives' (:func:`fnguard.explain.shared.cliffs_delta`, which gives DeLong's interval).

    Parameters
    ----------
    y_true : array-like of bool
        True for positive rows.
    y_score : array-like of float
        Scores, higher for positives.
    confidence : float, default=0.95
        Level of the interval.

    Returns
    -------
    auc, low, high : float
        NaN when a class is missing; the interval is NaN when a class has one row.

    Examples
    --------
    >>> auc, low, high = ranking_signal([1, 1, 0, 0, 0], [0.9, 0.4, 0.5, 0.2, 0.1])
    >>> round(auc, 3)
    0.833
    """
    from fnguard.explain.shared import cliffs_delta

    is_pos = np.asarray(y_true, dtype=bool)
    s = np.asarray(y_score, dtype=np.float64)
    delta, low, high, _ = cliffs_delta(s[is_pos], s[~is_pos], confidence)
    return (1 + delta) / 2, (1 + low) / 2, (1 + high) / 2


def _as_object(value: Any) -> np.ndarray:
    out = np.empty(1, dtype=object)
    out[0] = value
    return out


def find_label_issues(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    filter_by: str = "prune_by_noise_rate",
) -> LabelIssues:
    """Rows whose label disagrees with out-of-fold probabilities, by confident learning.

    Parameters
    ----------
    y_true : array-like of bool
        True for rows labelled positive.
    y_proba : array-like of float
        Out-of-fold probability of the positive class for each row.
    filter_by : str, default="prune_by_noise_rate"
        cleanlab's filter (see :func:`cleanlab.filter.find_label_issues`).

    Returns
    -------
    LabelIssues

    Raises
    ------
    DataError
        If the lengths differ, the probabilities are not in [0, 1], or a class is missing.

    Examples
    --------
    >>> y = np.array([True] * 20 + [False] * 80)
    >>> p = np.where(y, 0.9, 0.1)
    >>> p[3], p[50] = 0.02, 0.97          # a positive that looks negative, and the reverse
    >>> issues = find_label_issues(y, p)
    >>> sorted(issues.rows.tolist()), issues.hidden_positives.tolist()
    ([3, 50], [50])
    """
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    is_pos = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_proba, dtype=np.float64)
    if p.shape != is_pos.shape:
        raise DataError(
            f"There are {is_pos.size} labels but {p.size} probabilities: pass one out-of-fold "
            "probability per row."
        )
    if not np.all((p >= 0) & (p <= 1)):
        raise DataError(
            "Label issues need probabilities in [0, 1]; some scores lie outside (margins or "
            "NaN): pass predict_proba's positive column."
        )
    n_pos = int(is_pos.sum())
    if n_pos == 0 or n_pos == is_pos.size:
        raise DataError(
            "Label issues need rows of both classes; the labels hold only one: pass the "
            "whole labelled table."
        )
    labels = is_pos.astype(np.int64)
    proba = np.column_stack([1.0 - p, p])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about tiny classes: counts say it
        ranked = cl_find(
            labels,
            proba,
            filter_by=filter_by,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        quality = get_label_quality_scores(labels, proba, method="self_confidence")
    rows = np.asarray(ranked, dtype=np.int64)
    return LabelIssues(
        rows=rows,
        labelled_positive=is_pos[rows],
        quality=quality[rows],
        score=p[rows],
        n_rows=int(is_pos.size),
        n_positive=n_pos,
    )
