"""Tests of fnguard.levers.algorithms: each classifier fitted on real data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fnguard.data.datasets import load_caravan
from fnguard.levers import algorithms, registry

NAMES = [lv.name for lv in registry.values() if lv.factory.__module__ == algorithms.__name__]
SMALL = {
    "random-forest": {"n_estimators": 30},
    "extra-trees": {"n_estimators": 30},
    "lightgbm": {"n_estimators": 30},
    "hist-gb": {"max_iter": 30},
}


@pytest.fixture(scope="module")
def caravan() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Caravan customers, standardised: 2,000 rows to train, 1,500 to test."""
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    rows = np.random.default_rng(0).permutation(data.n_rows)
    train, test = rows[:2000], rows[2000:3500]
    return X[train], data.y[train], X[test], data.y[test]


def test_all_algorithms_are_here() -> None:
    """Check that the module registers the seven algorithms of the catalogue."""
    assert sorted(NAMES) == sorted(
        ["logistic", "tree", "random-forest", "extra-trees", "hist-gb", "lightgbm", "knn"]
    )


@pytest.mark.parametrize("name", NAMES)
def test_fits_and_ranks(name: str, caravan) -> None:
    """Check that each classifier fits, gives probabilities in [0, 1] and ranks above chance."""
    X, y, X_test, y_test = caravan
    model = registry[name].make(**SMALL.get(name, {}))
    if "random_state" in model.get_params():
        model.set_params(random_state=0)
    proba = model.fit(X, y).predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(1), 1)
    assert roc_auc_score(y_test, proba[:, 1]) > 0.55


@pytest.mark.parametrize("name", ["logistic", "tree", "lightgbm", "hist-gb", "random-forest"])
def test_balanced_class_weight_flags_more_positives(name: str, caravan) -> None:
    """Check that class_weight="balanced" flags more positives than the unweighted model."""
    X, y, X_test, _ = caravan
    params = {**SMALL.get(name, {}), "random_state": 0}
    if name in ("tree", "random-forest"):
        params["max_depth"] = 4
    plain = registry[name].make(**params).fit(X, y).predict(X_test)
    weighted = registry[name].make(class_weight="balanced", **params).fit(X, y).predict(X_test)
    assert weighted.sum() > 2 * max(plain.sum(), 1)
