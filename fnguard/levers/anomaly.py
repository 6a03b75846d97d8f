"""Anomaly-detection levers for extreme imbalance: learn the negatives, flag what is unlike them.

With fewer than about 20 positives a classifier has too little to learn the positive class
from. These classifiers fit a detector on the **negative** rows only and score a row by how
anomalous it is; the positive score is the anomaly score. They keep the scikit-learn
classifier contract (``fit(X, y)``, ``classes_``, ``predict_proba``, ``decision_function``)
so they sit in a pipeline, a threshold tuner or a search like any other classifier.
``classes_[1]`` (the larger label once sorted, e.g. ``True`` or ``1``) is the positive class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from fnguard.levers.registry import register

__all__ = ["IsolationForestClassifier", "OneClassSVMClassifier"]


class _AnomalyClassifier(ClassifierMixin, BaseEstimator):
    """Shared fitting and scoring; subclasses say which detector :meth:`_detector` builds."""

    def _detector(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: Any, y: Any) -> _AnomalyClassifier:
        """Fit the detector on the rows of the negative class ``classes_[0]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (numeric).
        y : array-like of shape (n_samples,)
            Binary labels; the positive rows are left out of the fit.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported. The type of the target is "
                f"{y_type}."
            )
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError(
                f"{type(self).__name__} needs both classes in y to know which rows are the "
                f"negatives; got one class only ({self.classes_[0]!r})."
            )
        negatives = X[y == self.classes_[0]]
        self.detector_ = clone(self._detector()).fit(negatives)
        train = -self.detector_.decision_function(negatives)
        # Scale of the logistic map from anomaly score to probability: the spread of the
        # negatives' scores, so probabilities are comparable across detectors and data.
        spread = float(np.std(train))
        self.scale_ = spread if np.isfinite(spread) and spread > 0 else 1.0
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The anomaly score: above 0 means more anomalous than the detector's boundary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Higher means more likely ``classes_[1]``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return -np.asarray(self.detector_.decision_function(X), dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability-like scores: a logistic map of :meth:`decision_function`.

        Monotone in the anomaly score and 0.5 at the detector's boundary; not a calibrated
        probability (calibrate it with :mod:`fnguard.decide` when one is needed).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        z = np.clip(self.decision_function(X) / self.scale_, -500, 500)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the anomaly score is above 0, else ``classes_[0]``."""
        flagged = self.decision_function(X) > 0
        return self.classes_[flagged.astype(int)]


class IsolationForestClassifier(_AnomalyClassifier):
    """Isolation forest fitted on the negatives; a row's positive score is its anomaly score.

    Rows that random splits isolate in few steps are unlike the negatives. The boundary
    (``decision_function == 0``) is the detector's: with ``contamination="auto"`` the
    original paper's score of 0.5, otherwise the share of training negatives flagged.

    Parameters
    ----------
    n_estimators : int, default=200
        Number of isolation trees.
    max_samples : int, float or "auto", default="auto"
        Rows drawn to grow each tree.
    contamination : "auto" or float, default="auto"
        Share of training negatives that fall above the boundary.
    max_features : int or float, default=1.0
        Features drawn for each tree.
    random_state : int, RandomState instance or None, default=None
        Seed of the trees.

    Attributes
    ----------
    detector_ : IsolationForest
        The fitted detector.
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is the positive (anomalous) class.
    scale_ : float
        Spread of the negatives' anomaly scores, used by :meth:`predict_proba`.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(300, 2)), [[6.0, 6.0], [-6.0, 6.0]]])
    >>> y = np.r_[np.zeros(300), 1, 1]
    >>> clf = IsolationForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> clf.predict([[0.0, 0.0], [7.0, -7.0]]).tolist()
    [0.0, 1.0]
    """

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        contamination: float | str = "auto",
        max_features: int | float = 1.0,
        random_state: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.random_state = random_state

    def _detector(self) -> Any:
        from sklearn.ensemble import IsolationForest

        return IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            contamination=self.contamination,
            max_features=self.max_features,
            random_state=self.random_state,
        )


class OneClassSVMClassifier(_AnomalyClassifier):
    """One-class SVM fitted on the negatives; a row's positive score is its distance outside.

    The support of the negatives is learnt with an RBF kernel; rows outside it score above
    0. Features should be on comparable scales (put a scaler before it); fitting is
    quadratic in the number of negatives, so subsample above a few tens of thousands.

    Parameters
    ----------
    nu : float, default=0.05
        Upper bound on the share of training negatives outside the boundary.
    kernel : str, default="rbf"
        Kernel of the SVM.
    gamma : "scale", "auto" or float, default="scale"
        Kernel width.

    Attributes
    ----------
    detector_ : OneClassSVM
        The fitted detector.
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is the positive (anomalous) class.
    scale_ : float
        Spread of the negatives' anomaly scores, used by :meth:`predict_proba`.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(300, 2)), [[6.0, 6.0]]])
    >>> y = np.r_[np.zeros(300), 1]
    >>> clf = OneClassSVMClassifier().fit(X, y)
    >>> clf.predict([[0.0, 0.0], [7.0, -7.0]]).tolist()
    [0.0, 1.0]
    """

    def __init__(
        self, nu: float = 0.05, kernel: str = "rbf", gamma: float | str = "scale"
    ) -> None:
        self.nu = nu
        self.kernel = kernel
        self.gamma = gamma

    def _detector(self) -> Any:
        from sklearn.svm import OneClassSVM

        return OneClassSVM(nu=self.nu, kernel=self.kernel, gamma=self.gamma)


def _forest_space(trial: Any) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, log=True),
        "max_features": trial.suggest_float("max_features", 0.5, 1.0),
    }


@register(
    "isolation-forest",
    "algorithm",
    "classifier",
    "Isolation forest on the negatives only: flags rows unlike them (fewer than ~20 positives).",
    "Positives that look like negatives are never flagged; odd negatives become false alarms.",
    search=_forest_space,
)
def _isolation_forest(**params: Any) -> IsolationForestClassifier:
    return IsolationForestClassifier(**params)


def _svm_space(trial: Any) -> dict[str, Any]:
    return {
        "nu": trial.suggest_float("nu", 0.01, 0.2, log=True),
        "gamma": trial.suggest_float("gamma", 1e-4, 1.0, log=True),
    }


@register(
    "one-class-svm",
    "algorithm",
    "classifier",
    "One-class SVM on the negatives only: flags rows outside their support (few positives).",
    "Sensitive to feature scale and kernel width; slow beyond tens of thousands of rows.",
    search=_svm_space,
)
def _one_class_svm(**params: Any) -> OneClassSVMClassifier:
    return OneClassSVMClassifier(**params)
