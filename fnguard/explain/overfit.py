"""Over-fitting: the model's error and FNR on its training rows against cross-validated.

A model that catches every positive it was trained on yet misses many out of fold has
memorised its positives. A small gap can still hide it when the training scores are
saturated (the seeds' example: training error 0.09, test error 0.11, scores at 0 and 1): the
threshold has no room either. Saturated means piled up at 0 and 1, or barely moving across
thresholds, or a couple of distinct values; the description says which was seen.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fnguard.errors import DataError
from fnguard.metrics.calibration import saturation
from fnguard.metrics.confusion import confusion_curve

__all__ = ["ERROR_GAP", "FNR_GAP", "Overfitting", "overfitting"]

#: A cross-validated FNR this much above the training FNR is over-fitting.
FNR_GAP = 0.10
#: A cross-validated error this much above the training error (absolute) is over-fitting.
ERROR_GAP = 0.05
#: With saturated training scores, a cross-validated error this much above is enough.
SATURATED_ERROR_GAP = 0.01


@dataclass(frozen=True)
class Overfitting:
    """Training against cross-validated error and FNR at one threshold.

    Attributes
    ----------
    threshold : float
        Scores ``>=`` it are predicted positive.
    train_error, cv_error : float
        Share of rows misclassified: scored by the model fitted on every row, and out of fold.
    train_fnr, cv_fnr : float
        Share of positives missed, the same two ways.
    train_misses, cv_misses : int
        Positives missed, the same two ways.
    n_rows, n_positive : int
    saturated : bool
        The training scores are saturated (see :func:`fnguard.metrics.calibration.saturation`).
    saturation : str
        What was seen when saturated (empty when not): scores at 0 and 1, predictions that
        barely change across thresholds, or a couple of distinct values.
    flagged : bool
        The gap is large: FNR gap ``>= FNR_GAP``, error gap ``>= ERROR_GAP``, or saturated
        training scores with an error gap ``>= SATURATED_ERROR_GAP``.
    reason : str
        Why it is flagged (empty when not).
    """

    threshold: float
    train_error: float
    cv_error: float
    train_fnr: float
    cv_fnr: float
    train_misses: int
    cv_misses: int
    n_rows: int
    n_positive: int
    saturated: bool
    flagged: bool
    reason: str
    saturation: str = ""

    @property
    def misses_at_stake(self) -> int:
        """Positives missed out of fold but caught in training: what the gap costs."""
        return max(self.cv_misses - self.train_misses, 0)

    def describe(self) -> str:
        """One sentence with the figures."""
        text = (
            f"Training error {self.train_error:.3f} against {self.cv_error:.3f} cross-validated; "
            f"training FNR {self.train_fnr:.1%} against {self.cv_fnr:.1%} "
            f"({self.train_misses} against {self.cv_misses} of {self.n_positive} positives "
            f"missed at threshold {self.threshold:g})"
        )
        if self.saturated:
            text += f"; the training scores are saturated: {self.saturation or 'see above'}"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON (NaN becomes None)."""
        out = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }
        out["misses_at_stake"] = self.misses_at_stake
        return out


def overfitting(
    y_true: ArrayLike,
    train_scores: ArrayLike,
    cv_scores: ArrayLike,
    *,
    threshold: float = 0.5,
) -> Overfitting:
    """Compare a model's scores on its training rows with its out-of-fold scores.

    Parameters
    ----------
    y_true : array-like of bool
        True for positive rows.
    train_scores : array-like of float
        Scores of the model fitted on every row, on those same rows.
    cv_scores : array-like of float
        Out-of-fold scores of the same kind of model.
    threshold : float, default=0.5
        Scores ``>= threshold`` are predicted positive.

    Returns
    -------
    Overfitting

    Examples
    --------
    >>> y = np.array([True] * 10 + [False] * 90)
    >>> train = np.where(y, 1.0, 0.0)                      # memorised
    >>> cv = np.where(y, np.r_[[0.9] * 6, [0.1] * 4, [0.0] * 90], 0.1)
    >>> o = overfitting(y, train, cv)
    >>> o.flagged, o.train_fnr, o.cv_fnr
    (True, 0.0, 0.4)
    """
    is_pos = np.asarray(y_true, dtype=bool)
    train = np.asarray(train_scores, dtype=np.float64)
    cv = np.asarray(cv_scores, dtype=np.float64)
    if train.shape != is_pos.shape or cv.shape != is_pos.shape:
        raise DataError(
            f"There are {is_pos.size} labels, {train.size} training scores and {cv.size} "
            "cross-validated scores: pass one of each per row."
        )
    n, n_pos = int(is_pos.size), int(is_pos.sum())
    if n_pos == 0:
        raise DataError(
            "Over-fitting of the FNR needs positive rows, and the labels hold no positive "
            "row: pass the whole labelled table."
        )

    def rates(scores: np.ndarray) -> tuple[float, float, int]:
        pred = scores >= threshold
        misses = int((is_pos & ~pred).sum())
        return float((pred != is_pos).mean()), misses / n_pos, misses

    train_error, train_fnr, train_misses = rates(train)
    cv_error, cv_fnr, cv_misses = rates(cv)
    measured = saturation(confusion_curve(is_pos, train), threshold)
    sat, seen = measured.saturated, _saturation_seen(measured) if measured.saturated else ""
    fnr_gap, error_gap = cv_fnr - train_fnr, cv_error - train_error
    reasons = []
    if fnr_gap >= FNR_GAP and cv_misses - train_misses >= 3:
        reasons.append(f"the FNR is {fnr_gap:.1%} higher out of fold")
    if error_gap >= ERROR_GAP:
        reasons.append(f"the error is {error_gap:.3f} higher out of fold")
    if sat and error_gap >= SATURATED_ERROR_GAP and not reasons:
        reasons.append(
            f"the training scores are saturated ({seen}) while the error is {error_gap:.3f} "
            "higher out of fold"
        )
    return Overfitting(
        threshold=float(threshold),
        train_error=train_error,
        cv_error=cv_error,
        train_fnr=train_fnr,
        cv_fnr=cv_fnr,
        train_misses=train_misses,
        cv_misses=cv_misses,
        n_rows=n,
        n_positive=n_pos,
        saturated=bool(sat),
        flagged=bool(reasons),
        reason="; ".join(reasons),
        saturation=seen,
    )


def _saturation_seen(sat: Any) -> str:
    """What made :func:`~fnguard.metrics.calibration.saturation` call the scores saturated."""
    if sat.n_distinct <= 1:
        return "they all take one value"
    if sat.n_distinct == 2:
        return "they take only 2 distinct values"
    seen = []
    if sat.share_extreme == sat.share_extreme and sat.share_extreme >= 0.9:
        seen.append(f"{sat.share_extreme:.0%} lie within 1e-6 of 0 or 1")
    if sat.flip_fraction < 0.01:
        seen.append(
            f"only {sat.flip_fraction:.1%} of the predictions change as the threshold moves "
            "from 0.05 to 0.95"
        )
    return " and ".join(seen) or "they leave the threshold no room"
