"""The optional calibrator of the winner: a monotone map of its scores, kept only when it helps.

Some levers leave scores that are not probabilities: balanced ensembles resample inside, focal
loss reshapes the loss. The winner's out-of-fold scores then show a large ECE. A Platt map
(``sigmoid(a * logit(s) + b)``, ``a > 0``) fitted on those scores fixes the scale without
changing any decision: it is strictly increasing, so the threshold is mapped with the scores
and every count at it stays the same (this is checked). It is kept when the ECE of
cross-fitted calibrated scores (:func:`fnguard.decide.calibration.cross_calibrate`) is lower
by at least :data:`MIN_GAIN`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.metrics.calibration import reliability
from fnguard.metrics.confusion import _curve_from_scores

__all__ = ["MIN_GAIN", "calibrate_winner"]

#: Smallest drop of the out-of-fold ECE for which the calibrator is kept.
MIN_GAIN = 0.01
#: The map: two parameters, strictly increasing when its slope is positive.
METHOD = "platt"


def _ece(y: np.ndarray, scores: np.ndarray) -> float:
    return float(reliability(_curve_from_scores(np.asarray(scores, dtype=np.float64), y)).ece)


def calibrate_winner(
    pipeline: Any, oof: np.ndarray, y: np.ndarray, threshold: float,
    band: tuple[float, float] | None, seed: int = 0,
) -> tuple[Any, float, tuple[float, float] | None, dict[str, Any]]:
    """Wrap a fitted pipeline in a Platt calibrator fitted on its out-of-fold scores, if it helps.

    Parameters
    ----------
    pipeline : estimator
        The winner, fitted on all the search rows.
    oof : ndarray
        Its out-of-fold scores on those rows.
    y : ndarray of bool
        Their labels.
    threshold : float
        The threshold chosen on ``oof``.
    band : tuple of float or None
        The review band chosen on ``oof``.
    seed : int, default=0
        Seed of the cross-fitting folds.

    Returns
    -------
    pipeline, threshold, band
        The calibrated classifier with the mapped threshold and band, or the inputs unchanged.
    record : dict
        ``applied``, ``method``, ``ece_before``, ``ece_after`` (cross-fitted) and ``why``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 1)); y = rng.random(2000) < 1 / (1 + np.exp(-X[:, 0]))
    >>> model = LogisticRegression().fit(X, y)
    >>> oof = model.predict_proba(X)[:, 1] ** 3  # a squashed, miscalibrated score
    >>> _, t, _, rec = calibrate_winner(model, oof, y, 0.2, None)
    >>> rec["applied"], rec["ece_after"] < rec["ece_before"]
    (True, True)
    """
    from fnguard.decide.calibrated import CalibratedClassifier
    from fnguard.decide.calibration import Calibrator, cross_calibrate

    y = np.asarray(y, dtype=bool)
    oof = np.asarray(oof, dtype=np.float64)
    record: dict[str, Any] = {"applied": False, "method": METHOD, "ece_before": None,
                              "ece_after": None, "why": ""}
    if not (oof.min() >= 0.0 and oof.max() <= 1.0) or not math.isfinite(threshold):
        record["why"] = "the scores are not probabilities, or nothing is flagged"
        return pipeline, threshold, band, record
    before = _ece(y, oof)
    after = _ece(y, cross_calibrate(oof, y, METHOD, positive=True, random_state=seed))
    record.update(ece_before=before, ece_after=after)
    if before - after < MIN_GAIN:
        record["why"] = f"the out-of-fold ECE would drop by less than {MIN_GAIN}"
        return pipeline, threshold, band, record
    cal = Calibrator(METHOD, input="probability", positive=True).fit(oof, y)
    mapped = cal.transform(oof)
    new_threshold = float(cal.transform(np.array([threshold]))[0])
    same = np.array_equal(oof >= threshold, mapped >= new_threshold)
    if float(np.ravel(cal.coef_)[0]) <= 0 or not same:
        record["why"] = "the map would change decisions"
        return pipeline, threshold, band, record
    model = CalibratedClassifier(pipeline, METHOD, cv="prefit")
    model.estimator_ = pipeline
    model.calibrator_ = cal
    model.classes_ = pipeline.classes_
    model.response_method_ = "predict_proba"
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(pipeline, name):
            setattr(model, name, getattr(pipeline, name))
    if band is not None:
        upper = band[1] if math.isinf(band[1]) else float(cal.transform(np.array([band[1]]))[0])
        band = (new_threshold, upper)
    record.update(applied=True, why="it lowers the out-of-fold ECE without changing decisions")
    return model, new_threshold, band, record
