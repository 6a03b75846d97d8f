"""Cost-sensitive training: a cost matrix as sample weights, and weighted LightGBM.

Two levers of the ``cost`` family live here (focal loss is in :mod:`fnguard.levers.focal`):

- ``"cost:matrix"``: :class:`CostWeightedClassifier` fits any estimator that takes
  ``sample_weight`` with the weights of :func:`cost_sample_weight`, so a missed positive costs
  ``fn_cost`` and a false alarm ``fp_cost`` in the training loss.
- ``"lightgbm:weighted"``: LightGBM's own ``LGBMClassifier`` with ``scale_pos_weight``.

Class weights (``"balanced"`` or explicit) are parameters of the algorithm levers themselves.

References
----------
C. Elkan, "The Foundations of Cost-Sensitive Learning", IJCAI 2001.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    indexable,
)

from fnguard.errors import DataError
from fnguard.levers.registry import register

__all__ = [
    "CostWeightedClassifier",
    "cost_sample_weight",
]


# --------------------------------------------------------------------------------------------
# checks shared by the functions and estimators below
# --------------------------------------------------------------------------------------------
def _check_cost(name: str, value: Any) -> float:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(value)
        or value < 0
    ):
        raise DataError(
            f"The cost {name!r} must be a finite number >= 0. Got {value!r} instead: "
            "give the cost of one such outcome, e.g. fn=50, fp=1."
        )
    return float(value)


def _check_gamma(gamma: Any) -> float:
    if (
        not isinstance(gamma, numbers.Real)
        or isinstance(gamma, bool)
        or not np.isfinite(gamma)
        or gamma < 0
    ):
        raise DataError(
            f"The focal loss 'gamma' must be a finite number >= 0. Got {gamma!r} instead: "
            "use 0 for plain logistic loss and 1 to 5 to down-weight easy rows (2 is usual)."
        )
    return float(gamma)


def _check_alpha(alpha: Any) -> float | None:
    if alpha is None:
        return None
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise DataError(
            f"The focal loss 'alpha' must be None or in (0, 1). Got {alpha!r} instead: "
            "alpha is the weight of positive rows (negatives get 1 - alpha); None weighs both 1."
        )
    return float(alpha)


def _binary_target(y: Any) -> np.ndarray:
    """The two sorted classes of a binary target, else an error scikit-learn's checks accept."""
    if _num_samples(y) == 0:
        raise DataError("'y' has 0 samples: give at least one row of each class.")
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type != "binary":
        raise DataError(
            "Only binary classification is supported. The type of the target is "
            f"{y_type!r}: give a target with two classes (the positive one is the larger "
            "label once sorted, e.g. 1 or True)."
        )
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(
            f"'y' has only one class ({classes[0]!r}): a classifier needs rows of both classes."
        )
    return classes


# --------------------------------------------------------------------------------------------
# cost matrix -> sample weights
# --------------------------------------------------------------------------------------------
def cost_sample_weight(
    y: Any,
    *,
    fn: float = 1.0,
    fp: float = 1.0,
    tp: float = 0.0,
    tn: float = 0.0,
    pos_label: Any = None,
) -> np.ndarray:
    """Sample weights that make a weighted loss follow a binary cost matrix.

    A positive row weighs ``fn - tp`` (what missing it costs more than catching it) and a
    negative row ``fp - tn``; the weights are then divided by their mean, so they average 1.
    Only the ratio ``(fn - tp) / (fp - tn)`` changes what the model learns (Elkan 2001);
    normalising keeps the regularisation strength and learning rate of the estimator meaning
    what they meant without weights.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Binary target.
    fn, fp, tp, tn : float
        Cost of a false negative, false positive, true positive, true negative (each >= 0,
        with ``fn > tp`` and ``fp > tn``).
    pos_label : label, default=None
        The positive class; by default the larger of the two labels once sorted (``1``,
        ``True``), as ``classes_[1]`` in scikit-learn.

    Returns
    -------
    ndarray of shape (n_samples,)
        Float weights with mean 1.

    Raises
    ------
    DataError
        When ``y`` has more than two classes, a cost is negative or not finite, a mistake costs
        no more than the right answer, or ``pos_label`` is not a label of ``y``.

    Examples
    --------
    >>> cost_sample_weight([0, 0, 0, 1], fn=9, fp=1)
    array([0.33333333, 0.33333333, 0.33333333, 3.        ])
    """
    fn, fp, tp, tn = (
        _check_cost(n, v) for n, v in (("fn", fn), ("fp", fp), ("tp", tp), ("tn", tn))
    )
    if fn <= tp or fp <= tn:
        raise DataError(
            f"A mistake must cost more than the right answer: fn > tp and fp > tn. Got fn={fn:g}, "
            f"tp={tp:g}, fp={fp:g}, tn={tn:g} instead: raise fn or fp, or lower tp or tn."
        )
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"'y' must be one-dimensional. Got shape {y.shape} instead.")
    if y.size == 0:
        raise DataError("'y' is empty: give at least one row.")
    classes = np.unique(y)
    if classes.size > 2:
        raise DataError(
            f"A cost matrix needs a binary target. 'y' has {classes.size} classes "
            f"({', '.join(map(repr, classes[:5].tolist()))}...): map it to two classes first."
        )
    if pos_label is None:
        pos_label = classes[-1] if classes.size == 2 or classes[0] in (1, True) else None
    elif pos_label not in classes.tolist():
        raise DataError(
            f"pos_label={pos_label!r} is not a label of 'y' ({classes.tolist()}): give one of them."
        )
    positive = y == pos_label if pos_label is not None else np.zeros(y.shape, dtype=bool)
    weight = np.where(positive, fn - tp, fp - tn).astype(float)
    return weight / weight.mean()


