"""Tests that resampling in a built pipeline stays inside training folds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate

from fnguard.data.datasets import load_caravan
from fnguard.levers import build, registry
from fnguard.levers.registry import register


class Recorder(ClassifierMixin, BaseEstimator):
    """Logistic regression that logs the row ids (column 0) it trains on and scores."""

    log: ClassVar[list[tuple[str, np.ndarray]]] = []

    def fit(self, X: Any, y: Any) -> Recorder:
        Recorder.log.append(("fit", np.asarray(X)[:, 0].copy()))
        self.model_ = LogisticRegression(max_iter=200).fit(np.asarray(X)[:, 1:], y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        Recorder.log.append(("score", np.asarray(X)[:, 0].copy()))
        return self.model_.predict_proba(np.asarray(X)[:, 1:])


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """1,000 Caravan rows with their row id as column 0 (ids are whole numbers)."""
    caravan = load_caravan()
    rows = np.random.default_rng(0).choice(caravan.n_rows, 1000, replace=False)
    X = caravan.X.astype(float).to_numpy()[rows][:, :10]
    return np.column_stack([np.arange(1000.0), X]), caravan.y[rows]


@pytest.fixture
def levers() -> Iterator[None]:
    """A recording classifier and two oversamplers, registered for the test."""
    names = {"test:recorder": ("algorithm", "classifier", Recorder),
             "test:random-over": ("resampling", "sampler", RandomOverSampler),
             "test:smote": ("resampling", "sampler", SMOTE)}
    for name, (family, kind, cls) in names.items():
        register(name, family, kind, "Test stand-in.", "Test stand-in.")(cls)
    Recorder.log.clear()
    yield
    for name in names:
        registry._levers.pop(name)


def _cross_validate(estimator: Any, X: np.ndarray, y: np.ndarray) -> list[tuple[Any, Any]]:
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    Recorder.log.clear()
    cross_validate(estimator, X, y, cv=folds, scoring="roc_auc")
    return folds


def _scored_only_fold_rows(folds: list, ids: np.ndarray) -> bool:
    """Whether each scoring call saw exactly the rows of one validation fold."""
    scored = [rows for what, rows in Recorder.log if what == "score"]
    return len(scored) == len(folds) and all(
        np.array_equal(np.sort(rows), np.sort(ids[test])) for rows, (_, test) in
        zip(scored, folds, strict=True)
    )


@pytest.mark.parametrize("sampler", ["test:random-over", "test:smote", "smote"])
def test_resampled_rows_never_reach_validation(sampler: str, data, levers) -> None:
    """Check that oversampled rows are trained on and never scored in cross-validation."""
    if sampler not in registry:
        pytest.skip(f"the lever {sampler!r} is not registered (fnguard.levers.samplers)")
    X, y = data
    pipe = build([sampler, "test:recorder"])
    folds = _cross_validate(pipe, X, y)
    assert _scored_only_fold_rows(folds, X[:, 0])
    fitted = [rows for what, rows in Recorder.log if what == "fit"]
    assert len(fitted) == len(folds)
    for rows, (train, _) in zip(fitted, folds, strict=True):
        assert len(rows) > len(train)  # resampling happened, in fit
        whole = rows[rows == np.round(rows)]
        assert set(whole) <= set(X[train, 0])  # duplicates come from the training fold only


def test_resampling_before_the_split_is_caught(data, levers) -> None:
    """Check that the test fails when SMOTE runs before the split: synthetic rows get scored."""
    X, y = data
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    folds = _cross_validate(build("test:recorder"), X_res, y_res)
    scored = np.concatenate([rows for what, rows in Recorder.log if what == "score"])
    assert (scored != np.round(scored)).any()  # synthetic rows in validation folds
    assert not _scored_only_fold_rows(folds, np.arange(len(X_res), dtype=float))
