"""A scikit-learn meta-classifier whose probabilities are calibrated by cross-fitting."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.utils import get_tags, indexable
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from fnguard.decide.calibration import Calibrator, _check_method
from fnguard.errors import DataError


class CalibratedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A binary classifier whose ``predict_proba`` is calibrated on out-of-fold scores.

    With ``cv`` folds, clones of ``estimator`` score each fold while trained on the others;
    those honest scores fit the calibrator, and the estimator is then refitted on all the
    data. With ``cv="prefit"`` the given, already fitted estimator is calibrated on the data
    passed to ``fit`` (which must not be its training data).

    Parameters
    ----------
    estimator : classifier
        A binary scikit-learn classifier with ``predict_proba`` or ``decision_function``.
    method : {"temperature", "platt", "beta", "isotonic"}, default="temperature"
        The calibration map.
    cv : int, cross-validation generator, iterable or "prefit", default=5
        Folds of the cross-fitting, as in ``sklearn.model_selection.check_cv`` (stratified
        for classifiers), or ``"prefit"``.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        Which scores of ``estimator`` to calibrate; ``"auto"`` uses ``predict_proba`` when
        it exists (read as probabilities), else ``decision_function`` (read as logits).

    Attributes
    ----------
    estimator_ : classifier
        The estimator refitted on all data (or ``estimator`` itself with ``cv="prefit"``).
    calibrator_ : Calibrator
        The fitted map from the estimator's scores to probabilities.
    classes_ : ndarray of shape (2,)
        The class labels; the second is the positive class.
    n_features_in_ : int
        Number of features seen during fit (when the estimator records it).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = CalibratedClassifier(GaussianNB(), method="platt").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.classes_.tolist()
    ((2, 2), [0, 1])
    """

    def __init__(
        self,
        estimator: Any,
        method: str = "temperature",
        *,
        cv: Any = 5,
        response_method: str = "auto",
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.response_method = response_method

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = get_tags(self.estimator).input_tags.sparse
        return tags

    def _response_method(self) -> str:
        choices = ("auto", "predict_proba", "decision_function")
        if self.response_method not in choices:
            raise ValueError(
                f"'response_method' must be one of {choices}. Got {self.response_method!r}."
            )
        if self.response_method != "auto":
            return self.response_method
        for name in ("predict_proba", "decision_function"):
            if hasattr(self.estimator, name):
                return name
        raise ValueError(
            f"{type(self.estimator).__name__} has neither predict_proba nor "
            "decision_function: pass a classifier that scores its predictions."
        )

    def fit(self, X: Any, y: Any, **fit_params: Any) -> CalibratedClassifier:
        """Cross-fit the calibrator, then refit the estimator on all data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Binary labels.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        CalibratedClassifier
            ``self``, fitted.
        """
        _check_method(self.method)
        X, y = indexable(X, y)
        y_type = type_of_target(y, input_name="y")
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. Unknown label type: {y_type}. "
                "Map the target to two classes."
            )
        if "sample_weight" in fit_params:
            raise ValueError(
                "CalibratedClassifier does not take sample_weight: its folds and calibrator "
                "count every row once. Weight the classes inside the estimator instead "
                "(class_weight=...), and undo the shift with fnguard.decide.correct_prior."
            )
        y = column_or_1d(y, warn=True)
        if y.size == 0:
            raise DataError("'y' is empty: pass at least one labelled row of each class.")
        classes = np.unique(y)
        if classes.size < 2:
            raise DataError(
                f"'y' holds only one class ({classes[0]!r}): a calibrated classifier needs "
                "both classes; pass labelled rows of each."
            )
        response = self._response_method()
        if self.cv == "prefit":
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            scores = self._scores(self.estimator_, response, X)
        else:
            cv = check_cv(self.cv, y, classifier=True)
            scores = cross_val_predict(
                clone(self.estimator), X, y, cv=cv, method=response, params=fit_params
            )
            if scores.ndim == 2:
                scores = scores[:, 1]
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        self.calibrator_ = Calibrator(
            self.method,
            input="probability" if response == "predict_proba" else "logit",
            positive=True,
        ).fit(scores, y == self.classes_[1])
        self.response_method_ = response
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        return self

    @staticmethod
    def _scores(estimator: Any, response: str, X: Any) -> np.ndarray:
        scores = getattr(estimator, response)(X)
        return scores[:, 1] if scores.ndim == 2 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities ``[1 - p, p]`` of the two classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self, "calibrator_")
        p = self.calibrator_.transform(self._scores(self.estimator_, self.response_method_, X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The positive class where the calibrated probability is at least 0.5.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= 0.5).astype(np.intp)]
