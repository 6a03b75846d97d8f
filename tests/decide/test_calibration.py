"""Tests for fnguard.decide.calibration: calibrators, the calibrated classifier, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from fnguard.decide.calibrated import CalibratedClassifier
from fnguard.decide.calibration import (
    METHODS,
    Calibrator,
    calibrate,
    calibration_report,
)
from fnguard.errors import ArtifactError, DataError
from fnguard.metrics import brier_score, confusion_curve, log_loss, reliability, saturation


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small matrices: BLAS threads only add overhead, worse under pytest-xdist."""
    with threadpool_limits(1):
        yield


def _nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.where(y == 1, np.log(p), np.log1p(-p))))


def _ece(y, p) -> float:
    return reliability(confusion_curve(y, p)).ece


def _overconfident(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A network-like model: informative logits fifty times too large, then a sigmoid."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 3.0, n)
    y = (rng.random(n) < expit(true_logit)).astype(int)
    return 50.0 * true_logit, expit(50.0 * true_logit), y


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    return load_breast_cancer(return_X_y=True)


def test_temperature_unsaturates_an_overconfident_model():
    """Check that temperature on saturated probabilities makes the threshold a lever again."""
    _, p, y = _overconfident()
    assert np.mean((p == 1.0) | (p < 1e-12)) > 0.8  # prints 1.0 and 1e-15: saturated
    fit, test = slice(0, 3000), slice(3000, None)
    cal = calibrate(p[fit], y[fit], "temperature")
    after = cal.transform(p[test])
    sat_before = saturation(confusion_curve(y[test], p[test]))
    sat_after = saturation(confusion_curve(y[test], after))
    assert sat_before.saturated and not sat_after.saturated
    assert sat_after.flip_fraction > 0.5 > 0.05 > sat_before.flip_fraction
    assert _ece(y[test], after) < 0.25 * _ece(y[test], p[test])
    assert cal.input_ == "probability" and cal.temperature_ > 5


def test_temperature_minimises_the_negative_log_likelihood():
    """Check that moving the fitted temperature by 1% either way raises the NLL."""
    z, _, y = _overconfident(2000, seed=1)
    z = z / 40  # unclipped logits, temperature near 1.25
    cal = calibrate(z, y, "temperature")
    assert cal.input_ == "logit"
    best = _nll(expit(z / cal.temperature_), y)
    for factor in (0.99, 1.01):
        assert _nll(expit(z / (cal.temperature_ * factor)), y) > best
    np.testing.assert_allclose(cal.transform(z), expit(z / cal.temperature_))


@pytest.mark.parametrize("input", ["logit", "probability"])
def test_platt_matches_logistic_regression_on_the_logit(input):
    """Check that Platt scaling gives scikit-learn's unpenalised logistic regression on z."""
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2, 3000)
    y = (rng.random(3000) < expit(0.6 * z - 0.8)).astype(int)
    scores = z if input == "logit" else expit(z)
    cal = calibrate(scores, y, "platt", input=input)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(z[:, None], y)
    np.testing.assert_allclose(cal.coef_, ref.coef_[0, 0], rtol=1e-4)
    np.testing.assert_allclose(cal.intercept_, ref.intercept_[0], rtol=1e-4)
    np.testing.assert_allclose(
        cal.transform(scores), ref.predict_proba(z[:, None])[:, 1], atol=1e-6
    )


@pytest.mark.parametrize("input", ["logit", "probability"])
def test_isotonic_matches_scikit_learn(input):
    """Check that isotonic calibration predicts as IsotonicRegression, out-of-range clipped."""
    rng = np.random.default_rng(3)
    s = rng.random(500) if input == "probability" else rng.normal(0, 3, 500)
    y = (rng.random(500) < np.clip(s, 0.05, 0.95)).astype(int)
    cal = calibrate(s, y, "isotonic", input=input)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    new = (
        np.concatenate([rng.random(200), [0.0, 1.0]])
        if input == "probability"
        else np.linspace(-20, 20, 300)
    )
    np.testing.assert_allclose(cal.transform(new), ref.predict(new), rtol=0, atol=1e-12)


