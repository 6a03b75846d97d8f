"""A safety margin for plain constraints: choose the threshold so the constraint holds on new data.

A requirement such as ``recall>=0.9`` without a guarantee is met *on average* by the threshold
at the edge of the out-of-fold scores: on new data its recall falls below 0.9 about half of the
time. :func:`with_margin` turns it into the same constraint with a confidence (``@90%``), so the
threshold is chosen with the exact order-statistic rule of :mod:`fnguard.decide.guarantee` (a
few more positives caught than the bare target asks), when there are enough positives (or
negatives) for that rule; otherwise it keeps the requirement as it is and says why.

The margin is not a guarantee: the scores it is chosen on are out-of-fold, from models close to
but not the one that is shipped. It only moves the threshold off the edge.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from fnguard.decide.guarantee import min_positives, rule_target
from fnguard.decide.requirement import GUARANTEED, Requirement

__all__ = ["DEFAULT_MARGIN", "check_margin", "with_margin"]

#: Default confidence of the margin used by ``fnguard fit`` for plain constraints.
DEFAULT_MARGIN = 0.9


def check_margin(margin: Any) -> float | None:
    """The margin as a float in (0, 1), or None (no margin: the point estimate).

    Raises
    ------
    ValueError
        When ``margin`` is not None, 0, or a number strictly between 0 and 1.

    Examples
    --------
    >>> check_margin(0.9), check_margin(None), check_margin(0)
    (0.9, None, None)
    """
    if margin is None or (not isinstance(margin, bool) and margin == 0):
        return None
    if isinstance(margin, bool) or not isinstance(margin, int | float | np.floating):
        raise ValueError(f"The margin must be a number in (0, 1) or None. Got {margin!r}.")
    value = float(margin)
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"The margin must be a confidence strictly between 0 and 1 (e.g. 0.9), or 0 / None "
            f"for none. Got {margin!r}."
        )
    return value


def with_margin(req: Requirement, y: Any, margin: float | None) -> tuple[Requirement, str | None]:
    """The requirement to choose the threshold with, and a note saying what was done.

    Parameters
    ----------
    req : Requirement
        The user's requirement.
    y : array-like of bool
        Labels of the rows the threshold is chosen on (True: positive).
    margin : float or None
        Confidence with which the constraint should hold on new data; None: no margin.

    Returns
    -------
    requirement : Requirement
        ``req`` with ``confidence=margin`` when a margin applies, else ``req`` itself.
    note : str or None
        What was done (None when no margin was asked or the requirement cannot carry one).

    Examples
    --------
    >>> from fnguard.decide import parse_requirement
    >>> y = np.r_[np.ones(100, bool), np.zeros(900, bool)]
    >>> r, note = with_margin(parse_requirement("recall>=0.9"), y, 0.9)
    >>> r.confidence, r.target
    (0.9, 0.9)
    >>> with_margin(parse_requirement("recall>=0.9"), y[95:], 0.9)[0].confidence is None
    True
    """
    if (
        margin is None
        or req.guaranteed
        or req.kind != "constraint"
        or req.metric not in GUARANTEED  # the constraints that can carry a guarantee
        or req.target is None
    ):
        return req, None
    raw = np.asarray(y)
    if raw.dtype != bool and not (
        raw.dtype.kind in "iuf" and np.isin(raw, (0, 1)).all()
    ):
        from fnguard.errors import DataError

        raise DataError(
            "'y' must hold the labels as booleans (True: positive) or 0/1; got "
            f"{raw.dtype} values: pass y == positive_label."
        )
    y = raw.astype(bool)
    on_positives = req.metric in ("recall", "fnr")
    needed = min_positives(rule_target(req), margin)
    have = int(y.sum()) if on_positives else int((~y).sum())
    kind = "positives" if on_positives else "negatives"
    if have < needed:
        return req, (
            f"No safety margin on the threshold: {req.metric} {req.op} {req.target:g} with "
            f"{margin:.0%} confidence needs at least {needed:,} {kind} to choose it on, and "
            f"there are {have:,}; the threshold is the point estimate (met about half of the "
            "time on new data)."
        )
    return dataclasses.replace(req, confidence=margin), (
        f"Safety margin: the threshold was chosen so that {req.metric} {req.op} {req.target:g} "
        f"holds with {margin:.0%} confidence on new data (exact order-statistic rule on "
        f"{have:,} {kind} of scores the models did not train on), not only on average; "
        "pass margin=None (--margin 0) for the point estimate."
    )
