"""Tests of fnguard.levers.ensembles: balanced ensembles, voting and stacking by name."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.metrics import roc_auc_score

from fnguard.data.datasets import load_caravan
from fnguard.levers import LeverError, registry

SMALL = {
    "easy-ensemble": {"n_estimators": 5},
    "balanced-random-forest": {"n_estimators": 30},
    "balanced-bagging": {"n_estimators": 10},
    "rusboost": {"n_estimators": 20},
    "voting": {"estimators": ["logistic", "tree"]},
    "stacking": {"estimators": "logistic+lightgbm", "params": {"lightgbm": {"n_estimators": 20}},
                 "cv": 3},
}


@pytest.fixture(scope="module")
def caravan() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Caravan customers, standardised: 2,000 rows to train, 1,500 to test."""
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    rows = np.random.default_rng(1).permutation(data.n_rows)
    train, test = rows[:2000], rows[2000:3500]
    return X[train], data.y[train], X[test], data.y[test]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_ensemble_fits_and_ranks(name: str, caravan) -> None:
    """Check that each ensemble fits, gives probabilities in [0, 1] and ranks above chance."""
    X, y, X_test, y_test = caravan
    model = registry[name].make(**SMALL[name])
    assert registry[name].family == "ensemble"
    model.set_params(**{k: 0 for k, v in model.get_params().items()
                        if k.endswith("random_state") and v is None})
    proba = model.fit(X, y).predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert roc_auc_score(y_test, proba[:, 1]) > 0.6


@pytest.mark.parametrize("name", ["easy-ensemble", "balanced-random-forest", "balanced-bagging"])
def test_balanced_ensembles_flag_more_than_plain_trees(name: str, caravan) -> None:
    """Check that balancing each member flags far more positives than a plain forest."""
    X, y, X_test, _ = caravan
    plain = registry["random-forest"].make(n_estimators=30, random_state=0)
    balanced = registry[name].make(**SMALL[name], random_state=0)
    assert balanced.fit(X, y).predict(X_test).sum() > 3 * max(
        plain.fit(X, y).predict(X_test).sum(), 1
    )


def test_voting_builds_members_from_registry(caravan) -> None:
    """Check that voting averages the members' probabilities, built by name with params."""
    X, y, X_test, _ = caravan
    vote = registry["voting"].make(
        estimators="logistic+tree", params={"tree": {"max_depth": 3, "random_state": 0}}
    )
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert [n for n, _ in vote.estimators] == ["logistic", "tree"]
    assert vote.estimators[1][1].max_depth == 3
    vote.fit(X, y)
    members = [m.predict_proba(X_test)[:, 1] for m in vote.estimators_]
    np.testing.assert_allclose(vote.predict_proba(X_test)[:, 1], np.mean(members, axis=0))


def test_stacking_defaults() -> None:
    """Check that stacking combines three default members with a logistic regression."""
    stack = registry["stacking"].make()
    assert isinstance(stack, StackingClassifier)
    assert [n for n, _ in stack.estimators] == ["logistic", "random-forest", "lightgbm"]
    assert type(stack.final_estimator).__name__ == "LogisticRegression"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"estimators": ["logistic"]}, "at least two classifiers"),
        ({"estimators": ["logistic", "logistic"]}, "named twice"),
        ({"estimators": ["logistic", "lgbm"]}, "There is no lever 'lgbm'"),
        ({"estimators": ["logistic", "pca"]}, "not a classifier"),
        ({"estimators": ["logistic", "voting"]}, "not a classifier"),
        ({"estimators": ["logistic", "tree"], "params": {"knn": {}}}, "not among"),
    ],
)
def test_bad_members(kwargs: dict, match: str) -> None:
    """Check that bad member lists are LeverErrors that say what to name."""
    with pytest.raises(LeverError, match=match):
        registry["voting"].make(**kwargs)