def test_beta_fixes_skewed_probabilities():
    """Check that beta calibration repairs probabilities cubed, where temperature cannot."""
    rng = np.random.default_rng(4)
    q = rng.random(8000)
    y = (rng.random(8000) < q).astype(int)
    p = q**3
    fit, test = slice(0, 4000), slice(4000, None)
    beta = calibrate(p[fit], y[fit], "beta")
    temp = calibrate(p[fit], y[fit], "temperature")
    ece_before = _ece(y[test], p[test])
    ece_beta = _ece(y[test], beta.transform(p[test]))
    assert ece_beta < 0.2 * ece_before
    assert ece_beta < _ece(y[test], temp.transform(p[test]))
    assert np.all(beta.coef_ >= 0)


def test_beta_refits_without_a_negative_coefficient():
    """Check that a negative coefficient on ln p is dropped and the rest refitted (Kull et al.)."""
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.99, 5000)
    # The true map puts a negative weight on ln p: beta calibration must keep a = 0.
    y = (rng.random(5000) < expit(-0.7 * np.log(p) - 3.0 * np.log1p(-p) - 1.0)).astype(int)
    cal = calibrate(p, y, "beta")
    feature = -np.log1p(-p)[:, None]
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(feature, y)
    assert cal.coef_[0] == 0.0
    np.testing.assert_allclose(cal.coef_[1], ref.coef_[0, 0], rtol=1e-4)
    np.testing.assert_allclose(cal.intercept_, ref.intercept_[0], rtol=1e-4)


def test_beta_on_anti_informative_scores_predicts_the_base_rate():
    """Check that scores ranking the wrong way get a flat map at the positive rate."""
    rng = np.random.default_rng(6)
    p = rng.uniform(0.01, 0.99, 2000)
    y = (rng.random(2000) < 1 - p).astype(int)
    cal = calibrate(p, y, "beta")
    np.testing.assert_array_equal(cal.coef_, [0.0, 0.0])
    np.testing.assert_allclose(cal.transform(p[:5]), np.full(5, y.mean()))


@pytest.fixture(scope="module")
def naive_bayes_oof(cancer):
    """Out-of-fold GaussianNB probabilities on breast cancer: over-confident."""
    X, y = cancer
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(GaussianNB(), X, y, cv=cv, method="predict_proba")[:, 1]
    return cv, p


@pytest.mark.parametrize("method", METHODS)
def test_every_method_reduces_ece_of_naive_bayes(cancer, naive_bayes_oof, method):
    """Check that each cross-fitted calibrator lowers GaussianNB's ECE, Brier and log-loss."""
    X, y = cancer
    cv, before = naive_bayes_oof
    model = CalibratedClassifier(GaussianNB(), method)
    after = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    # Measured: ECE 0.039 -> 0.015 (beta) to 0.026 (platt); log-loss 0.60 -> 0.15 to 0.21.
    report = calibration_report(y, before, after)
    assert report["after"]["ece"] < 0.8 * report["before"]["ece"]
    assert report["after"]["brier"] < report["before"]["brier"]
    assert report["after"]["log_loss"] < 0.5 * report["before"]["log_loss"]


@pytest.mark.parametrize("method", METHODS)
def test_calibrator_round_trips_through_json(method):
    """Check that to_dict/from_dict through JSON gives the same probabilities."""
    _, p, y = _overconfident(600, seed=7)
    cal = calibrate(p, y, method)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back.method == method and back.input_ == "probability"
    np.testing.assert_array_equal(back.transform(p), cal.transform(p))
    out = cal.transform(p)
    assert out.min() >= 0 and out.max() <= 1


def test_auto_input_reads_probabilities_and_logits():
    """Check that 'auto' reads [0, 1] scores as probabilities, others as logits, consistently."""
    z, _, y = _overconfident(2000, seed=8)
    z = z / 40
    from_logit = calibrate(z, y)
    from_prob = calibrate(expit(z), y)
    assert (from_logit.input_, from_prob.input_) == ("logit", "probability")
    np.testing.assert_allclose(from_prob.temperature_, from_logit.temperature_, rtol=1e-6)
    assert calibrate([0.2, 0.8, 0.6], [0, 1, 0], "platt", input="logit").input_ == "logit"


