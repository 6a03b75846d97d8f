"""Tests of a trial's score: out-of-fold scores and the value the search maximises."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from fnguard.decide import choose_threshold
from fnguard.search.objective import OutOfTime, oof_scores, rank_value

Y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0])
GOOD = np.array([.1, .2, .9, .8, .3, .7, .2, .1, .6, .4])  # separates the classes
FAIR = np.array([.1, .95, .9, .4, .3, .7, .2, .6, .8, .45])  # a negative on top
BAD = np.array([.9, .8, .1, .2, .7, .3, .6, .9, .4, .5])  # reversed


def _value(scores: np.ndarray, requirement: str) -> float:
    return rank_value(choose_threshold(Y, scores, requirement, n_boot=0))


def test_met_beats_not_met() -> None:
    """Check that any trial meeting the constraint ranks above every trial that does not."""
    met = [_value(s, "recall>=0.75") for s in (GOOD, FAIR, BAD)]
    assert all(v >= -1 for v in met)
    short = [_value(s, "precision>=0.99") for s in (FAIR, BAD)]
    assert all(v < -2 for v in short) and min(met) > max(short)


def test_among_met_higher_secondary_wins() -> None:
    """Check that, all meeting the constraint, the higher precision ranks first."""
    values = {name: _value(s, "recall>=0.75") for name, s in
              (("good", GOOD), ("fair", FAIR), ("bad", BAD))}
    precision = {name: choose_threshold(Y, s, "recall>=0.75", n_boot=0).metrics[
        "precision"].value for name, s in (("good", GOOD), ("fair", FAIR), ("bad", BAD))}
    assert sorted(values, key=values.get) == sorted(precision, key=precision.get)
    assert values["good"] == 1.0


def test_among_not_met_closer_wins() -> None:
    """Check that of two trials short of the target, the smaller shortfall ranks first."""
    assert _value(FAIR, "precision>=0.99") > _value(BAD, "precision>=0.99")


def test_minimised_secondary_and_cost() -> None:
    """Check that a metric to minimise and a cost rank lower values first."""
    assert _value(GOOD, "recall>=0.75 minimize fpr") > _value(FAIR, "recall>=0.75 minimize fpr")
    assert _value(GOOD, "cost:fn=10,fp=1") == 0.0
    assert _value(GOOD, "cost:fn=10,fp=1") > _value(BAD, "cost:fn=10,fp=1")


@pytest.fixture(scope="module")
def xy():
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(size=300) > 1.0).to_numpy()
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


def test_oof_scores_match_cross_val_predict(xy) -> None:
    """Check that out-of-fold scores equal scikit-learn's cross_val_predict."""
    X, y, folds = xy
    oof, seconds = oof_scores(LogisticRegression(), X, y, folds)
    expected = cross_val_predict(LogisticRegression(), X, y, cv=folds,
                                 method="predict_proba")[:, 1]
    np.testing.assert_allclose(oof, expected)
    assert len(seconds) == 4


def test_oof_scores_in_worker_processes_are_the_same(xy) -> None:
    """Check that folds fitted two at a time in worker processes give the same scores."""
    X, y, folds = xy
    one, _ = oof_scores(LogisticRegression(), X, y, folds, jobs=1)
    two, _ = oof_scores(LogisticRegression(), X, y, folds, jobs=2)
    np.testing.assert_array_equal(one, two)


def test_batches_report_partial_scores_and_deadline_stops(xy) -> None:
    """Check that each batch but the last is reported, and a passed deadline stops the trial."""
    X, y, folds = xy
    seen = []
    oof_scores(LogisticRegression(), X, y, folds,
               on_batch=lambda scored, oof, step: seen.append((step, int(scored.sum()))))
    assert seen == [(0, folds[0][1].size), (1, folds[0][1].size + folds[1][1].size),
                    (2, 300 - folds[3][1].size)]
    with pytest.raises(OutOfTime):
        oof_scores(LogisticRegression(), X, y, folds, deadline=time.monotonic() - 1)
