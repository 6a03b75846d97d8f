"""Tests of fnguard.explain.overfit: training against cross-validated error and FNR."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, recall_score

from fnguard.errors import DataError
from fnguard.explain.model import folds, in_sample, out_of_fold
from fnguard.explain.overfit import overfitting
from fnguard.levers import build


def _scores(data, levers, params=None):
    make = lambda: build(levers, data.schema, params=params)  # noqa: E731
    return in_sample(make, data.X, data.y), out_of_fold(make, data.X, data.y,
                                                        folds(data.y, 5, 0))


def test_deep_tree_is_flagged_logistic_is_not(digits) -> None:
    """Check that a fully grown tree is flagged and a regularised logistic model is not."""
    deep = {"tree": {"max_depth": None, "min_samples_leaf": 1}}
    train, cv = _scores(digits, ["tree"], deep)
    o = overfitting(digits.y, train, cv)
    assert o.flagged and o.train_fnr == 0.0 and o.cv_fnr >= 0.1
    assert o.misses_at_stake == o.cv_misses
    train, cv = _scores(digits, ["scale:standard", "logistic"], {"logistic": {"C": 0.1}})
    o = overfitting(digits.y, train, cv)
    assert not o.flagged and o.reason == ""


def test_figures_match_scikit_learn() -> None:
    """Check error and FNR against scikit-learn's accuracy and recall."""
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.2
    train = np.clip(y + rng.normal(0, 0.3, 500), 0, 1)
    cv = np.clip(y + rng.normal(0, 0.45, 500), 0, 1)
    o = overfitting(y, train, cv, threshold=0.4)
    assert o.train_error == pytest.approx(1 - accuracy_score(y, train >= 0.4))
    assert o.cv_error == pytest.approx(1 - accuracy_score(y, cv >= 0.4))
    assert o.train_fnr == pytest.approx(1 - recall_score(y, train >= 0.4))
    assert o.cv_fnr == pytest.approx(1 - recall_score(y, cv >= 0.4))
    assert o.n_positive == int(y.sum())


def _seed_example(saturated: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1000 rows: training error 0.09, cross-validated 0.11, FNR 0.30 against 0.34."""
    y = np.zeros(1000, dtype=bool)
    y[:300] = True
    if saturated:
        high, low = np.ones(1000), np.zeros(1000)
    else:  # spread over (0.55, 0.95) and (0.05, 0.45)
        high, low = np.linspace(0.55, 0.95, 1000), np.linspace(0.05, 0.45, 1000)
    train = np.where(y, high, low)
    train[:90] = low[:90]  # 90 positives missed: error 0.09
    cv = np.where(y, 0.7, 0.3)
    cv[:102] = 0.3  # 102 missed
    cv[300:308] = 0.7  # and 8 false alarms: error 0.11
    return y, train, cv


def test_seed_example_flagged_only_with_saturation() -> None:
    """Check the seeds' example: a small gap is flagged when the scores sit at 0 and 1."""
    y, train, cv = _seed_example(saturated=True)
    o = overfitting(y, train, cv)
    assert (round(o.train_error, 2), round(o.cv_error, 2)) == (0.09, 0.11)
    assert o.saturated and o.flagged and "saturated" in o.reason
    y, train, cv = _seed_example(saturated=False)
    o = overfitting(y, train, cv)
    assert not o.saturated and not o.flagged


def test_bad_input() -> None:
    """Check that mismatched lengths and no positives raise a DataError."""
    with pytest.raises(DataError, match="one of each per row"):
        overfitting([True, False], [0.5], [0.5, 0.5])
    with pytest.raises(DataError, match="no positive"):
        overfitting([False, False], [0.5, 0.2], [0.5, 0.1])


def test_saturation_is_worded_by_what_was_seen() -> None:
    """Check that training scores all at 0.11 (a model with no signal) or all below 0.05 are
    called saturated for what they are, never for sitting at 0 and 1; scores piled at 0 and 1
    are."""
    rng = np.random.default_rng(0)
    y = np.zeros(1000, dtype=bool)
    y[:100] = True
    cv = np.full(1000, 0.11)
    cv[100:130] = 0.9  # 30 false alarms out of fold: error gap 0.03
    o = overfitting(y, np.full(1000, 0.11), cv)
    assert o.saturated and o.flagged
    assert "0 and 1" not in o.describe() and "0 and 1" not in o.reason
    assert "they all take one value" in o.reason and o.saturation in o.describe()
    o = overfitting(y, rng.uniform(0.01, 0.04, 1000), cv)
    assert o.saturated and "0 and 1" not in o.describe()
    assert "of the predictions change as the threshold moves" in o.reason
    assert o.to_dict()["saturation"] == o.saturation
    spread = np.linspace(0, 1, 1000)
    o = overfitting(y, np.where(spread < 0.95, np.where(y, 1.0, 0.0), spread), cv)
    assert o.saturated and "lie within 1e-6 of 0 or 1" in o.saturation
    y, train, cv = _seed_example(saturated=True)
    assert "only 2 distinct values" in overfitting(y, train, cv).describe()