def test_refitting_a_calibrator_forgets_the_old_method():
    """Check that fit after changing method leaves only the new method's parameters."""
    _, p, y = _overconfident(500, seed=9)
    cal = calibrate(p, y, "isotonic")
    cal.method = "temperature"
    cal.fit(p, y)
    assert not hasattr(cal, "x_thresholds_")
    assert set(cal.to_dict()["params"]) == {"temperature_"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"method": "sigmoid"},
            DataError,
            r"Unknown calibration method 'sigmoid': use one of "
            r"'temperature', 'platt', 'beta', 'isotonic'",
        ),
        ({"y": [1, 1, 1, 1]}, DataError, r"only one class \(4 positive rows out of 4\)"),
        ({"y": [0, 1, 2, 1]}, DataError, r"must hold two classes"),
        ({"scores_or_logits": [0.1, np.nan, 0.3, 0.4]}, DataError, r"1 NaN and 0 infinite"),
        ({"scores_or_logits": [0.1, np.inf, 0.3, 0.4]}, DataError, r"0 NaN and 1 infinite.*row 1"),
        ({"scores_or_logits": [0.1, 0.2, 0.3]}, DataError, r"'y' has 4 rows but 'scores' has 3"),
        ({"scores_or_logits": [[0.1, 0.9]] * 4}, DataError, r"one-dimensional"),
        ({"scores_or_logits": ["a", "b", "c", "d"]}, DataError, r"must be numeric"),
        ({"input": "prob"}, DataError, r"'input' must be one of 'auto', 'probability', 'logit'"),
        (
            {"input": "probability", "scores_or_logits": [0.1, 1.5, 0.3, 0.4]},
            DataError,
            r"probabilities in \[0, 1\].*first: 1.5 at row 1",
        ),
    ],
)
def test_calibrate_rejects_bad_input(kwargs, error, match):
    """Check that bad calibration inputs raise a DataError naming the rule, value and fix."""
    args = {"scores_or_logits": [0.1, 0.7, 0.3, 0.8], "y": [0, 1, 0, 1]} | kwargs
    with pytest.raises(error, match=match):
        calibrate(**args)


def test_calibrator_misuse_raises_clear_errors():
    """Check errors for transform before fit, bad scores at transform, and corrupt saved dicts."""
    with pytest.raises(DataError, match="not fitted yet"):
        Calibrator().transform([0.5])
    cal = calibrate([0.1, 0.7, 0.3, 0.8], [0, 1, 0, 1])
    with pytest.raises(DataError, match=r"refit with input='logit'"):
        cal.transform([2.0])
    with pytest.raises(DataError, match="NaN"):
        cal.transform([np.nan])
    with pytest.raises(ArtifactError, match="'method', 'input' and 'params'"):
        Calibrator.from_dict({"method": "platt"})
    with pytest.raises(ArtifactError, match=r"expected one of .* parameters \['coef_'"):
        Calibrator.from_dict({"method": "platt", "input": "logit", "params": {"t": 1.0}})


def test_calibration_report_before_and_after():
    """Check the report's figures against fnguard.metrics and that it is JSON-ready."""
    _, p, y = _overconfident(4000, seed=10)
    after = calibrate(p[:2000], y[:2000]).transform(p[2000:])
    report = calibration_report(y[2000:], p[2000:], after)
    json.dumps(report)
    curve = confusion_curve(y[2000:], after)
    assert report["after"]["ece"] == reliability(curve).ece
    assert report["after"]["brier"] == brier_score(curve)
    assert report["after"]["log_loss"] == log_loss(curve)
    assert report["after"]["flip_fraction"] == saturation(curve).flip_fraction
    assert report["before"]["saturated"] and not report["after"]["saturated"]
    assert report["after"]["ece"] < report["before"]["ece"]
    with pytest.raises(DataError, match="'scores_after' has 1"):
        calibration_report([0, 1], [0.2, 0.8], [0.5])