def _estimator_has(attr: str) -> Callable[[Any], bool]:
    """``available_if`` check: the fitted estimator, else the unfitted one, has ``attr``."""

    def check(self: CostWeightedClassifier) -> bool:
        getattr(self.estimator_ if hasattr(self, "estimator_") else self._estimator(), attr)
        return True

    return check


class CostWeightedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier with sample weights from a cost matrix.

    A missed positive weighs ``fn_cost`` and a false alarm ``fp_cost`` in the training loss
    (weights normalised to mean 1, see :func:`cost_sample_weight`), so the model leans towards
    catching positives when ``fn_cost > fp_cost``. The positive class is ``classes_[1]``.

    Parameters
    ----------
    estimator : estimator object, default=None
        A classifier whose ``fit`` takes ``sample_weight``; ``None`` means
        ``LogisticRegression(max_iter=1000)``. It is cloned.
    fn_cost : float, default=1.0
        Cost of a false negative.
    fp_cost : float, default=1.0
        Cost of a false positive.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    classes_ : ndarray of shape (2,)
        The classes, sorted.
    n_features_in_ : int
        Number of features seen in ``fit`` (when the estimator records it).
    trained_rate_ : float
        The positive share of the weighted training data (its probabilities reflect it;
        :class:`~fnguard.levers.prior.PriorCorrectedPipeline` maps them back).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(500, weights=[0.9], random_state=0)
    >>> plain = LogisticRegression().fit(X, y)
    >>> costly = CostWeightedClassifier(LogisticRegression(), fn_cost=20).fit(X, y)
    >>> bool(costly.predict(X).sum() > plain.predict(X).sum())
    True
    """

    def __init__(self, estimator: Any = None, *, fn_cost: float = 1.0, fp_cost: float = 1.0):
        self.estimator = estimator
        self.fn_cost = fn_cost
        self.fp_cost = fp_cost

    def _estimator(self) -> Any:
        if self.estimator is None:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(max_iter=1000)
        return self.estimator

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **fit_params: Any):
        """Fit a clone of ``estimator`` with cost weights (times ``sample_weight`` if given).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary target.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies the cost weights.
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        estimator = self._estimator()
        if not has_fit_parameter(estimator, "sample_weight"):
            raise DataError(
                f"{type(estimator).__name__}.fit does not take 'sample_weight', so a cost "
                "matrix cannot be applied: use an estimator that does (LogisticRegression, "
                "LGBMClassifier, trees), or a resampling lever instead."
            )
        fn_cost = _check_cost("fn_cost", self.fn_cost)
        fp_cost = _check_cost("fp_cost", self.fp_cost)
        if fn_cost == 0 or fp_cost == 0:
            raise DataError(
                f"'fn_cost' and 'fp_cost' must both be > 0. Got fn_cost={fn_cost:g}, "
                f"fp_cost={fp_cost:g} instead: a zero cost would drop a whole class from training."
            )
        X, y = indexable(X, y)
        y = column_or_1d(y, warn=True)
        classes = _binary_target(y)
        weight = cost_sample_weight(y, fn=fn_cost, fp=fp_cost, pos_label=classes[-1])
        if sample_weight is not None:
            # Renormalise so the weights sum to sum(sample_weight): integer sample weights then
            # act exactly as repeated rows.
            sample_weight = _check_sample_weight(sample_weight, y)
            weight = weight * sample_weight
            total = weight.sum()
            if total > 0:
                weight *= sample_weight.sum() / total
        self.estimator_ = clone(estimator).fit(X, y, sample_weight=weight, **fit_params)
        self.classes_ = self.estimator_.classes_
        from fnguard.levers.prior import _effective_rate

        # the positive share the weighted loss saw, so that build()'s pipeline maps the
        # probabilities back to the true one
        self.trained_rate_ = _effective_rate(self.estimator_, y, weight)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> np.ndarray:
        """Class labels from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the fitted estimator (shifted towards positives by costs)."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self._estimator())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.classifier_tags.multi_class = False
        return tags


# --------------------------------------------------------------------------------------------
# levers
# --------------------------------------------------------------------------------------------
def _search_cost_matrix(trial: Any) -> dict[str, Any]:
    return {"fn_cost": trial.suggest_float("fn_cost", 1.0, 100.0, log=True)}


@register(
    "cost:matrix",
    "cost",
    "classifier",
    "Fits a classifier with sample weights from a cost matrix: a missed positive costs fn_cost.",
    "Large fn_cost floods the model with false alarms and distorts its probabilities; "
    "the estimator must accept sample_weight.",
    search=_search_cost_matrix,
)
def _cost_matrix(**params: Any) -> CostWeightedClassifier:
    return CostWeightedClassifier(**params)


def _search_weighted(trial: Any) -> dict[str, Any]:
    return {
        "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 100.0, log=True),
        "n_estimators": trial.suggest_int("n_estimators", 50, 500, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
    }


@register(
    "lightgbm:weighted",
    "cost",
    "classifier",
    "LightGBM with positives weighted by scale_pos_weight (negatives / positives balances them).",
    "Large weights inflate the predicted probabilities of positives and can overfit the few "
    "positive rows.",
    search=_search_weighted,
)
def _lightgbm_weighted(**params: Any) -> Any:
    from lightgbm import LGBMClassifier

    params.setdefault("verbose", -1)
    params.setdefault("n_jobs", 1)
    if "scale_pos_weight" not in params and "class_weight" not in params:
        params.setdefault("is_unbalance", True)
    return LGBMClassifier(**params)
