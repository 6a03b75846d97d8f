"""Undo a shift in class balance: probabilities learnt at one positive rate, read at another.

After under-sampling, over-sampling or class weights, a model learns as if positives were
``train_rate`` of the rows; its probabilities then overstate (or understate) the risk at the
real rate. Bayes' rule moves them back (Elkan 2001, "The foundations of cost-sensitive
learning"; Saerens, Latinne and Decaestecker 2002, "Adjusting the outputs of a classifier to
new a priori probabilities"):

.. math::

    p' = \\frac{p\\,q/\\pi}{p\\,q/\\pi + (1 - p)(1 - q)/(1 - \\pi)}

with :math:`\\pi` the positive rate the model was trained at and :math:`q` the true rate. In
logits this is a constant shift, :func:`prior_shift_logit`, so the ranking (and hence every
ROC or PR figure) is unchanged: only the meaning of a threshold moves.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fnguard.errors import DataError

__all__ = ["correct_prior", "prior_shift_logit"]


def _check_rate(value: Any, name: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1, or raise a DataError."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"'{name}' must be a positive rate in (0, 1). Got {value!r} instead: pass the "
            "share of positive rows, e.g. 0.06."
        ) from None
    if not 0.0 < rate < 1.0:
        raise DataError(
            f"'{name}' must be a positive rate in (0, 1), both ends excluded. Got {value!r} "
            "instead: pass the share of positive rows, e.g. 0.06 (a rate of 0 or 1 leaves no "
            "class to correct towards)."
        )
    return rate


def prior_shift_logit(train_rate: float, true_rate: float) -> float:
    """Additive logit offset that moves probabilities from ``train_rate`` to ``true_rate``.

    ``logit(correct_prior(p, train_rate, true_rate)) == logit(p) + prior_shift_logit(...)``.

    Parameters
    ----------
    train_rate : float in (0, 1)
        Positive rate the model was trained at (e.g. 0.5 after balancing the classes).
    true_rate : float in (0, 1)
        Positive rate of the data the probabilities should describe.

    Returns
    -------
    float
        ``logit(true_rate) - logit(train_rate)``; negative when the model was trained on more
        positives than it will see.

    Examples
    --------
    >>> round(prior_shift_logit(0.5, 0.1), 4)
    -2.1972
    >>> prior_shift_logit(0.2, 0.2)
    0.0
    """
    pi = _check_rate(train_rate, "train_rate")
    q = _check_rate(true_rate, "true_rate")
    return (math.log(q) - math.log1p(-q)) - (math.log(pi) - math.log1p(-pi))


def correct_prior(scores: Any, train_rate: float, true_rate: float) -> np.ndarray:
    """Correct probabilities learnt at ``train_rate`` positives to the ``true_rate``.

    Parameters
    ----------
    scores : array-like of float in [0, 1]
        Probabilities of the positive class, as the model trained at ``train_rate`` gives
        them; any shape, except predict_proba's two columns (refused: pass the positive
        column).
    train_rate : float in (0, 1)
        Positive rate the model was trained at: the share of positives after resampling, or
        ``w * n_pos / (w * n_pos + n_neg)`` with a class weight ``w`` on the positives.
    true_rate : float in (0, 1)
        Positive rate of the data the probabilities should describe (usually the rate in
        the data before resampling).

    Returns
    -------
    ndarray of float64
        Corrected probabilities, same shape as ``scores``. 0 and 1 stay exactly 0 and 1, the
        order of the scores is kept, and ``correct_prior(correct_prior(p, a, b), b, a)``
        gives ``p`` back.

    Raises
    ------
    DataError
        When a rate is not strictly between 0 and 1, or a score is not a finite number in
        [0, 1].

    Examples
    --------
    A model trained on balanced classes says 0.5; at a true rate of 10% that is 0.1:

    >>> correct_prior([0.0, 0.5, 0.9, 1.0], train_rate=0.5, true_rate=0.1).round(4).tolist()
    [0.0, 0.1, 0.5, 1.0]
    """
    pi = _check_rate(train_rate, "train_rate")
    q = _check_rate(true_rate, "true_rate")
    try:
        p = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            "'scores' must be numeric probabilities in [0, 1]: pass the model's probability "
            "of the positive class (e.g. predict_proba(X)[:, 1])."
        ) from None
    bad = ~np.isfinite(p) | (p < 0.0) | (p > 1.0)
    if bad.any():
        first = np.flatnonzero(bad.ravel())[0]
        raise DataError(
            f"'scores' must be probabilities in [0, 1]. Got {int(bad.sum())} values outside "
            f"(first: {float(p.ravel()[first])!r} at position {int(first)}): pass probabilities, "
            "not logits or margins (apply a sigmoid first), and drop NaN rows."
        )
    if p.ndim == 2 and p.shape[1] == 2 and len(p) and np.allclose(p.sum(axis=1), 1.0):
        raise DataError(
            "'scores' has two columns that sum to 1 on every row: predict_proba's output, "
            "both classes. Pass the probability of the positive class only (e.g. "
            "predict_proba(X)[:, 1]); the negative class's is 1 minus the corrected one."
        )
    up, down = q / pi, (1.0 - q) / (1.0 - pi)
    num = p * up
    # At p = 0 and p = 1 one of the two terms is exactly zero, so the ratio is exactly 0 or 1.
    return num / (num + (1.0 - p) * down)