@parametrize_with_checks([CalibratedClassifier(LogisticRegression(), m) for m in METHODS])
def test_calibrated_classifier_passes_scikit_learn_checks(estimator, check):
    """Check that CalibratedClassifier keeps the scikit-learn estimator contract."""
    check(estimator)


def test_calibrated_classifier_is_cross_fitted(cancer):
    """Check that the calibrator learns from out-of-fold scores and the estimator from all rows."""
    X, y = cancer
    cv = StratifiedKFold(5, shuffle=True, random_state=1)
    model = CalibratedClassifier(GaussianNB(), "temperature", cv=cv).fit(X, y)
    oof = cross_val_predict(GaussianNB(), X, y, cv=cv, method="predict_proba")[:, 1]
    assert model.calibrator_.temperature_ == pytest.approx(calibrate(oof, y).temperature_)
    full = GaussianNB().fit(X, y)
    np.testing.assert_allclose(model.estimator_.theta_, full.theta_)
    expected = model.calibrator_.transform(full.predict_proba(X)[:, 1])
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expected)
    np.testing.assert_array_equal(model.predict(X), (expected >= 0.5).astype(int))


def test_calibrated_classifier_prefit(cancer):
    """Check that cv='prefit' calibrates the given fitted estimator on the data passed to fit."""
    X, y = cancer
    nb = GaussianNB().fit(X[:300], y[:300])
    model = CalibratedClassifier(nb, "platt", cv="prefit").fit(X[300:], y[300:])
    assert model.estimator_ is nb
    ref = calibrate(nb.predict_proba(X[300:])[:, 1], y[300:], "platt")
    np.testing.assert_allclose(model.calibrator_.coef_, ref.coef_)
    with pytest.raises(NotFittedError):
        CalibratedClassifier(GaussianNB(), cv="prefit").fit(X, y)


def test_calibrated_classifier_uses_decision_function_as_logits(cancer):
    """Check that a classifier without predict_proba is calibrated on its margins."""
    X, y = cancer
    model = CalibratedClassifier(make_pipeline(StandardScaler(), LinearSVC()), "platt").fit(X, y)
    assert model.response_method_ == "decision_function"
    assert model.calibrator_.input_ == "logit"
    p = model.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (model.predict(X) == y).mean() > 0.95


def test_calibrated_classifier_in_a_pipeline_with_string_labels(cancer):
    """Check that the wrapper clones, sits in a Pipeline and keeps string class labels."""
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")
    pipe = make_pipeline(StandardScaler(), CalibratedClassifier(LogisticRegression(), "beta"))
    copy = clone(pipe).fit(X, labels)
    assert copy[-1].classes_.tolist() == ["benign", "malignant"]
    assert set(copy.predict(X)) <= {"benign", "malignant"}
    assert not hasattr(pipe[-1], "calibrator_")
    assert pipe.get_params()["calibratedclassifier__method"] == "beta"


@pytest.mark.parametrize(
    ("kwargs", "y", "error", "match"),
    [
        ({}, [0, 1, 2] * 20, ValueError, "Only binary classification is supported"),
        ({}, [1] * 60, DataError, "only one class"),
        ({"method": "sigmoid"}, [0, 1] * 30, DataError, "Unknown calibration method"),
        ({"response_method": "predict"}, [0, 1] * 30, ValueError, "'response_method' must be"),
    ],
)
def test_calibrated_classifier_rejects_bad_input(kwargs, y, error, match):
    """Check that multiclass targets, one class and bad options raise clear errors."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    with pytest.raises(error, match=match):
        CalibratedClassifier(LogisticRegression(), **kwargs).fit(X, np.asarray(y))
    with pytest.raises(ValueError, match="sample_weight"):
        CalibratedClassifier(LogisticRegression()).fit(X, [0, 1] * 30, sample_weight=np.ones(60))
