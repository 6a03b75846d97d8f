"""A three-way decision: auto-positive, human review, auto-negative."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnguard.decide.policies import Decision, decide_on_curve
from fnguard.decide.requirement import Requirement, parse_requirement
from fnguard.errors import DataError, RequirementError
from fnguard.metrics._validation import binary_labels, finite_scores
from fnguard.metrics.confusion import _curve_from_scores

AUTO_POSITIVE, REVIEW, AUTO_NEGATIVE = "auto_positive", "review", "auto_negative"


def parse_capacity(capacity: int | float | str, n: int, what: str = "review capacity") -> int:
    """Number of cases the band may hold: a count (``200``) or a share (``0.02`` or ``"2%"``).

    Examples
    --------
    >>> parse_capacity("2%", 1000), parse_capacity(0.05, 1000), parse_capacity("150", 1000)
    (20, 50, 150)
    """
    bad = DataError(
        f"The {what} must be a count of cases (e.g. 200) or a share of the batch "
        f"in (0, 1] (e.g. 0.02 or '2%'). Got {capacity!r} instead."
    )
    if isinstance(capacity, bool):
        raise bad
    if isinstance(capacity, np.integer):
        capacity = int(capacity)
    elif isinstance(capacity, np.floating):
        capacity = float(capacity)
    if isinstance(capacity, str):
        text = capacity.strip()
        try:
            value = float(text.removesuffix("%"))
        except ValueError:
            raise bad from None
        if not math.isfinite(value):
            raise bad
        if text.endswith("%"):
            if not 0 < value <= 100:
                raise bad
            return math.floor(value / 100 * n)
        capacity = int(value) if value == int(value) and value >= 0 else value
    if isinstance(capacity, int):
        if capacity < 0:
            raise DataError(f"The {what} must be >= 0. Got {capacity!r} instead.")
        return capacity
    if isinstance(capacity, float) and math.isfinite(capacity):
        if 0 < capacity <= 1:
            return math.floor(capacity * n)
        if capacity > 1 and capacity == int(capacity):
            return int(capacity)
    raise bad


@dataclass
class ReviewBand:
    """Where the review band sits and what it buys.

    Scores ``>= upper`` are auto-positive, scores in ``[lower, upper)`` go to review, and
    scores ``< lower`` are auto-negative.

    Attributes
    ----------
    lower, upper : float
        Edges of the band (``upper`` may be ``inf``: nothing is auto-positive).
    decision : Decision
        The requirement's decision that placed the lower edge.
    capacity : int
        Most cases the band may hold, on this data.
    n_auto_positive, n_review, n_auto_negative : int
        Cases in each part on this data.
    positives_in_review : int
        Positives the reviewers would catch (misses of an automatic threshold at ``upper``).
    misses_auto_negative : int
        Positives left among the auto-negatives.
    miss_rate : float
        ``misses_auto_negative`` over all positives.
    catch_rate : float
        Positives caught per reviewed case.
    """

    lower: float
    upper: float
    decision: Decision
    capacity: int
    n_auto_positive: int
    n_review: int
    n_auto_negative: int
    positives_in_review: int
    misses_auto_negative: int
    miss_rate: float
    catch_rate: float

    def assign(self, y_score: Any) -> np.ndarray:
        """Label each score ``auto_positive``, ``review`` or ``auto_negative``."""
        s = finite_scores(y_score)
        out = np.full(s.shape, REVIEW, dtype=object)
        out[s >= self.upper] = AUTO_POSITIVE
        out[s < self.lower] = AUTO_NEGATIVE
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``inf`` as None)."""

        def f(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "lower": f(self.lower),
            "upper": f(self.upper),
            "requirement": self.decision.requirement.describe(),
            "capacity": self.capacity,
            "n_auto_positive": self.n_auto_positive,
            "n_review": self.n_review,
            "n_auto_negative": self.n_auto_negative,
            "positives_in_review": self.positives_in_review,
            "misses_auto_negative": self.misses_auto_negative,
            "miss_rate": self.miss_rate,
            "catch_rate": self.catch_rate,
        }


def review_band(
    y_true: Any,
    y_score: Any,
    requirement: str | Requirement,
    capacity: int | float | str,
    *,
    positive: Any = 1,
) -> ReviewBand:
    """Split scores into auto-negative, review and auto-positive.

    The lower edge is the threshold the requirement chooses (for ``fnr<=0.01 @95%``: fewer
    than 1% of positives are auto-negated, with 95% confidence). Everything at or above it is
    either flagged automatically or reviewed, so the requirement holds whatever the reviewers
    decide about the cases they see. The band sits directly above the lower edge and holds at
    most ``capacity`` cases: these are the cases an automatic threshold at ``upper`` would
    leave as misses, and among the flagged cases the ones whose label is least certain, so
    each review there catches the most misses (and clears the most false alarms) per case.
    With room to spare, ``upper`` is ``inf`` and every flagged case is reviewed.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels from data the model did not train on.
    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive.
    requirement : str or Requirement
        Usually a recall or FNR constraint, with a guarantee if wanted.
    capacity : int, float or str
        Most cases to review: a count per batch (``200``) or a share (``0.02``, ``"2%"``).
    positive : scalar, default=1
        The positive label.

    Returns
    -------
    ReviewBand

    Examples
    --------
    >>> band = review_band([0, 0, 1, 1, 0, 1, 0, 0], [.1, .2, .3, .9, .4, .8, .7, .05],
    ...                    "recall>=0.99", capacity=2)
    >>> band.lower, band.upper, band.n_review
    (0.3, 0.7, 2)
    """
    req = parse_requirement(requirement)
    if req.per is not None:
        raise RequirementError(
            f"The requirement {req.text!r} asks for a guarantee per {req.per!r}, which a review "
            "band cannot place (it has one lower edge): drop 'per "
            f"{req.per}', or place a band on each group's rows."
        )
    is_pos = binary_labels(y_true, positive)
    scores = finite_scores(y_score, is_pos.size)
    curve = _curve_from_scores(scores, is_pos)
    if curve.n_positive == 0 or curve.n_negative == 0:
        raise DataError(
            "A review band needs labelled positives and negatives to be placed: pass a "
            "labelled calibration sample with both classes."
        )
    decision = decide_on_curve(curve, req, n_boot=0)
    if not decision.met:
        raise RequirementError(
            f"The requirement {req.describe()!r} cannot be met on this data "
            f"({decision.describe()}), so no lower edge can be placed."
        )
    cap = parse_capacity(capacity, curve.n)
    lower = decision.threshold
    lo = curve.index_at(lower)
    flagged = curve.tp + curve.fp
    # The band [lower, upper) holds flagged[lo] - flagged[j] cases for upper = thresholds[j].
    fits = flagged[lo] - flagged[: lo + 1] <= cap
    j = int(np.argmax(fits))  # smallest j (highest upper) whose band fits the capacity
    upper = float(curve.thresholds[j])
    n_review = int(flagged[lo] - flagged[j])
    pos_review = int(curve.tp[lo] - curve.tp[j])
    misses = int(curve.fn[lo])
    return ReviewBand(
        lower=float(lower),
        upper=upper,
        decision=decision,
        capacity=cap,
        n_auto_positive=int(flagged[j]),
        n_review=n_review,
        n_auto_negative=int(curve.n - flagged[lo]),
        positives_in_review=pos_review,
        misses_auto_negative=misses,
        miss_rate=misses / curve.n_positive,
        catch_rate=pos_review / n_review if n_review else 0.0,
    )
