"""Tests of the prior-corrected pipeline: resampled or weighted, probabilities stay calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fnguard.data.datasets import load_caravan
from fnguard.decide import correct_prior
from fnguard.levers import build
from fnguard.levers.prior import PriorCorrectedPipeline
from fnguard.metrics import brier_score, confusion_curve, reliability


@pytest.fixture(scope="module")
def caravan():
    data = load_caravan()
    X = data.X.astype(float).to_numpy()
    return train_test_split(X, data.y, test_size=0.4, stratify=data.y, random_state=0)


def _ece(y, p) -> float:
    return reliability(confusion_curve(y, p, positive=True)).ece


@pytest.mark.parametrize(
    "steps",
    [
        [("under", RandomUnderSampler(random_state=0))],
        [("over", RandomOverSampler(random_state=0))],
        [],
    ],
    ids=["undersample", "oversample", "class_weight"],
)
def test_prior_correction_calibrates(caravan, steps) -> None:
    """Check that corrected probabilities are far better calibrated than the raw ones."""
    X_train, X_test, y_train, y_test = caravan
    weight = None if steps else "balanced"
    clf = LogisticRegression(C=0.05, max_iter=2000, class_weight=weight)
    make = [("scale", StandardScaler()), *steps, ("clf", clf)]
    raw = Pipeline(make).fit(X_train, y_train)
    fixed = PriorCorrectedPipeline([(n, s) for n, s in make]).fit(X_train, y_train)
    assert fixed.true_rate_ == pytest.approx(y_train.mean())
    assert fixed.train_rate_ == pytest.approx(0.5, abs=0.01)
    p_raw = raw.predict_proba(X_test)[:, 1]
    p_fixed = fixed.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(p_fixed, correct_prior(p_raw, fixed.train_rate_, fixed.true_rate_))
    assert _ece(y_test, p_fixed) < 0.5 * _ece(y_test, p_raw)
    assert brier_score(confusion_curve(y_test, p_fixed, positive=True)) < brier_score(
        confusion_curve(y_test, p_raw, positive=True)
    )
    # The ranking is unchanged: the correction is monotone.
    assert (np.argsort(p_fixed, kind="stable") == np.argsort(p_raw, kind="stable")).mean() > 0.99


def test_no_resampling_changes_nothing(caravan) -> None:
    """Check that without samplers or weights the pipeline is the plain one."""
    X_train, X_test, y_train, _ = caravan
    make = [("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))]
    plain = Pipeline(make).fit(X_train, y_train).predict_proba(X_test)
    fixed = PriorCorrectedPipeline(make).fit(X_train, y_train)
    assert fixed.train_rate_ == fixed.true_rate_
    np.testing.assert_allclose(fixed.predict_proba(X_test), plain)


def test_outputs_agree_with_corrected_probabilities() -> None:
    """Check that predict, predict_log_proba, decision_function and score follow the
    corrected probabilities (two classes, after SMOTE), and that three classes get the most
    probable class, not a 0.5 cut of the second column."""
    from sklearn.datasets import load_breast_cancer, load_wine

    X, y = load_breast_cancer(return_X_y=True)
    keep = (y == 1) | (np.arange(len(y)) % 6 == 0)  # few malignant rows: a real prior shift
    X, y = X[keep], 1 - y[keep]
    pipe = build(["scale:standard", "smote", "logistic"], random_state=0).fit(X, y)
    assert pipe.train_rate_ != pipe.true_rate_
    proba = pipe.predict_proba(X)
    np.testing.assert_allclose(np.exp(pipe.predict_log_proba(X)), proba, atol=1e-12)
    predicted = pipe.predict(X)
    np.testing.assert_array_equal(predicted, (proba[:, 1] >= 0.5).astype(int))
    np.testing.assert_array_equal(pipe.decision_function(X) >= 0, predicted == 1)
    assert pipe.score(X, y) == np.mean(predicted == y)

    Xw, yw = load_wine(return_X_y=True)
    wine = build(["scale:standard", "logistic"]).fit(Xw, yw)
    np.testing.assert_array_equal(wine.predict(Xw), np.argmax(wine.predict_proba(Xw), axis=1))
    assert set(wine.predict(Xw)) == {0, 1, 2}


@pytest.mark.parametrize(
    ("lever", "params"),
    [
        ("cost:matrix", {"fn_cost": 19.0}),
        ("mlp", {"loss": "weighted_bce", "max_epochs": 15}),
        ("balanced-random-forest", {"n_estimators": 30}),
        ("easy-ensemble", {"n_estimators": 5}),
        ("balanced-bagging", {"n_estimators": 10}),
        ("rusboost", {"n_estimators": 20}),
    ],
)
def test_levers_that_rebalance_inside_are_corrected(caravan, lever, params) -> None:
    """Check that the levers that re-weight or under-sample inside their own fit (a cost
    matrix, the network's weighted loss, imbalanced-learn's ensembles) report the positive
    share they trained on, and that build()'s pipeline maps their probabilities back: the
    mean probability lands near the true positive rate and calibration improves manyfold
    (they were left at the balanced world's 0.25-0.47 for a 6% positive rate)."""
    if lever == "mlp":
        pytest.importorskip("torch")
    X_train, X_test, y_train, y_test = caravan
    pipe = build(["scale:standard", lever], params={lever: params}, random_state=0)
    pipe.fit(X_train, y_train)
    n_pos = int(y_train.sum())
    n_neg = y_train.size - n_pos
    expected = (
        19.0 * n_pos / (19.0 * n_pos + n_neg) if lever == "cost:matrix" else 0.5
    )
    assert pipe.train_rate_ == pytest.approx(expected, rel=1e-9)
    assert pipe.true_rate_ == pytest.approx(y_train.mean())
    raw = pipe.steps[-1][1].predict_proba(pipe[:-1].transform(X_test))[:, 1]
    fixed = pipe.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(fixed, correct_prior(raw, pipe.train_rate_, pipe.true_rate_))
    assert raw.mean() > 4 * y_test.mean()
    assert fixed.mean() == pytest.approx(y_test.mean(), rel=0.35)
    assert _ece(y_test, fixed) < 0.2 * _ece(y_test, raw)


def test_ensemble_rate_follows_its_sampling_strategy(caravan) -> None:
    """Check the members' share for a float strategy (minority/majority = 0.25 after
    under-sampling: a share of 0.2) and for class weights on top."""
    X_train, _, y_train, _ = caravan
    pipe = build(
        ["balanced-random-forest"],
        params={"balanced-random-forest": {"n_estimators": 5, "sampling_strategy": 0.25}},
        random_state=0,
    ).fit(X_train, y_train)
    assert pipe.train_rate_ == pytest.approx(0.2, rel=1e-3)
    weighted = build(
        ["balanced-random-forest"],
        params={"balanced-random-forest": {"n_estimators": 5, "class_weight": {0: 1, 1: 3}}},
        random_state=0,
    ).fit(X_train, y_train)
    assert weighted.train_rate_ == pytest.approx(0.75)


def test_sample_weights_are_repeated_rows(caravan) -> None:
    """Check that sample weights count as repeated rows, as scikit-learn reads them: a
    logistic regression with weight 3 on the positives gives the probabilities of the data
    with each positive row three times (they used to be mapped back to the unweighted rate,
    which undid the weights)."""
    X_train, X_test, y_train, _ = caravan
    w = np.where(y_train, 3.0, 1.0)
    pipe = build(["scale:standard", "logistic"], random_state=0)
    pipe.fit(X_train, y_train, logistic__sample_weight=w)
    assert pipe.true_rate_ == pytest.approx(3 * y_train.sum() / w.sum())
    assert pipe.train_rate_ == pytest.approx(pipe.true_rate_)
    repeat = np.concatenate([np.arange(y_train.size), np.repeat(np.flatnonzero(y_train), 2)])
    again = build(["scale:standard", "logistic"], random_state=0)
    again.fit(X_train[repeat], y_train[repeat])
    np.testing.assert_allclose(
        pipe.predict_proba(X_test)[:, 1].mean(), again.predict_proba(X_test)[:, 1].mean(),
        rtol=0.02,
    )


def test_fit_parameters_naming_no_step_are_refused(caravan) -> None:
    """Check that sample_weight without a step name, or with a misspelt one, is refused as
    scikit-learn's Pipeline refuses it (both were dropped silently: the weighted fit was the
    unweighted one)."""
    X_train, _, y_train, _ = caravan
    w = np.where(y_train, 3.0, 1.0)
    with pytest.raises(ValueError, match=r"does not accept the sample_weight parameter.*"
                       r"logistic__sample_weight"):
        build(["logistic"]).fit(X_train, y_train, sample_weight=w)
    with pytest.raises(ValueError, match=r"there is no step 'logistc'"):
        build(["logistic"]).fit(X_train, y_train, logistc__sample_weight=w)


def test_sample_weights_follow_the_rows_a_sampler_keeps(caravan) -> None:
    """Check that the final step's weights follow the rows random under-sampling keeps (they
    crashed on the shape, or were the wrong rows' weights), counted in the rate the final
    step saw; and that a sampler making new rows refuses them, saying why."""
    X_train, _, y_train, _ = caravan
    w = np.random.default_rng(0).integers(1, 4, y_train.size).astype(float)
    pipe = build(["random-under", "logistic"], random_state=0)
    pipe.fit(X_train, y_train, logistic__sample_weight=w)
    kept = pipe.named_steps["random-under"].sample_indices_
    y_kept, w_kept = np.asarray(y_train)[kept], w[kept]
    assert pipe.train_rate_ == pytest.approx(w_kept[y_kept].sum() / w_kept.sum())
    plain = build(["random-under", "logistic"], random_state=0).fit(X_train, y_train)
    assert not np.allclose(plain.steps[-1][1].coef_, pipe.steps[-1][1].coef_)
    direct = build(["logistic"], random_state=0, correct_prior=False)
    direct.fit(X_train[kept], y_kept, logistic__sample_weight=w_kept)
    np.testing.assert_allclose(pipe.steps[-1][1].coef_, direct.steps[-1][1].coef_, rtol=1e-6)
    # an augmented row takes the weight of the row it was made from
    jittered = build(["jitter", "logistic"], random_state=0)
    jittered.fit(X_train, y_train, logistic__sample_weight=w)
    source = jittered.named_steps["jitter"].sample_indices_
    assert len(source) > len(y_train)
    y_src, w_src = np.asarray(y_train)[source], w[source]
    assert jittered.train_rate_ == pytest.approx(w_src[y_src].sum() / w_src.sum())
    with pytest.raises(ValueError, match=r"'smote' makes new rows"):
        build(["smote", "logistic"], random_state=0).fit(
            X_train, y_train, logistic__sample_weight=w)


@pytest.mark.parametrize("lever", ["random-forest", "extra-trees"])
def test_balanced_subsample_is_corrected(caravan, lever) -> None:
    """Check that class_weight='balanced_subsample' (scikit-learn's per-tree balancing) fits,
    counts as balanced classes and is mapped back (it raised InvalidParameterError)."""
    X_train, X_test, y_train, y_test = caravan
    params = {"class_weight": "balanced_subsample", "n_estimators": 20, "min_samples_leaf": 20}
    pipe = build([lever], params={lever: params}, random_state=0).fit(X_train, y_train)
    assert pipe.train_rate_ == pytest.approx(0.5)
    raw = pipe.steps[-1][1].predict_proba(X_test)[:, 1]
    fixed = pipe.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(fixed, correct_prior(raw, 0.5, pipe.true_rate_))
    assert raw.mean() > 4 * y_test.mean()
    assert _ece(y_test, fixed) < 0.2 * _ece(y_test, raw)


def test_sample_weights_route_with_scikit_learns_metadata_routing(caravan) -> None:
    """Check that with metadata routing on, weights the final step requested reach it and
    follow the rows a sampler keeps, in fit and through cross_val_predict, as the legacy
    step__sample_weight does (they were refused: no way through cross-validation)."""
    import sklearn
    from sklearn.model_selection import cross_val_predict

    X_train, _, y_train, _ = caravan
    X, y = X_train[:1500], np.asarray(y_train)[:1500]
    w = np.random.default_rng(0).integers(1, 4, y.size).astype(float)
    legacy = cross_val_predict(build(["random-under", "logistic"], random_state=0), X, y,
                               params={"logistic__sample_weight": w}, method="predict_proba")
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = build(["random-under", "logistic"], random_state=0)
        for name, step in pipe.steps:
            if hasattr(step, "set_fit_request"):
                step.set_fit_request(sample_weight=name == "logistic")
        pipe.fit(X, y, sample_weight=w)
        kept = pipe.named_steps["random-under"].sample_indices_
        assert pipe.train_rate_ == pytest.approx(w[kept][y[kept]].sum() / w[kept].sum())
        routed = cross_val_predict(pipe, X, y, params={"sample_weight": w},
                                   method="predict_proba")
    np.testing.assert_allclose(routed, legacy)
