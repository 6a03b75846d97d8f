"""Tests for fnguard.decide.tuner: the cross-validated threshold tuner against scikit-learn."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    make_scorer,
    recall_score,
)
from sklearn.model_selection import (
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from fnguard.data.datasets import load_caravan
from fnguard.decide import choose_threshold
from fnguard.decide.tuner import ThresholdTuner
from fnguard.errors import FnguardWarning, RequirementError

# predict_proba / decision_function are the inner estimator's, unshifted (as in scikit-learn's
# TunedThresholdClassifierCV, which lists the same expected failure).
DECISION_FUNCTION_AT_ZERO = {
    "check_classifiers_train": (
        "decision_function is the inner estimator's, so decision_function > 0 does not agree "
        "with predict at the tuned threshold (scikit-learn expects the same failure of "
        "TunedThresholdClassifierCV)"
    )
}


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """Fit on one BLAS thread: many small solves are far slower with threads fighting."""
    with threadpool_limits(limits=1):
        yield


@parametrize_with_checks(
    [
        ThresholdTuner(LogisticRegression(), cv=3),
        ThresholdTuner(DecisionTreeClassifier(random_state=0), "fbeta:2", n_boot=0),
    ],
    expected_failed_checks=lambda est: (
        DECISION_FUNCTION_AT_ZERO if hasattr(est.estimator, "decision_function") else {}
    ),
)
def test_sklearn_estimator_checks(estimator: ThresholdTuner, check: Callable) -> None:
    """Check that ThresholdTuner passes scikit-learn's estimator checks."""
    check(estimator)


# -- a real dataset --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def caravan() -> tuple[pd.DataFrame, np.ndarray]:
    """Caravan insurance customers: 85 numeric features, 6% positives."""
    data = load_caravan()
    return data.X.astype(float), np.asarray(data.y)


def _model() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


