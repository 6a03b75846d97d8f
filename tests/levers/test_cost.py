"""Tests of fnguard.levers.cost: cost-matrix weights and focal loss for LightGBM."""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from fnguard.data.datasets import load_caravan
from fnguard.errors import DataError
from fnguard.levers.cost import CostWeightedClassifier, cost_sample_weight
from fnguard.levers.focal import (
    FocalLGBMClassifier,
    focal_gradient_hessian,
    focal_loss,
    focal_objective,
)
from fnguard.levers.registry import registry

GAMMAS = [0.0, 0.5, 2.0, 5.0]
ALPHAS = [None, 0.25]


@pytest.fixture(scope="module")
def caravan_split():
    data = load_caravan()
    X, y = data.X.astype(float).to_numpy(), np.asarray(data.y)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def _points(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n).astype(float), rng.uniform(-8, 8, n)


def _lin_focal(y: np.ndarray, z: np.ndarray, gamma: float, alpha: float | None) -> np.ndarray:
    """The closed form of Lin et al. (2017), eq. 5, written from probabilities."""
    p = 1.0 / (1.0 + np.exp(-z))
    p_t = np.where(y == 1, p, 1.0 - p)
    alpha_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    return -alpha_t * (1.0 - p_t) ** gamma * np.log(p_t)


# -------------------------------------------------------------------------- focal loss


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_focal_loss_matches_lin_et_al(gamma: float, alpha: float | None) -> None:
    """Check that focal_loss equals -alpha_t (1 - p_t)^gamma log(p_t) computed independently."""
    y, z = _points()
    assert np.allclose(focal_loss(y, z, gamma, alpha), _lin_focal(y, z, gamma, alpha), rtol=1e-9)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_gradient_and_hessian_match_finite_differences(gamma: float, alpha: float | None) -> None:
    """Check that the exact gradient and hessian equal central differences of focal_loss."""
    y, z = _points(seed=1)
    h = 1e-4
    grad, hess = focal_gradient_hessian(y, z, gamma, alpha)
    num_grad = (focal_loss(y, z + h, gamma, alpha) - focal_loss(y, z - h, gamma, alpha)) / (2 * h)
    g_plus, _ = focal_gradient_hessian(y, z + h, gamma, alpha)
    g_minus, _ = focal_gradient_hessian(y, z - h, gamma, alpha)
    num_hess_from_grad = (g_plus - g_minus) / (2 * h)
    num_hess = (
        focal_loss(y, z + h, gamma, alpha)
        - 2 * focal_loss(y, z, gamma, alpha)
        + focal_loss(y, z - h, gamma, alpha)
    ) / h**2
    assert np.allclose(grad, num_grad, rtol=1e-6, atol=1e-8)
    assert np.allclose(hess, num_hess_from_grad, rtol=1e-6, atol=1e-8)
    assert np.allclose(hess, num_hess, rtol=1e-3, atol=1e-5)


