"""Distribution-free guarantees for a threshold, from the exact binomial tail.

For ``recall >= r @ c``: let the calibration set (data the model did not train on) hold ``n``
positives with scores ``p_(1) <= ... <= p_(n)``. The threshold ``t = p_(k)`` flags every score
``>= t``; the share of new positives it misses, ``P(S < p_(k))``, is stochastically at most the
``k``-th order statistic of ``n`` uniforms, a Beta(k, n - k + 1) variable, so

    P(recall on new data >= r) >= P(Binomial(n, 1 - r) >= k).

The largest ``k`` with that probability ``>= c`` gives the highest threshold (the fewest false
alarms) that keeps the promise; it exists when ``1 - r**n >= c``, i.e. ``n >= log(1 - c) /
log(r)`` positives (59 for r = 0.95, c = 95%). Ties in the scores only make the rule safer. On
the curve, the rule is "the highest threshold that misses at most ``k - 1`` calibration
positives".

For ``fpr <= a @ c`` the same argument on the ``m`` negatives allows at most ``m - j`` flagged
calibration negatives, with ``j`` the smallest integer such that ``P(Binomial(m, 1 - a) <= j -
1) >= c``: the rule is "the lowest threshold that flags at most ``m - j`` calibration
negatives". This is the tolerance-interval form of conformal risk control / Learn-then-Test for
a single monotone risk, and it is exact rather than a Hoeffding-Bentkus bound.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from fnguard.errors import RequirementError

if TYPE_CHECKING:
    from fnguard.decide.requirement import Requirement


def rule_target(req: Requirement) -> float:
    """The recall (``recall``, ``fnr``) or specificity (``fpr``, ``specificity``) that a
    guarantee's rule is written for.

    Examples
    --------
    >>> from fnguard.decide import parse_requirement
    >>> rule_target(parse_requirement("fnr<=0.05 @95%")), rule_target(parse_requirement("fpr<=0.1"))
    (0.95, 0.9)
    """
    t = float(req.target or 0.0)
    return t if req.metric in ("recall", "specificity") else 1.0 - t


def positives_needed(req: Requirement) -> int:
    """Positives a calibration split must hold for the guarantee of ``req`` (a guarantee on
    recall or FNR needs :func:`min_positives`; one on FPR or specificity, one positive).

    Examples
    --------
    >>> from fnguard.decide import parse_requirement
    >>> positives_needed(parse_requirement("recall>=0.95 @95%"))
    59
    >>> positives_needed(parse_requirement("fpr<=0.01 @95%"))
    1
    """
    if req.metric not in ("recall", "fnr"):
        return 1
    return min_positives(rule_target(req), float(req.confidence or 0.0))


def negatives_needed(req: Requirement) -> int:
    """Negatives a calibration split must hold for the guarantee of ``req`` (one on FPR or
    specificity; 0 for the others).

    Examples
    --------
    >>> from fnguard.decide import parse_requirement
    >>> negatives_needed(parse_requirement("fpr<=0.01 @95%"))
    299
    >>> negatives_needed(parse_requirement("recall>=0.95 @95%"))
    0
    """
    if req.metric not in ("fpr", "specificity") or not req.confidence:
        return 0
    return min_positives(rule_target(req), float(req.confidence))


def min_positives(target: float, confidence: float) -> int:
    """Fewest positives for which ``recall >= target`` can be guaranteed at ``confidence``.

    Examples
    --------
    >>> min_positives(0.95, 0.95)
    59
    """
    _check_rate(target, "target")
    _check_rate(confidence, "confidence")
    return math.ceil(math.log(1 - confidence) / math.log(target) - 1e-12)


def allowed_misses(n_pos: int, target: float, confidence: float) -> int:
    """Most calibration positives the threshold may miss so that ``recall >= target`` holds.

    Parameters
    ----------
    n_pos : int
        Positives in the calibration set.
    target : float
        The recall to guarantee, in (0, 1).
    confidence : float
        Probability that the recall on new data is at least ``target``.

    Returns
    -------
    int
        ``k - 1`` for the largest ``k`` with ``P(Binomial(n_pos, 1 - target) >= k) >=
        confidence``.

    Raises
    ------
    RequirementError
        When there are too few positives for any threshold to keep the promise.

    Examples
    --------
    >>> allowed_misses(59, 0.95, 0.95), allowed_misses(1000, 0.95, 0.95)
    (0, 38)
    """
    _check_rate(target, "target")
    _check_rate(confidence, "confidence")
    return _allowed(int(n_pos), 1 - target, confidence, "positives", f"recall>={target:g}")


def allowed_false_alarms(n_neg: int, target: float, confidence: float) -> int:
    """Most calibration negatives the threshold may flag so that ``fpr <= target`` holds.

    Examples
    --------
    >>> allowed_false_alarms(1000, 0.01, 0.95)
    4
    """
    _check_rate(target, "target")
    _check_rate(confidence, "confidence")
    return _allowed(int(n_neg), target, confidence, "negatives", f"fpr<={target:g}")


def _check_rate(value: Any, name: str) -> None:
    """Raise RequirementError unless ``value`` is a number strictly between 0 and 1."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not 0 < float(value) < 1:
        raise RequirementError(
            f"The {name} of a guarantee must be a number strictly between 0 and 1 (e.g. 0.95). "
            f"Got {value!r} instead."
        )


@functools.lru_cache(maxsize=256)
def _allowed(n: int, rate: float, confidence: float, what: str, text: str) -> int:
    """Largest ``a`` such that ``P(Binomial(n, rate) >= a + 1) >= confidence``."""
    if n <= 0 or stats.binom.sf(0, n, rate) < confidence:
        need = math.ceil(math.log(1 - confidence) / math.log(1 - rate) - 1e-12)
        raise RequirementError(
            f"A guarantee of {text} with {confidence:.0%} confidence needs at least {need} "
            f"{what} in the calibration data, and there are {n}: add labelled {what}, lower "
            "the confidence, or drop the guarantee ('@...%') to get a point estimate."
        )
    # sf(a, n, rate) = P(X > a) = P(X >= a + 1) decreases in a: find the last a that passes.
    lo, hi = 0, n  # sf(lo) passes
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if stats.binom.sf(mid, n, rate) >= confidence:
            lo = mid
        else:
            hi = mid - 1
    return lo
