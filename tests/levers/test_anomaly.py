"""Tests of fnguard.levers.anomaly: detectors trained on negatives, exposed as classifiers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fnguard.data.datasets import load_caravan
from fnguard.levers import registry
from fnguard.levers.anomaly import IsolationForestClassifier, OneClassSVMClassifier


@parametrize_with_checks([IsolationForestClassifier(n_estimators=20), OneClassSVMClassifier()])
def test_sklearn_compatible(estimator, check) -> None:
    """Check that the anomaly classifiers pass scikit-learn's estimator checks."""
    check(estimator)


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1,500 standardised Caravan negatives, 10 training positives, and 20 planted outliers."""
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    rng = np.random.default_rng(0)
    neg = rng.choice(np.flatnonzero(~data.y), 1500, replace=False)
    pos = rng.choice(np.flatnonzero(data.y), 10, replace=False)
    outliers = X[rng.choice(neg, 20)] + rng.choice([-6.0, 6.0], size=(20, X.shape[1])) * (
        rng.random((20, X.shape[1])) < 0.2
    )
    return np.vstack([X[neg], X[pos]]), np.r_[np.zeros(1500, bool), np.ones(10, bool)], outliers


@pytest.mark.parametrize(
    ("name", "params"),
    [("isolation-forest", {"n_estimators": 100, "random_state": 0}), ("one-class-svm", {})],
)
def test_ranks_planted_outliers_high(name: str, params: dict, planted) -> None:
    """Check that planted outliers score above nearly every held-out negative."""
    X, y, outliers = planted
    train = np.r_[0:1200, 1500:1510]  # 1,200 negatives and the 10 positives
    clf = registry[name].make(**params).fit(X[train], y[train])
    assert list(clf.classes_) == [False, True]
    normal = clf.predict_proba(X[1200:1500])[:, 1]
    odd = clf.predict_proba(outliers)[:, 1]
    # Share of (outlier, negative) pairs ranked the right way: the AUC of outliers vs negatives.
    assert (odd[:, None] > normal[None, :]).mean() > 0.9
    assert clf.predict(outliers).mean() > 2 * clf.predict(X[1200:1500]).mean()
    np.testing.assert_array_equal(clf.predict(outliers), odd > 0.5)


@pytest.mark.parametrize("cls", [IsolationForestClassifier, OneClassSVMClassifier])
def test_fit_uses_only_negatives(cls, planted) -> None:
    """Check that the positive rows do not change the fitted detector."""
    X, y, outliers = planted
    kwargs = {"random_state": 0} if cls is IsolationForestClassifier else {}
    with_pos = cls(**kwargs).fit(X, y)
    without = cls(**kwargs).fit(X[~y], y[~y] | (np.arange((~y).sum()) == 0))
    # Same negatives except one relabelled row; the scores on new rows move only through it.
    X_moved = X.copy()
    X_moved[y] += 100.0  # absurd positives: ignored by fit
    moved = cls(**kwargs).fit(X_moved, y)
    np.testing.assert_allclose(with_pos.decision_function(outliers),
                               moved.decision_function(outliers))
    assert without.classes_.tolist() == [False, True]


def test_needs_both_classes() -> None:
    """Check that one class only is an error: the negatives cannot be told apart."""
    with pytest.raises(ValueError, match="one class only"):
        IsolationForestClassifier().fit(np.zeros((5, 2)), np.zeros(5))