FOLDS = StratifiedKFold(5, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def oof(caravan: tuple[pd.DataFrame, np.ndarray]) -> np.ndarray:
    """Out-of-fold probabilities of the positive class by scikit-learn, on FOLDS."""
    X, y = caravan
    with threadpool_limits(limits=1):
        return cross_val_predict(_model(), X, y, cv=FOLDS, method="predict_proba")[:, 1]


def _neg_cost(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Minus the cost per row with fn=50, fp=1 (a gain, as scikit-learn maximises)."""
    _, fp, fn, _ = confusion_matrix(y_true, y_pred, labels=[False, True]).ravel()
    return -(50.0 * fn + 1.0 * fp) / len(y_true)


def _youden(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return 2 * balanced_accuracy_score(y_true, y_pred) - 1


# requirement, TunedThresholdClassifierCV scoring, objective on 0/1 predictions (higher better)
BOTH_EXPRESS = [
    ("f1", "f1", f1_score),
    ("fbeta:2", make_scorer(fbeta_score, beta=2), lambda y, p: fbeta_score(y, p, beta=2)),
    ("youden", "balanced_accuracy", _youden),
    ("cost:fn=50,fp=1", make_scorer(_neg_cost), _neg_cost),
]


@pytest.mark.parametrize(
    ("requirement", "scoring", "objective"), BOTH_EXPRESS, ids=[r[0] for r in BOTH_EXPRESS]
)
def test_objective_at_least_sklearn(
    caravan: tuple[pd.DataFrame, np.ndarray],
    oof: np.ndarray,
    requirement: str,
    scoring: object,
    objective: Callable,
) -> None:
    """Check that the tuner's out-of-fold objective is >= TunedThresholdClassifierCV's."""
    X, y = caravan
    ours = ThresholdTuner(_model(), requirement, cv=FOLDS, n_boot=0).fit(X, y)
    theirs = TunedThresholdClassifierCV(_model(), scoring=scoring, cv=FOLDS, refit=True).fit(X, y)
    ours_value = objective(y, oof >= ours.threshold_)
    theirs_value = objective(y, oof >= theirs.best_threshold_)
    assert ours_value >= theirs_value - 1e-12
    # The Decision reports the same objective (a cost as a cost, the rest as a gain).
    sign = -1 if requirement.startswith("cost") else 1
    assert sign * ours.decision_.objective == pytest.approx(ours_value, abs=1e-12)


def test_threshold_is_choose_threshold_on_oof(
    caravan: tuple[pd.DataFrame, np.ndarray], oof: np.ndarray
) -> None:
    """Check that threshold_ is choose_threshold on the out-of-fold scores, and predict uses it."""
    X, y = caravan
    tuner = ThresholdTuner(_model(), "recall>=0.9", cv=FOLDS, n_boot=0).fit(X, y)
    np.testing.assert_allclose(np.sort(tuner.oof_scores_), np.sort(oof), rtol=0, atol=1e-12)
    expected = choose_threshold(y, oof, "recall>=0.9", positive=True, n_boot=0)
    assert tuner.threshold_ == expected.threshold
    assert tuner.decision_.met and tuner.decision_.metrics["recall"].value >= 0.9
    scores = tuner.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(tuner.predict(X), scores >= tuner.threshold_)
    assert tuner.requirement_.metric == "recall"
    assert list(tuner.classes_) == [False, True]
    assert tuner.n_features_in_ == 85
    assert list(tuner.feature_names_in_) == list(X.columns)


def test_recall_holds_on_held_out_data(caravan: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Check that recall>=0.95 chosen out of fold is near 0.95 on data never used to choose."""
    X, y = caravan
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    tuner = ThresholdTuner(_model(), "recall>=0.95", random_state=0, n_boot=0).fit(X_tr, y_tr)
    held_out = recall_score(y_te, tuner.predict(X_te))
    assert 0.85 <= held_out <= 1.0


# -- the scikit-learn contract ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    """A small imbalanced binary problem."""
    return make_classification(n_samples=300, weights=[0.85], random_state=0)


def test_pipeline_clone_and_nested_params(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that the tuner works in a Pipeline, clones, and sets nested parameters."""
    X, y = small
    tuner = ThresholdTuner(LogisticRegression(), "recall>=0.9", random_state=0, n_boot=0)
    assert tuner.get_params()["estimator__C"] == 1.0
    tuner.set_params(estimator__C=0.5, requirement="f1")
    assert tuner.estimator.C == 0.5 and tuner.requirement == "f1"
    copy = clone(tuner)
    assert copy.get_params()["estimator__C"] == 0.5 and not hasattr(copy, "threshold_")

    pipe = Pipeline([("scale", StandardScaler()), ("tuner", copy)]).fit(X, y)
    fitted = pipe.named_steps["tuner"]
    scores = pipe.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(pipe.predict(X), (scores >= fitted.threshold_).astype(int))
    pipe.set_params(tuner__estimator__C=2.0)
    assert pipe.named_steps["tuner"].estimator.C == 2.0


def test_string_labels_and_dataframe(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that classes_[1] is positive with string labels and DataFrame columns are kept."""
    X, y = small
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.where(y == 1, "spam", "ham")
    tuner = ThresholdTuner(LogisticRegression(), "recall>=0.9", random_state=0, n_boot=0)
    tuner.fit(frame, labels)
    assert list(tuner.classes_) == ["ham", "spam"]
    assert list(tuner.feature_names_in_) == list(frame.columns)
    assert set(tuner.predict(frame)) <= {"ham", "spam"}
    assert tuner.decision_.metrics["recall"].value >= 0.9


def test_decision_function_response(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that an estimator without predict_proba is thresholded on decision_function."""
    X, y = small
    tuner = ThresholdTuner(LinearSVC(), "recall>=0.9", random_state=0, n_boot=0).fit(X, y)
    assert not hasattr(tuner, "predict_proba")
    np.testing.assert_array_equal(
        tuner.predict(X), (tuner.decision_function(X) >= tuner.threshold_).astype(int)
    )


def test_holdout_refit_false_uses_the_fold_model() -> None:
    """Check that cv=0.3, refit=False keeps the model that never saw the calibration rows."""
    X, y = make_classification(n_samples=1000, weights=[0.8], random_state=0)
    tuner = ThresholdTuner(
        LogisticRegression(), "recall>=0.9 @90%", cv=0.3, refit=False, random_state=0
    ).fit(X, y)
    assert tuner.oof_scores_.shape == (300,)
    # The model was fitted on the 700 training rows only: refitting it there reproduces it.
    scores = tuner.predict_proba(X)[:, 1]
    held_out = np.isin(scores, tuner.oof_scores_)
    assert held_out.sum() == 300
    refitted = LogisticRegression().fit(X[~held_out], y[~held_out])
    np.testing.assert_allclose(refitted.coef_, tuner.estimator_.coef_)
    assert tuner.decision_.met and tuner.decision_.allowed is not None
    assert not tuner.decision_.notes  # exact: estimator_ scored the calibration rows
    assert not tuner.decision_.approximate and "approximately" not in tuner.decision_.describe()


def test_kfold_guarantee_is_noted_approximate(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that a guarantee on k-fold out-of-fold scores says it is approximate."""
    X, y = small
    tuner = ThresholdTuner(LogisticRegression(), "recall>=0.8 @80%", random_state=0, n_boot=0)
    tuner.fit(X, y)
    assert tuner.decision_.allowed is not None
    assert any("approximately" in note for note in tuner.decision_.notes)
    assert tuner.decision_.approximate and tuner.decision_.to_dict()["approximate"]
    assert "approximately guaranteed at 80%" in tuner.decision_.describe()


def test_parallel_folds_match_serial(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that n_jobs=2 gives the same out-of-fold scores and threshold as one job."""
    X, y = small
    tuner = ThresholdTuner(LogisticRegression(), "f1", random_state=0, n_boot=0)
    serial = clone(tuner).fit(X, y)
    parallel = clone(tuner).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(serial.oof_scores_, parallel.oof_scores_)
    assert serial.threshold_ == parallel.threshold_


def test_prefit_scores_calibration_data(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that cv='prefit' scores the given data with the fitted estimator, unchanged."""
    X, y = small
    model = LogisticRegression().fit(X[:150], y[:150])
    coef = model.coef_.copy()
    tuner = ThresholdTuner(model, "recall>=0.9", cv="prefit", refit=False, n_boot=0)
    tuner.fit(X[150:], y[150:])
    assert tuner.estimator_ is model
    np.testing.assert_array_equal(model.coef_, coef)
    expected = choose_threshold(
        y[150:], model.predict_proba(X[150:])[:, 1], "recall>=0.9", n_boot=0
    )
    assert tuner.threshold_ == expected.threshold


def test_sample_weight_reaches_the_estimator(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that sample_weight is forwarded to estimator.fit, in each fold and the refit."""
    X, y = small
    weight = np.where(y == 1, 5.0, 1.0)
    tuner = ThresholdTuner(LogisticRegression(), "f1", random_state=0, n_boot=0)
    weighted = clone(tuner).fit(X, y, sample_weight=weight)
    plain = clone(tuner).fit(X, y)
    reference = LogisticRegression().fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(weighted.estimator_.coef_, reference.coef_)
    assert not np.allclose(weighted.oof_scores_, plain.oof_scores_)


def test_zero_weight_rows_do_not_vote(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that rows of zero sample_weight are left out of the threshold choice."""
    X, y = small
    weight = np.ones(y.size)
    weight[:100] = 0
    tuner = ThresholdTuner(LogisticRegression(), "f1", random_state=0, n_boot=0)
    tuner.fit(X, y, sample_weight=weight)
    assert tuner.oof_scores_.size == 200
    assert tuner.decision_.metrics["tp"].value + tuner.decision_.metrics["fn"].value == (
        y[100:].sum()
    )
    with pytest.raises(ValueError, match="only one class has rows of positive weight"):
        clone(tuner).fit(X, y, sample_weight=y.astype(float))


def test_unmet_requirement_warns_and_fits(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that an unreachable constraint still fits, with a warning and decision_.met False."""
    X, y = small
    tuner = ThresholdTuner(DummyClassifier(), "precision>=0.9", random_state=0, n_boot=0)
    with pytest.warns(FnguardWarning, match="NOT met"):
        tuner.fit(X, y)
    assert not tuner.decision_.met
    assert tuner.decision_.best_value == pytest.approx(y.mean())
    assert tuner.predict(X).shape == y.shape


def test_met_requirement_is_silent(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Check that a requirement met out of fold raises no warning."""
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", FnguardWarning)
        ThresholdTuner(LogisticRegression(), "recall>=0.8", random_state=0, n_boot=0).fit(X, y)


BAD_INPUTS = [
    ({}, "multiclass", ValueError, "Only binary classification is supported"),
    ({"requirement": "recall>=1.5"}, "binary", RequirementError, "strictly between 0 and 1"),
    ({"requirement": "accuracy>=0.9"}, "binary", RequirementError, "cannot be constrained"),
    ({"requirement": "recall>=0.9 @95% per region"}, "binary", RequirementError, "per .region."),
    ({"cv": 1}, "binary", ValueError, "must be >= 2"),
    ({"cv": 1.5}, "binary", ValueError, r"must be in \(0, 1\)"),
    ({"cv": "bogus"}, "binary", ValueError, "'prefit'"),
    ({"cv": None}, "binary", ValueError, "must be an int >= 2"),
    ({"cv": 5, "refit": False}, "binary", ValueError, "refit cannot be False"),
    ({"cv": "prefit", "refit": True}, "binary", ValueError, "refit cannot be True"),
    ({"cv": "prefit", "refit": False}, "binary", NotFittedError, "must be fitted"),
    ({"response_method": "bogus"}, "binary", ValueError, "'response_method' must be one of"),
    (
        {"estimator": DecisionTreeClassifier(), "response_method": "decision_function"},
        "binary",
        ValueError,
        "has no decision_function",
    ),
]


@pytest.mark.parametrize(("kwargs", "target", "error", "match"), BAD_INPUTS)
def test_bad_inputs(kwargs: dict, target: str, error: type, match: str) -> None:
    """Check that bad targets and parameters raise a clear error at fit."""
    X, y = make_classification(n_samples=60, n_classes=3, n_informative=3, random_state=0)
    if target == "binary":
        y = (y == 0).astype(int)
    params = {"estimator": LogisticRegression(), **kwargs}
    with pytest.raises(error, match=match):
        ThresholdTuner(**params).fit(X, y)


def test_grid_search_over_tuner() -> None:
    """Check that GridSearchCV tunes the inner estimator of a ThresholdTuner."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    tuner = ThresholdTuner(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "recall>=0.95", cv=3, n_boot=0, random_state=0,
    )
    search = GridSearchCV(
        tuner, {"estimator__logisticregression__C": [0.01, 1.0]}, cv=3, scoring="recall"
    ).fit(X, y)
    assert search.best_params_["estimator__logisticregression__C"] in (0.01, 1.0)
    assert 0 <= search.best_estimator_.threshold_ <= 1


@pytest.fixture(scope="module")
def fraud_text() -> tuple[np.ndarray, np.ndarray]:
    """Text labels where the rare class, 'fraud', sorts first."""
    X, y = make_classification(n_samples=1500, weights=[0.9], class_sep=0.8, random_state=3)
    return X, np.where(y == 1, "fraud", "legit")


@pytest.mark.parametrize("how", ["pos_label", "prefix"])
@pytest.mark.parametrize("method", ["predict_proba", "decision_function"])
def test_positive_class_that_sorts_first(fraud_text, how, method) -> None:
    """Check that pos_label='fraud' (or the requirement 'fraud: recall>=0.9') constrains the
    recall of 'fraud', which sorts first (classes_[0]): the out-of-fold recall of fraud meets
    it, predict flags fraud above the threshold of fraud's score, for probabilities and for
    a decision function (negated)."""
    X, y = fraud_text
    requirement = "recall>=0.9" if how == "pos_label" else "fraud: recall>=0.9"
    options = {"pos_label": "fraud"} if how == "pos_label" else {}
    tuner = ThresholdTuner(LogisticRegression(), requirement, random_state=0, n_boot=0,
                           response_method=method, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tuner.fit(X, y)
    assert tuner.pos_label_ == "fraud" and tuner.classes_.tolist() == ["fraud", "legit"]
    assert tuner.decision_.met
    oof_flagged = tuner.oof_scores_ >= tuner.threshold_
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    truth = np.concatenate([y[test] for _, test in folds]) == "fraud"
    assert recall_score(truth, oof_flagged) >= 0.9
    score = (tuner.predict_proba(X)[:, 0] if method == "predict_proba"
             else -tuner.decision_function(X))
    np.testing.assert_array_equal(tuner.predict(X) == "fraud", score >= tuner.threshold_)
    assert recall_score(y, tuner.predict(X), pos_label="fraud") >= 0.85


def test_majority_positive_of_text_labels_is_warned(fraud_text) -> None:
    """Check that text labels whose classes_[1] is the majority get a warning that names
    pos_label (the requirement would otherwise silently be about the majority class)."""
    X, y = fraud_text
    with pytest.warns(FnguardWarning, match=r"classes_\[1\] = 'legit', the majority class "
                      r"\(90% of rows\).*pass pos_label='fraud'"):
        ThresholdTuner(LogisticRegression(), "recall>=0.9", n_boot=0).fit(X, y)
    with pytest.raises(ValueError, match=r"pos_label='fruad' is not one of the classes"):
        ThresholdTuner(LogisticRegression(), pos_label="fruad", n_boot=0).fit(X, y)


def test_groups_reach_a_group_splitter() -> None:
    """Check that fit(..., groups=) reaches a GroupKFold (no group in two folds' test parts)
    and is not passed to the estimator."""
    from sklearn.model_selection import GroupKFold

    X, y = make_classification(n_samples=600, weights=[0.8], random_state=0)
    groups = np.arange(600) // 20
    tuner = ThresholdTuner(LogisticRegression(), "recall>=0.8", cv=GroupKFold(3), n_boot=0)
    tuner.fit(X, y, groups=groups)
    splits = list(GroupKFold(3).split(X, y, groups))
    expected = np.concatenate([
        clone(LogisticRegression()).fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        for tr, te in splits
    ])
    np.testing.assert_allclose(tuner.oof_scores_, expected)