def test_gamma_zero_is_logistic_loss() -> None:
    """Check that gamma=0, alpha=None gives grad p - y and hess p (1 - p)."""
    y, z = _points(seed=2)
    p = 1.0 / (1.0 + np.exp(-z))
    grad, hess = focal_gradient_hessian(y, z, 0.0, None)
    assert np.allclose(grad, p - y, rtol=1e-12, atol=1e-15)
    assert np.allclose(hess, p * (1 - p), rtol=1e-12, atol=1e-15)
    assert np.allclose(focal_loss(y, z, 0.0, None), -(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_exact_hessian_negative_and_clipped_one_positive() -> None:
    """Check that the exact hessian goes negative on misclassified rows and the clip lifts it."""
    y = np.array([1.0, 1.0, 0.0, 0.0])
    z = np.array([-5.0, 5.0, 5.0, -5.0])  # wrong, right, wrong, right
    _, exact = focal_gradient_hessian(y, z, 2.0, None)
    assert exact[0] < 0 and exact[2] < 0 and exact[1] > 0 and exact[3] > 0


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_clipped_hessian(gamma: float, alpha: float | None) -> None:
    """Check that the clipped hessian is max(exact, alpha_t q^(gamma+1) p_t) and positive."""
    y, z = _points(seed=4)
    grad, exact = focal_gradient_hessian(y, z, gamma, alpha)
    grad_c, clipped = focal_gradient_hessian(y, z, gamma, alpha, clip=True)
    p = 1.0 / (1.0 + np.exp(-z))
    p_t = np.where(y == 1, p, 1 - p)
    alpha_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
    assert np.array_equal(grad_c, grad)
    assert np.allclose(clipped, np.maximum(exact, alpha_t * p_t * (1 - p_t) ** (gamma + 1)))
    assert (clipped > 0).all()
    easy = p_t > 0.5
    assert np.array_equal(clipped[easy], exact[easy])  # only hard rows are changed


def test_gamma_zero_focal_lightgbm_matches_logistic() -> None:
    """Check that FocalLGBMClassifier with gamma=0, alpha=None reproduces LightGBM's binary."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + rng.normal(size=600) > 1).astype(int)
    kw = dict(n_estimators=20, random_state=0, n_jobs=1)
    focal = FocalLGBMClassifier(0.0, None, **kw).fit(X, y)
    plain = LGBMClassifier(verbose=-1, **kw).fit(X, y)
    assert np.allclose(focal.predict_proba(X), plain.predict_proba(X), atol=1e-6)


def test_focal_objective_applies_weights_and_sees_init_score() -> None:
    """Check that the LightGBM objective multiplies by Dataset weights at the given scores."""
    y, z = _points(50, seed=3)
    weight = np.random.default_rng(3).uniform(0.5, 2.0, 50)
    train = lgb.Dataset(np.zeros((50, 1)), y, weight=weight)
    grad, hess = focal_objective(2.0, 0.25)(z, train)
    exact_grad, exact_hess = focal_gradient_hessian(y, z, 2.0, 0.25, clip=True)
    assert np.allclose(grad, exact_grad * weight)
    assert np.allclose(hess, exact_hess * weight)


def test_focal_lightgbm_on_caravan_is_comparable(caravan_split) -> None:
    """Check that focal LightGBM reaches a PR-AUC near plain LightGBM's on Caravan."""
    X_train, X_test, y_train, y_test = caravan_split
    kw = dict(n_estimators=100, learning_rate=0.05, random_state=0, n_jobs=1)
    plain = LGBMClassifier(verbose=-1, **kw).fit(X_train, y_train)
    focal = FocalLGBMClassifier(2.0, 0.25, **kw).fit(X_train, y_train)
    ap_plain = average_precision_score(y_test, plain.predict_proba(X_test)[:, 1])
    ap_focal = average_precision_score(y_test, focal.predict_proba(X_test)[:, 1])
    prior = y_test.mean()
    assert ap_focal > 1.5 * prior  # clearly better than chance ...
    assert ap_focal > 0.6 * ap_plain  # ... and in the range of the logistic objective
    assert focal.init_score_ == pytest.approx(np.log(y_train.mean() / (1 - y_train.mean())))


def test_focal_lightgbm_sample_weight_and_labels() -> None:
    """Check that string labels round-trip and zero weights remove rows."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] > 0.5, "yes", "no")
    model = FocalLGBMClassifier(n_estimators=10, n_jobs=1, random_state=0).fit(X, y)
    assert set(model.predict(X)) <= {"no", "yes"} and list(model.classes_) == ["no", "yes"]
    weight = np.ones(300)
    weight[:100] = 0
    a = FocalLGBMClassifier(n_estimators=10, n_jobs=1, min_child_samples=5).fit(
        X, y, sample_weight=weight
    )
    b = FocalLGBMClassifier(n_estimators=10, n_jobs=1, min_child_samples=5).fit(X[100:], y[100:])
    assert a.init_score_ == pytest.approx(b.init_score_)


# -------------------------------------------------------------------------- cost weights


def test_cost_sample_weight_values() -> None:
    """Check that positives weigh fn - tp, negatives fp - tn, normalised to mean 1."""
    y = np.array([0, 0, 0, 1, 1])
    w = cost_sample_weight(y, fn=10, fp=2, tp=1, tn=1)
    raw = np.array([1, 1, 1, 9, 9], dtype=float)
    assert np.allclose(w, raw / raw.mean())
    assert w.mean() == pytest.approx(1.0)
    labels = np.array(["No", "Yes", "No"])
    assert np.allclose(cost_sample_weight(labels, fn=4), np.array([1, 4, 1]) / 2)
    assert np.allclose(cost_sample_weight(labels, fn=4, pos_label="No"), np.array([4, 1, 4]) / 3)


class _RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Records the sample weights its fit receives."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.sample_weight_ = sample_weight
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_cost_weighted_classifier_passes_weights() -> None:
    """Check that the inner estimator receives the cost weights, times any sample_weight
    (rescaled to the sum of sample_weight, so integer weights act as repeated rows)."""
    X = np.arange(8.0).reshape(-1, 1)
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    model = CostWeightedClassifier(_RecordingClassifier(), fn_cost=50, fp_cost=1).fit(X, y)
    assert np.allclose(model.estimator_.sample_weight_, cost_sample_weight(y, fn=50, fp=1))
    extra = np.linspace(1, 2, 8)
    model.fit(X, y, sample_weight=extra)
    expected = cost_sample_weight(y, fn=50) * extra
    assert np.allclose(model.estimator_.sample_weight_, expected * extra.sum() / expected.sum())


def test_cost_weighted_logistic_flags_more_positives(caravan_split) -> None:
    """Check that fn=50 makes a logistic regression flag more positives on Caravan."""
    X_train, X_test, y_train, _ = caravan_split
    plain = CostWeightedClassifier(LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    costly = CostWeightedClassifier(LogisticRegression(max_iter=2000), fn_cost=50)
    costly.fit(X_train, y_train)
    assert costly.predict(X_test).sum() > 5 * max(plain.predict(X_test).sum(), 1)


# -------------------------------------------------------------------------- bad input

BAD_INPUT = [
    (lambda: focal_loss([1, 0], [0.0, 0.0], gamma=-1), DataError, "'gamma' must be"),
    (lambda: focal_loss([1, 0], [0.0, 0.0], alpha=1.5), DataError, "'alpha' must be"),
    (lambda: focal_loss([1, 2], [0.0, 0.0]), DataError, "0/1"),
    (lambda: focal_loss([1, 0], [0.0]), DataError, "same shape"),
    (lambda: focal_objective(gamma=-2.0), DataError, "'gamma' must be"),
    (
        lambda: FocalLGBMClassifier(gamma=-0.5).fit(np.eye(4), [0, 1, 0, 1]),
        DataError,
        "'gamma' must be a finite number >= 0. Got -0.5",
    ),
    (
        lambda: FocalLGBMClassifier().fit(np.eye(3), [0, 1, 2]),
        ValueError,
        "Only binary classification is supported",
    ),
    (lambda: cost_sample_weight([0, 1], fn=-1), DataError, "'fn' must be a finite number >= 0"),
    (lambda: cost_sample_weight([0, 1], fn=1, tp=2), DataError, "fn > tp and fp > tn"),
    (lambda: cost_sample_weight([0, 1, 2]), DataError, "binary target"),
    (lambda: cost_sample_weight([0, 1], pos_label=5), DataError, "not a label"),
    (
        lambda: CostWeightedClassifier(KNeighborsClassifier()).fit(np.eye(4), [0, 1, 0, 1]),
        DataError,
        "does not take 'sample_weight'",
    ),
    (
        lambda: CostWeightedClassifier(fn_cost=0).fit(np.eye(4), [0, 1, 0, 1]),
        DataError,
        "must both be > 0",
    ),
]


@pytest.mark.parametrize("call, error, match", BAD_INPUT)
def test_bad_input(call: Callable[[], object], error: type[Exception], match: str) -> None:
    """Check that bad input raises an error that names the rule and the value."""
    with pytest.raises(error, match=match):
        call()


# -------------------------------------------------------------------------- levers


def test_levers_registered() -> None:
    """Check that the cost levers are registered, build, and draw from their search spaces."""
    import optuna

    for name, cls in [
        ("cost:matrix", CostWeightedClassifier),
        ("lightgbm:focal", FocalLGBMClassifier),
        ("lightgbm:weighted", LGBMClassifier),
    ]:
        lever = registry[name]
        assert lever.family == "cost" and lever.kind == "classifier"
        trial = optuna.trial.FixedTrial(
            {
                "fn_cost": 10.0,
                "gamma": 2.0,
                "alpha": 0.25,
                "n_estimators": 100,
                "learning_rate": 0.1,
                "num_leaves": 31,
                "min_child_samples": 20,
                "scale_pos_weight": 10.0,
            }
        )
        assert isinstance(lever.make(**lever.space(trial)), cls)
    assert "gamma too high" in registry["lightgbm:focal"].risk


# LightGBM's own LGBMClassifier fails this check too.
LIGHTGBM_WEIGHTS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "LightGBM counts rows, not weights, for min_child_samples and bins features on the rows "
        "it is given, so weighted rows and repeated rows grow different trees"
    ),
}


@parametrize_with_checks(
    [
        CostWeightedClassifier(LogisticRegression(), fn_cost=5.0),
        CostWeightedClassifier(DecisionTreeClassifier(random_state=0)),
        FocalLGBMClassifier(n_estimators=10, min_child_samples=5, n_jobs=1, random_state=0),
    ],
    expected_failed_checks=lambda est: (
        LIGHTGBM_WEIGHTS if isinstance(est, FocalLGBMClassifier) else {}
    ),
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    """Check that the cost estimators pass scikit-learn's estimator checks."""
    check(estimator)

def test_focal_takes_a_random_state_instance() -> None:
    """Check that a RandomState seeds the focal LightGBM, as scikit-learn's estimators allow."""
    from sklearn.datasets import make_classification

    from fnguard.levers.focal import FocalLGBMClassifier

    X, y = make_classification(300, weights=[0.9], random_state=0)
    a = FocalLGBMClassifier(n_estimators=10, n_jobs=1, random_state=np.random.RandomState(3))
    b = FocalLGBMClassifier(n_estimators=10, n_jobs=1, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X))
